package cql

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-im/switchboard/storage"
)

// These run without a database: the bounds are checked before any request.

func TestEpochBound(t *testing.T) {
	s := &Store{cfg: DefaultConfig(), lim: storage.DefaultLimits().WithDefaults()}
	ctx := context.Background()
	m := []storage.Message{{ConvID: "c", Seq: 1, Sender: "u", Body: []byte("x")}}
	if err := s.AppendMessages(ctx, "c", MaxEpoch+1, m); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("append with epoch MaxEpoch+1: %v, want ErrInvalid", err)
	}
	if _, err := s.AcquireEpoch(ctx, "c", MaxEpoch); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("acquire epoch MaxEpoch+1: %v, want ErrInvalid", err)
	}
	// The highest epoch still gives a positive timestamp above every
	// earlier epoch's.
	if ts := epochTS(MaxEpoch, 1<<epochShift-1); ts <= 0 || ts <= epochTS(MaxEpoch-1, 1<<epochShift-1) {
		t.Fatalf("timestamp of the last epoch: %d", ts)
	}
}

func TestMaxCacheBound(t *testing.T) {
	c := newMaxCache(2)
	c.raise("u", "a", 5)
	c.raise("u", "a", 3) // lower: kept at 5
	if v, ok := c.get("u", "a"); !ok || v != 5 {
		t.Fatalf("a = %d, %v; want 5", v, ok)
	}
	c.raise("u", "b", 1)
	c.raise("u", "c", 7) // a third key in a cache of 2: cleared first
	if len(c.m) > 2 {
		t.Fatalf("%d entries in a cache of 2", len(c.m))
	}
	if v, ok := c.get("u", "c"); !ok || v != 7 {
		t.Fatalf("c = %d, %v; want 7", v, ok)
	}
}

func TestLeasesBound(t *testing.T) {
	l := newLeases(2, convFence, "append to")
	l.note("a", 2, 100)
	l.note("a", 1, 500) // an older epoch never replaces a newer one
	l.note("a", 2, 50)  // within an epoch the reservation only grows
	if v, _ := l.get("a"); v != (lease{2, 100}) {
		t.Fatalf("lease %+v, want {2 100}", v)
	}
	if err := (lease{2, 100}).check("append to", "a", 1, 10); !errors.Is(err, storage.ErrEpochLost) {
		t.Fatalf("stale epoch: %v", err)
	}
	if err := (lease{2, 100}).check("append to", "a", 2, 101); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("above the reservation: %v", err)
	}
	l.note("b", 1, 1)
	l.note("c", 1, 1)
	if len(l.m) > 2 {
		t.Fatalf("%d leases in a cache of 2", len(l.m))
	}
}

func TestIsLWT(t *testing.T) {
	for stmt, want := range map[string]bool{
		msgInsert.cql:      true,
		msgInsertPlain.cql: false,
		convAcquire.cql:    true,
		ucReadMax.cql:      false,
		"CREATE TABLE IF NOT EXISTS schema_lock (name text PRIMARY KEY)":                         false,
		"INSERT INTO schema_lock (name, owner) VALUES ('schema', ?) IF NOT EXISTS USING TTL 120": true,
	} {
		if got := isLWT(stmt); got != want {
			t.Errorf("isLWT(%q) = %v, want %v", stmt, got, want)
		}
	}
}
