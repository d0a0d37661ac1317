// Package instrumented wraps a storage.Store with Prometheus metrics: the
// latency of every operation by name and outcome, so an operator sees the
// store's share of message latency (switchboard_store_op_seconds).
package instrumented

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/storage"
)

var opSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "switchboard_store_op_seconds",
	Help:    "Latency of storage operations, by operation and outcome (ok, not_found, conflict, invalid, unavailable, error).",
	Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs … 3.3 s
}, []string{"op", "result"})

func init() { prometheus.MustRegister(opSeconds) }

// Store is a storage.Store that records metrics and delegates to another.
type Store struct{ next storage.Store }

var _ storage.Store = (*Store)(nil)

// Wrap returns s with metrics.
func Wrap(s storage.Store) *Store { return &Store{next: s} }

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() storage.Store { return s.next }

func (s *Store) observe(op string, start time.Time, err error) {
	opSeconds.WithLabelValues(op, result(err)).Observe(time.Since(start).Seconds())
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, storage.ErrNotFound):
		return "not_found"
	case errors.Is(err, storage.ErrSeqExists), errors.Is(err, storage.ErrEpochLost), errors.Is(err, storage.ErrExists):
		return "conflict"
	case errors.Is(err, storage.ErrInvalid), errors.Is(err, storage.ErrTooLarge):
		return "invalid"
	case errors.Is(err, storage.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}

// AppendMessagesAsync records the time from the call to its completion.
func (s *Store) AppendMessagesAsync(ctx context.Context, convID string, epoch uint64, msgs []storage.Message, done func(error)) {
	start := time.Now()
	s.next.AppendMessagesAsync(ctx, convID, epoch, msgs, func(err error) {
		s.observe("AppendMessagesAsync", start, err)
		done(err)
	})
}

// Close closes the wrapped store.
func (s *Store) Close() error { return s.next.Close() }
