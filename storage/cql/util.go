package cql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"

	"github.com/switchboard-im/switchboard/internal/warm"
	"github.com/switchboard-im/switchboard/storage"
)

// stmt is a statement built once with qb; gocql prepares it on first use
// and keeps it in its prepared-statement cache.
type stmt struct {
	cql   string
	names []string
}

func mk(cql string, names []string) stmt { return stmt{cql, names} }

func (s *Store) query(ctx context.Context, st stmt) *gocqlx.Queryx {
	return s.sess.ContextQuery(ctx, st.cql, st.names)
}

// lwt is query with the serial consistency of the lightweight transaction.
func (s *Store) lwt(ctx context.Context, st stmt) *gocqlx.Queryx {
	q := s.query(ctx, st)
	q.SerialConsistency(s.cfg.SerialConsistency)
	return q
}

// wrap maps driver errors onto the storage sentinels.
func (s *Store) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gocql.ErrNotFound):
		return fmt.Errorf("cql: %s: %w", op, storage.ErrNotFound)
	case errors.Is(err, gocql.ErrSessionClosed) || s.closed.Load():
		return fmt.Errorf("cql: %s: %w (%w)", op, storage.ErrClosed, err)
	}
	return fmt.Errorf("cql: %s: %w", op, err)
}

// Seqs and other unsigned values are stored as bigint. Values above
// MaxInt64 would sort wrongly, so seqs are checked against this.
func checkSeq(what string, v uint64) error {
	if v > math.MaxInt64 {
		return fmt.Errorf("%s %d is above %d: %w", what, v, int64(math.MaxInt64), storage.ErrInvalid)
	}
	return nil
}

// bucketOf returns the partition bucket of seq.
func bucketOf(seq, size uint64) int64 { return int64(seq / size) }

// bucketEnd returns the highest seq in seq's bucket.
func bucketEnd(seq, size uint64) uint64 { return (seq/size+1)*size - 1 }

// ts converts a time for writing: zero becomes null, the rest milliseconds.
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	m := storage.Millis(t)
	return &m
}

// fromTS converts a read timestamp back (null is the zero time).
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return storage.Millis(*t)
}

// u64 reads a nullable bigint holding an unsigned value.
func u64(v *int64) uint64 {
	if v == nil {
		return 0
	}
	return uint64(*v)
}

// noEmpty turns an empty blob into nil, so a read gives nil for "no bytes"
// whether null or an empty value was stored.
// emptyNotNull writes no bytes as an empty value, not a null: a null
// written is a tombstone, which every read of the row then steps over.
func emptyNotNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func noEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// structArgs binds a row struct to names for statements added to a batch,
// which gocqlx cannot bind itself.
func structArgs(names []string, row any) []any {
	v := reflect.Indirect(reflect.ValueOf(row))
	idx := gocqlx.DefaultMapper.TraversalsByName(v.Type(), names)
	args := make([]any, len(names))
	for i, t := range idx {
		if len(t) == 0 {
			panic(fmt.Sprintf("cql: no field for %q in %T", names[i], row))
		}
		args[i] = v.FieldByIndex(t).Interface()
	}
	return args
}

// workers runs the store's short-lived goroutines (parallel requests, the
// fences' confirming reads): the driver's call path grows a fresh
// goroutine's stack on every request, a warm one keeps it.
var workers = warm.New()

// parallel runs fn(0..n-1) with at most width at once and returns the
// first error.

func parallel(n, width int, fn func(i int) error) error {
	if n == 1 {
		return fn(0)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
		sem  = make(chan struct{}, width)
	)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		workers.Go(func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if ferr == nil {
					ferr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ferr
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
