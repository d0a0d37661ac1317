package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// backupLayout names a backup directory by its UTC time; only directories
// named so are ever pruned.
const backupLayout = "20060102T150405.000Z"

// backups takes the embedded store's backups into dir, from the admin API
// and on --backup-every, and keeps the newest keep of them (0: all).
type backups struct {
	store *pebblestore.Store
	dir   string
	keep  int
	log   *slog.Logger
}

// take backs the store up into a new directory and prunes the oldest.
func (b *backups) take(ctx context.Context) (pebblestore.BackupInfo, error) {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return pebblestore.BackupInfo{}, fmt.Errorf("backup directory: %w", err)
	}
	info, err := b.store.Backup(ctx, filepath.Join(b.dir, time.Now().UTC().Format(backupLayout)))
	if err != nil {
		return info, err
	}
	removed, err := pruneBackups(b.dir, b.keep)
	if err != nil {
		b.log.Warn("pruning old backups", "dir", b.dir, "err", err)
	}
	if len(removed) > 0 {
		b.log.Info("old backups removed", "dir", b.dir, "removed", removed, "keep", b.keep)
	}
	return info, nil
}

// run takes a backup every interval until ctx ends. A failed one is
// logged (and counted by the store's metrics) and the next is tried on
// time.
func (b *backups) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := b.take(ctx); err != nil && ctx.Err() == nil {
				b.log.Error("scheduled backup failed", "dir", b.dir, "err", err)
			}
		}
	}
}

// pruneBackups removes the oldest backups in dir beyond the newest keep
// (keep ≤ 0: none) and returns their names. Entries not named by
// backupLayout are left alone.
func pruneBackups(dir string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, err := time.Parse(backupLayout, e.Name()); err == nil && e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // the layout sorts by time
	if len(names) <= keep {
		return nil, nil
	}
	old := names[:len(names)-keep]
	for i, n := range old {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return old[:i], err
		}
	}
	return old, nil
}
