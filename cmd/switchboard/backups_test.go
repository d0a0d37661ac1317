package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// Pruning keeps the newest backups and touches nothing it did not name.
func TestPruneBackups(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"20261130T010203.004Z", "20261201T010203.004Z", "20261129T235959.999Z", "notes", "20261128T000000.000Z.tar"} {
		if filepath.Ext(n) == ".tar" {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if removed, err := pruneBackups(dir, 0); err != nil || removed != nil {
		t.Fatalf("keep 0: removed %v, %v", removed, err)
	}
	removed, err := pruneBackups(dir, 2)
	if err != nil || !slices.Equal(removed, []string{"20261129T235959.999Z"}) {
		t.Fatalf("keep 2: removed %v, %v", removed, err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{"20261128T000000.000Z.tar", "20261130T010203.004Z", "20261201T010203.004Z", "notes"}) {
		t.Fatalf("left: %v", left)
	}
}

// Scheduled backups of a real store: each is a store that checks clean,
// and only the newest --backup-keep stay.
func TestScheduledBackups(t *testing.T) {
	dir := t.TempDir()
	st, err := pebblestore.Open(pebblestore.DefaultConfig(filepath.Join(dir, "store")))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &backups{store: st, dir: filepath.Join(dir, "backups"), keep: 2, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	okBefore := backupsOK(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.run(ctx, 40*time.Millisecond) }()
	// Three backups or more, so the oldest was pruned at least once.
	for deadline := time.Now().Add(20 * time.Second); backupsOK(t)-okBefore < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v backups in 20 s", backupsOK(t)-okBefore)
		}
	}
	cancel()
	<-done
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d backups kept, want 2: %v", len(entries), entries)
	}
	for _, e := range entries {
		rep, err := pebblestore.Check(pebblestore.DefaultConfig(filepath.Join(b.dir, e.Name())), true)
		if err != nil || !rep.Exists || rep.Damaged() {
			t.Fatalf("backup %s: %+v %v", e.Name(), rep, err)
		}
	}
}

func backupsOK(t *testing.T) float64 {
	return promtest.Value(t, "switchboard_store_backups_total", "result", "ok")
}
