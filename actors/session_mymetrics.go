package actors

import (
	"context"
	"strings"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/analytics"
)

// MetricsRow is a row of the session seam's my_metrics answer.
type MetricsRow = session.MetricsRow

// MyMetrics answers one key's metrics rows (boot.StartNode wires it to the
// metrics grain). The key is checked: the connection's user's own, or one
// the desk lets that user read.
type MyMetrics func(ctx context.Context, key, window string, limit int) ([]MetricsRow, error)

// SetMyMetrics installs the my_metrics answerer; nil: refused.
func (n *Runtime) SetMyMetrics(f MyMetrics) { n.myMetrics.Store(&f) }

var _ session.MetricsSession = (*deviceSession)(nil)

// MyMetrics is the device's user reading their own service metrics, or,
// as the desk's supervisor, another key's.
func (s *deviceSession) MyMetrics(ctx context.Context, key, window string, limit int) ([]MetricsRow, error) {
	if err := checkUser(s.user); err != nil {
		return nil, err
	}
	if key == "" {
		key = s.user
	}
	if err := checkMetricsKey(key); err != nil {
		return nil, err
	}
	f := s.rt.myMetrics.Load()
	if f == nil || *f == nil {
		return nil, invalid("this node has no metrics engine")
	}
	if key != s.user {
		w, err := s.rt.wire(s.user)
		if err != nil {
			return nil, forbidden("%s reads only their own metrics (%s: no service desk on this node)", s.user, key)
		}
		if err := w.MayReadMetrics(ctx, s.user, key); err != nil {
			return nil, err
		}
	}
	return (*f)(ctx, key, window, limit)
}

// checkMetricsKey: a user id, the whole desk's "*", or "line:NAME".
func checkMetricsKey(key string) error {
	if key == analytics.AllKey {
		return nil
	}
	if line, ok := strings.CutPrefix(key, analytics.LinePrefix); ok {
		if !analytics.ValidLine(line) {
			return invalid("bad business line in metrics key %q", key)
		}
		return nil
	}
	return checkUser(key)
}
