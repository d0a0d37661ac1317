package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/storage"
)

var (
	backupsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_store_backups_total",
		Help: "Backups of the embedded store (store backup), by result (ok, error).",
	}, []string{"result"})
	lastBackupGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_store_last_backup_timestamp_seconds",
		Help: "When the last successful backup of the embedded store was taken (Unix seconds; 0: none since start). Alert on its age.",
	})
)

func init() { prometheus.MustRegister(backupsTotal, lastBackupGauge) }

// BackupInfo describes a backup Backup made.
type BackupInfo struct {
	Dir      string    `json:"dir"`
	Files    int       `json:"files"`
	Bytes    int64     `json:"bytes"`
	Acked    uint64    `json:"acked"` // the last acknowledged commit it holds
	At       time.Time `json:"at"`
	TookSecs float64   `json:"took_s"`
}

// Backup writes a consistent copy of the open store into dest, which must
// not exist, while the store keeps serving: a Pebble checkpoint (tables
// hard-linked where dest is on the same file system, the WAL and manifest
// copied) with the WAL synced first, so everything acknowledged before the
// call is in it. Commits pause while it is taken (milliseconds: no table
// is copied on one file system). The copy carries the acknowledged-commit
// watermark, so opening it checks that nothing acknowledged is missing.
// Restore turns a backup into a store again.
func (s *Store) Backup(ctx context.Context, dest string) (info BackupInfo, err error) {
	defer func() {
		if err != nil {
			backupsTotal.WithLabelValues("error").Inc()
			return
		}
		backupsTotal.WithLabelValues("ok").Inc()
		lastBackupGauge.Set(float64(info.At.Unix()))
	}()
	return s.backup(ctx, dest)
}

func (s *Store) backup(ctx context.Context, dest string) (BackupInfo, error) {
	start := time.Now()
	info := BackupInfo{Dir: dest, At: start.UTC()}
	if _, err := s.fs.Stat(dest); err == nil {
		return info, fmt.Errorf("backup: %s exists: %w", dest, storage.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return info, err
	}
	// Exclusive: no group is applied while the checkpoint is cut, so what
	// it holds is whole groups, all synced by WithFlushedWAL.
	s.mu.Lock()
	if s.fatal != nil || s.walErr != nil || s.db == nil {
		s.mu.Unlock()
		return info, fmt.Errorf("backup: the store is not healthy (%v): %w", errors.Join(s.fatal, s.walErr), storage.ErrUnavailable)
	}
	var opts []pebble.CheckpointOption
	if !s.readOnly {
		opts = append(opts, pebble.WithFlushedWAL())
	}
	err := s.db.Checkpoint(dest, opts...)
	info.Acked = s.acked.Load()
	s.mu.Unlock()
	if err != nil {
		return info, fmt.Errorf("backup to %s: %w", dest, err)
	}
	if err := writeWatermarkFile(s.fs, dest, info.Acked); err != nil {
		return info, fmt.Errorf("backup to %s: watermark: %w", dest, err)
	}
	if info.Files, info.Bytes, err = dirSize(s.fs, dest); err != nil {
		return info, fmt.Errorf("backup to %s: %w", dest, err)
	}
	info.TookSecs = time.Since(start).Seconds()
	s.log.Info("store backed up", "dir", dest, "files", info.Files, "bytes", info.Bytes, "took", time.Since(start))
	return info, nil
}

func dirSize(fs vfs.FS, dir string) (files int, bytes int64, err error) {
	names, err := fs.List(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, n := range names {
		st, err := fs.Stat(fs.PathJoin(dir, n))
		if err != nil {
			return 0, 0, err
		}
		if !st.IsDir() {
			files++
			bytes += st.Size()
		}
	}
	return files, bytes, nil
}

// RestoreReport is what Restore did.
type RestoreReport struct {
	From          string `json:"from"`
	Files         int    `json:"files"`
	Conversations int    `json:"conversations_moved"` // conversations whose seqs moved forward
	GapRows       int    `json:"gap_rows"`            // gap messages written
	After         Report `json:"after"`
}

// Restore makes the store in cfg.Dir, which must not hold one, a copy of
// the backup in from (checked first: a damaged backup is refused), then
// moves every conversation's seqs forward by seqSkip with gap messages, as
// Repair does. Messages acknowledged after the backup are not in it, and
// their seqs are known to the clients that saw them: a new message must
// not reuse one, so seqSkip should be above the most messages any one
// conversation can have taken since the backup. The files are copied, not
// linked: the store appends to its WAL and manifest, which must not change
// the backup.
func Restore(ctx context.Context, cfg Config, from string, seqSkip uint64) (RestoreReport, error) {
	cfg = cfg.withDefaults()
	rr := RestoreReport{From: from}
	if st, err := cfg.FS.Stat(from); err != nil || !st.IsDir() {
		return rr, fmt.Errorf("restore: no backup in %s: %w", from, storage.ErrInvalid)
	}
	src := cfg
	src.Dir = from
	rep, err := Check(src, true)
	if err != nil {
		return rr, err
	}
	if !rep.Exists {
		return rr, fmt.Errorf("restore: no store in %s: %w", from, storage.ErrInvalid)
	}
	if rep.Damaged() {
		return rr, fmt.Errorf("%w: the backup in %s: %s", ErrDamaged, from, rep.Damage[0])
	}
	fs := cfg.FS
	if names, err := fs.List(cfg.Dir); err == nil && len(names) > 0 {
		return rr, fmt.Errorf("restore: %s is not empty (move the store there aside first): %w", cfg.Dir, storage.ErrInvalid)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return rr, err
	}
	if err := fs.MkdirAll(cfg.Dir, 0o755); err != nil {
		return rr, err
	}
	names, err := fs.List(from)
	if err != nil {
		return rr, err
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return rr, err
		}
		if st, err := fs.Stat(fs.PathJoin(from, n)); err != nil || st.IsDir() || n == "LOCK" {
			continue
		}
		if err := vfs.Copy(fs, fs.PathJoin(from, n), fs.PathJoin(cfg.Dir, n)); err != nil {
			return rr, fmt.Errorf("restore: copy %s: %w", n, err)
		}
		rr.Files++
	}
	// Every table was read as the backup was checked: the copy's are
	// checked for presence and size only.
	cfg.Verify = VerifyFiles
	s, err := Open(cfg)
	if err != nil {
		return rr, err
	}
	var moved RepairReport
	if err := s.moveSeqsForward(ctx, seqSkip, &moved); err != nil {
		_ = s.Close()
		return rr, err
	}
	rr.Conversations, rr.GapRows = moved.Conversations, moved.GapRows
	if err := s.Close(); err != nil {
		return rr, err
	}
	rr.After, err = Check(cfg, false)
	return rr, err
}
