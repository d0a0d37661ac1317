package pebblestore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// openCountingSyncs opens a store whose WAL fsyncs are counted.
func openCountingSyncs(t *testing.T, interval time.Duration) (*pebblestore.Store, *atomic.Int64) {
	t.Helper()
	var syncs atomic.Int64
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") &&
			(op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo) {
			syncs.Add(1)
		}
		return nil
	}))
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), FS: fs, SyncInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.CreateConversation(context.Background(), storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	return s, &syncs
}

// SyncInterval spaces the WAL's fsyncs: one writer waiting for each write
// to be durable gets at most one fsync per interval, however fast the disk
// (a slow machine only loosens the bound), also with the default (a zero
// Config field). A negative interval syncs every write as soon as it asks.
func TestSyncInterval(t *testing.T) {
	const writes = 20
	for _, tc := range []struct {
		name               string
		configured, spaced time.Duration
	}{
		{"spaced", 25 * time.Millisecond, 25 * time.Millisecond},
		{"default", 0, pebblestore.DefaultConfig("").SyncInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, syncs := openCountingSyncs(t, tc.configured)
			before := syncs.Load()
			start := time.Now()
			for seq := uint64(1); seq <= writes; seq++ {
				if err := appendSeq(s, seq); err != nil {
					t.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			n := syncs.Load() - before
			if limit := int64(elapsed/tc.spaced) + 1; n > limit {
				t.Fatalf("%d WAL syncs in %v, want at most %d (one per %v)", n, elapsed, limit, tc.spaced)
			}
			if got := seqs(t, s); len(got) != writes {
				t.Fatalf("read back %d messages, want %d", len(got), writes)
			}
		})
	}
	t.Run("at once", func(t *testing.T) {
		s, syncs := openCountingSyncs(t, -1)
		before := syncs.Load()
		for seq := uint64(1); seq <= writes; seq++ {
			if err := appendSeq(s, seq); err != nil {
				t.Fatal(err)
			}
		}
		if n := syncs.Load() - before; n < writes {
			t.Fatalf("%d WAL syncs for %d writes that each waited for theirs", n, writes)
		}
	})
}
