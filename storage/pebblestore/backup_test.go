package pebblestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// A backup taken while a writer appends holds every message acknowledged
// before it began; the restored store serves them, not what came after,
// and gives no new message a seq the live store had acknowledged.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := pebblestore.Open(pebblestore.Config{Dir: filepath.Join(dir, "live"), MonitorInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	epoch, err := s.AcquireEpoch(ctx, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveSeqs(ctx, "c1", epoch, 1000); err != nil {
		t.Fatal(err)
	}
	var acked atomic.Uint64
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := appendSeq(s, seq); err != nil {
				done <- err
				return
			}
			acked.Store(seq)
		}
	}()
	for acked.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	before := acked.Load()
	backups := func(result string) float64 {
		return promtest.Value(t, "switchboard_store_backups_total", "result", result)
	}
	okBefore, errBefore := backups("ok"), backups("error")
	backup := filepath.Join(dir, "backups", "b1")
	info, err := s.Backup(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	for acked.Load() < info.Acked+100 && acked.Load() < before+200 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	live := acked.Load()
	if info.Files == 0 || info.Bytes == 0 {
		t.Fatalf("backup info: %+v", info)
	}
	if _, err := s.Backup(ctx, backup); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("a backup over an existing directory: %v", err)
	}
	if ok, bad := backups("ok")-okBefore, backups("error")-errBefore; ok != 1 || bad != 1 {
		t.Fatalf("switchboard_store_backups_total moved by ok %v, error %v; want 1 and 1", ok, bad)
	}

	restored := filepath.Join(dir, "restored")
	const skip = 500
	rr, err := pebblestore.Restore(ctx, pebblestore.DefaultConfig(restored), backup, skip)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Conversations != 1 || rr.After.Damaged() {
		t.Fatalf("restore report: %+v", rr)
	}
	r, err := pebblestore.Open(pebblestore.DefaultConfig(restored))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := seqs(t, r)
	var kept uint64
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("restored seqs not contiguous at %d: %v…", i, got[:i+1])
		}
		if m, _ := r.ListMessages(ctx, "c1", seq, seq, storage.OldestFirst, 1); len(m) == 1 && m[0].Sender == "alice" {
			kept = seq
		}
	}
	if kept < before {
		t.Fatalf("the backup holds messages up to seq %d; %d were acknowledged before it began", kept, before)
	}
	if kept >= live {
		t.Fatalf("the backup holds seq %d, written after it (the live store had %d)", kept, live)
	}
	c, err := r.GetConversation(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.LastSeq <= live || c.ReservedSeq < c.LastSeq {
		t.Fatalf("restored head at seq %d (reserved %d): a new message could reuse a seq the live store acknowledged (up to %d)", c.LastSeq, c.ReservedSeq, live)
	}
	t.Logf("before %d, backup %+v, live %d, restored up to %d then gaps to %d", before, info, live, kept, c.LastSeq)
}

// Restore refuses a damaged backup, a missing one, and a directory that
// already holds a store.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	populate(t, filepath.Join(dir, "live"), 50)
	s, err := pebblestore.Open(pebblestore.DefaultConfig(filepath.Join(dir, "live")))
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "b1")
	if _, err := s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pebblestore.Restore(ctx, pebblestore.DefaultConfig(filepath.Join(dir, "live")), backup, 10); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("restore over a store: %v", err)
	}
	if _, err := pebblestore.Restore(ctx, pebblestore.DefaultConfig(filepath.Join(dir, "r0")), filepath.Join(dir, "nothing"), 10); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("restore from nothing: %v", err)
	}
	// Take a table out of the backup (the reopened store flushed its WAL
	// into tables): the manifest names a file that is not there.
	if err := os.Remove(files(t, backup, ".sst")[0]); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "r1")
	if _, err := pebblestore.Restore(ctx, pebblestore.DefaultConfig(target), backup, 10); !errors.Is(err, pebblestore.ErrDamaged) {
		t.Fatalf("restore from a damaged backup: %v", err)
	}
	if names, _ := os.ReadDir(target); len(names) > 0 {
		t.Fatalf("a damaged backup was copied in: %v", names)
	}
}
