package storagetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/switchboard-im/switchboard/storage"
)

// testCheckpointFences: only the holder of the newest fence epoch writes a
// checkpoint, a fence alone is no checkpoint, and racing activations each
// get their own epoch. Skipped for a backend without fences.
func testCheckpointFences(t *testing.T, s storage.Store, id func(string) string) {
	f := storage.FencesOf(s)
	if f == nil {
		t.Skip("the backend has no checkpoint fences")
	}
	c := ctx(t)
	key := id("desk/desk-agent/a1")
	e1, err := f.AcquireCheckpointFence(c, key)
	if err != nil || e1 != 1 {
		t.Fatalf("first fence %d %v, want 1", e1, err)
	}
	_, err = s.LoadCheckpoint(c, key)
	wantErr(t, err, storage.ErrNotFound)
	must(t, f.SaveCheckpointFenced(c, storage.Checkpoint{Key: key, State: []byte("one"), At: at(1)}, e1))
	e2, err := f.AcquireCheckpointFence(c, key)
	if err != nil || e2 != 2 {
		t.Fatalf("second fence %d %v, want 2", e2, err)
	}
	wantErr(t, f.SaveCheckpointFenced(c, storage.Checkpoint{Key: key, State: []byte("stale"), At: at(2)}, e1), storage.ErrEpochLost)
	// Epochs never handed out are refused too.
	wantErr(t, f.SaveCheckpointFenced(c, storage.Checkpoint{Key: key, State: []byte("ahead"), At: at(2)}, e2+1), storage.ErrEpochLost)
	cp, err := s.LoadCheckpoint(c, key)
	must(t, err)
	if string(cp.State) != "one" {
		t.Fatalf("after the stale write: %q", cp.State)
	}
	must(t, f.SaveCheckpointFenced(c, storage.Checkpoint{Key: key, State: []byte("two"), At: at(3), ConvSeqs: map[string]uint64{id("c"): 7}}, e2))
	cp, err = s.LoadCheckpoint(c, key)
	must(t, err)
	if string(cp.State) != "two" || cp.ConvSeqs[id("c")] != 7 || !cp.At.Equal(at(3)) {
		t.Fatalf("checkpoint %+v", cp)
	}
	// Another key has its own fence.
	if e, err := f.AcquireCheckpointFence(c, id("desk/desk-agent/a2")); err != nil || e != 1 {
		t.Fatalf("other key: %d %v", e, err)
	}
	if _, err := f.AcquireCheckpointFence(c, ""); err == nil {
		t.Fatal("empty key accepted")
	}

	// Racing activations: distinct epochs, and only the last one writes.
	const racers = 8
	var wg sync.WaitGroup
	epochs := make(chan uint64, racers)
	errs := make(chan error, racers)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := f.AcquireCheckpointFence(c, key)
			if err != nil {
				errs <- err
				return
			}
			epochs <- e
		}()
	}
	wg.Wait()
	close(epochs)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen, top := map[uint64]bool{}, uint64(0)
	for e := range epochs {
		if seen[e] || e <= e2 {
			t.Fatalf("epoch %d twice or not past %d", e, e2)
		}
		seen[e], top = true, max(top, e)
	}
	if top != e2+racers {
		t.Fatalf("top epoch %d, want %d", top, e2+racers)
	}
	for e := range seen {
		err := f.SaveCheckpointFenced(c, storage.Checkpoint{Key: key, State: []byte("x"), At: at(4)}, e)
		if (e == top) != (err == nil) || (err != nil && !errors.Is(err, storage.ErrEpochLost)) {
			t.Fatalf("write with epoch %d (top %d): %v", e, top, err)
		}
	}
}
