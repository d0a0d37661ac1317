package pebblestore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/instrumented"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestCheckpointFence: what the conformance suite (CheckpointFences)
// cannot show: the epoch survives a reopen, and the metrics wrapper does
// not hide the fences.
func TestCheckpointFence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	f := storage.FencesOf(instrumented.Wrap(s))
	if f == nil {
		t.Fatal("no fences through the metrics wrapper")
	}
	const key = "desk/desk-agent/a1"
	load := func(s storage.Store) string {
		cp, err := s.LoadCheckpoint(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(cp.State)
	}
	e1, err := f.AcquireCheckpointFence(ctx, key)
	if err != nil || e1 != 1 {
		t.Fatalf("first fence %d %v, want 1", e1, err)
	}
	if err := f.SaveCheckpointFenced(ctx, storage.Checkpoint{Key: key, State: []byte("one")}, e1); err != nil {
		t.Fatal(err)
	}
	e2, err := f.AcquireCheckpointFence(ctx, key)
	if err != nil || e2 != 2 {
		t.Fatalf("second fence %d %v, want 2", e2, err)
	}
	if err := f.SaveCheckpointFenced(ctx, storage.Checkpoint{Key: key, State: []byte("stale")}, e1); !errors.Is(err, storage.ErrEpochLost) {
		t.Fatalf("stale write: %v, want ErrEpochLost", err)
	}
	if got := load(s); got != "one" {
		t.Fatalf("after the stale write: %q", got)
	}
	if err := f.SaveCheckpointFenced(ctx, storage.Checkpoint{Key: key, State: []byte("two")}, e2); err != nil {
		t.Fatal(err)
	}
	// Another key has its own fence.
	if e, err := f.AcquireCheckpointFence(ctx, "desk/desk-agent/a2"); err != nil || e != 1 {
		t.Fatalf("other key: %d %v", e, err)
	}
	if _, err := f.AcquireCheckpointFence(ctx, ""); err == nil {
		t.Fatal("empty key accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := load(s); got != "two" {
		t.Fatalf("after reopen: %q", got)
	}
	if e, err := s.AcquireCheckpointFence(ctx, key); err != nil || e != e2+1 {
		t.Fatalf("fence after reopen %d %v, want %d", e, err, e2+1)
	}
	if err := s.SaveCheckpointFenced(ctx, storage.Checkpoint{Key: key, State: []byte("stale")}, e2); !errors.Is(err, storage.ErrEpochLost) {
		t.Fatalf("stale write after reopen: %v", err)
	}
}
