package actors

import (
	"context"

	"github.com/switchboard-im/switchboard/actors/session"
)

// MetricsRow is a row of the session seam's my_metrics answer.
type MetricsRow = session.MetricsRow

// MyMetrics answers a user's own metrics rows (boot.StartNode wires it to
// the metrics grain). user is always the connection's user, never a name
// from the request.
type MyMetrics func(ctx context.Context, user, window string, limit int) ([]MetricsRow, error)

// SetMyMetrics installs the my_metrics answerer; nil: refused.
func (n *Runtime) SetMyMetrics(f MyMetrics) { n.myMetrics.Store(&f) }

var _ session.MetricsSession = (*deviceSession)(nil)

// MyMetrics is the device's user reading their own service metrics.
func (s *deviceSession) MyMetrics(ctx context.Context, window string, limit int) ([]MetricsRow, error) {
	if err := checkUser(s.user); err != nil {
		return nil, err
	}
	f := s.rt.myMetrics.Load()
	if f == nil || *f == nil {
		return nil, invalid("this node has no metrics engine")
	}
	return (*f)(ctx, s.user, window, limit)
}
