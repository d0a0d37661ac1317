package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/storage"
)

// Why the store does not write, as the reason label of
// switchboard_store_writable.
const (
	reasonOK       = "ok"
	reasonDiskFull = "disk_full"     // free space below Config.MinFreeBytes
	reasonReadOnly = "read_only"     // opened read-only on a full disk
	reasonWAL      = "wal_failed"    // a WAL write or sync failed; reopening
	reasonRestart  = "needs_restart" // Pebble panicked; only a restart helps
)

var (
	writableGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_store_writable",
		Help: "1 while the embedded store accepts writes, else 0; the reason label says why not (ok, disk_full, read_only, wal_failed, needs_restart).",
	}, []string{"reason"})
	freeBytesGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_store_free_bytes",
		Help: "Free bytes on the embedded store's file system, as last checked.",
	})
	backgroundErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_store_background_errors_total",
		Help: "Errors of the embedded store's background work (flushes, compactions); they are logged at most once per MonitorInterval.",
	})
)

func init() { prometheus.MustRegister(writableGauge, freeBytesGauge, backgroundErrors) }

// health is why the store refuses writes (guarded by Store.hmu).
type health struct {
	reason string
	detail string
	since  time.Time
}

// Health reports whether the store accepts writes: nil if it does, else an
// error wrapping storage.ErrUnavailable that says why (for /healthz).
func (s *Store) Health() error {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.health.reason == reasonOK {
		return nil
	}
	return fmt.Errorf("%w: %s since %s: %s", storage.ErrUnavailable, s.health.reason,
		s.health.since.UTC().Format(time.RFC3339), s.health.detail)
}

// setHealth records a new state; transitions are logged once, not per write.
func (s *Store) setHealth(reason, detail string) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.health.reason == reason {
		s.health.detail = detail
		return
	}
	old := s.health.reason
	s.health = health{reason: reason, detail: detail, since: time.Now()}
	writableGauge.Reset()
	if reason == reasonOK {
		writableGauge.WithLabelValues(reason).Set(1)
		s.throttled.log(s.log, slog.LevelInfo, "health-"+reason, "store writable again", "was", old)
		return
	}
	writableGauge.WithLabelValues(reason).Set(0)
	s.throttled.log(s.log, slog.LevelError, "health-"+reason, "store refuses writes", "reason", reason, "detail", detail)
}

func (s *Store) reason() string {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.health.reason
}

// freeBytes returns the free space of the data directory's file system.
func (s *Store) freeBytes() (uint64, error) {
	u, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		return 0, err
	}
	freeBytesGauge.Set(float64(u.AvailBytes))
	return u.AvailBytes, nil
}

// roomToWrite reports whether free space is at or above the floor; below
// it the store refuses writes before Pebble runs out of space mid-write
// (a WAL write error is sticky and needs a reopen; a failed flush stalls).
func (s *Store) roomToWrite() (bool, string) {
	if s.minFree < 0 {
		return true, ""
	}
	free, err := s.freeBytes()
	if err != nil {
		return false, fmt.Sprintf("cannot read free space: %v", err)
	}
	if free < uint64(s.minFree) {
		return false, fmt.Sprintf("%d bytes free on %s, below the floor of %d (MinFreeBytes)", free, s.dir, s.minFree)
	}
	return true, ""
}

// ---- the committer's view -------------------------------------------------

func (s *Store) beginGroup() (*pebble.DB, func(), error) {
	s.mu.RLock()
	switch {
	case s.fatal != nil:
		s.mu.RUnlock()
		return nil, nil, fmt.Errorf("%w: store needs a restart: %v", storage.ErrUnavailable, s.fatal)
	case s.walErr != nil:
		s.mu.RUnlock()
		return nil, nil, fmt.Errorf("%w: write-ahead log failed, reopening: %v", storage.ErrUnavailable, s.walErr)
	case s.readOnly:
		s.mu.RUnlock()
		return nil, nil, fmt.Errorf("%w: opened read-only on a full disk; writes resume when space is free", storage.ErrUnavailable)
	}
	if ok, why := s.roomToWrite(); !ok {
		s.mu.RUnlock()
		s.setHealth(reasonDiskFull, why)
		return nil, nil, fmt.Errorf("%w: disk full: %s", storage.ErrUnavailable, why)
	}
	if s.reason() == reasonDiskFull {
		s.setHealth(reasonOK, "")
	}
	return s.db, s.mu.RUnlock, nil
}

func (s *Store) walFailed(err error, failed []*appendInfo, panicked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range failed {
		s.undo = append(s.undo, a.undo...)
	}
	if panicked {
		if s.fatal == nil {
			s.fatal = err
		}
		s.setHealth(reasonRestart, err.Error())
		return
	}
	if s.walErr == nil {
		s.walErr = err
		s.setHealth(reasonWAL, err.Error())
	}
}

func (s *Store) durable(commit uint64) { s.acked.Store(commit) }

// groupFailed voids what the failed group's ops cached (committer
// goroutine; reopen clears them too, for groups whose sync failed).
func (s *Store) groupFailed() { s.inboxHeads.clear(); s.convFences.clear() }

func (s *Store) hide(apps []*appendInfo)   { s.unsynced.add(apps) }
func (s *Store) unhide(apps []*appendInfo) { s.unsynced.remove(apps) }

func (s *Store) nextCommit() uint64 {
	s.commitSeq++
	return s.commitSeq
}

// ---- reads ----------------------------------------------------------------

// read runs fn against the current database. While a failed WAL is being
// recovered reads are refused too: the memtable may hold writes that were
// never acknowledged and will not survive the reopen.
func (s *Store) read(fn func(db *pebble.DB) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.fatal != nil:
		return fmt.Errorf("%w: store needs a restart: %v", storage.ErrUnavailable, s.fatal)
	case s.walErr != nil || s.db == nil:
		return fmt.Errorf("%w: write-ahead log failed, reopening: %v", storage.ErrUnavailable, s.walErr)
	}
	return fn(s.db)
}

// ---- recovery -------------------------------------------------------------

// monitor writes the watermark and brings the store back to writable once
// it can: a read-only store is reopened read-write when space is back, a
// store whose WAL failed is closed and reopened (dropping what was never
// acknowledged) once its in-flight groups are finished.
func (s *Store) monitor() {
	defer close(s.monitorDone)
	t := time.NewTicker(s.cfg.MonitorInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.writeWatermark()
		s.mu.RLock()
		ro, walErr, fatal := s.readOnly, s.walErr, s.fatal
		s.mu.RUnlock()
		if fatal != nil {
			continue
		}
		ok, why := s.roomToWrite()
		switch {
		case !ok:
			if !ro && walErr == nil {
				s.setHealth(reasonDiskFull, why)
			}
		case time.Now().Before(s.nextReopen):
			// backing off after a failed reopen
		case walErr != nil:
			if s.commit.inflight.Load() == 0 {
				s.backOff(s.reopen())
			}
		case ro:
			s.backOff(s.reopen())
		case s.reason() == reasonDiskFull:
			s.setHealth(reasonOK, "")
		}
	}
}

// backOff spaces out reopen attempts that keep failing (doubling from
// MonitorInterval up to maxReopenBackoff), so a broken disk is not hammered
// and reads are not paused every tick.
func (s *Store) backOff(ok bool) {
	if ok {
		s.reopenWait, s.nextReopen = 0, time.Time{}
		return
	}
	s.reopenWait = min(max(2*s.reopenWait, s.cfg.MonitorInterval), maxReopenBackoff)
	s.nextReopen = time.Now().Add(s.reopenWait)
}

const maxReopenBackoff = 30 * time.Second

// reopen closes the database and opens it read-write; false if it failed.
func (s *Store) reopen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commit.inflight.Load() != 0 {
		return true // a group slipped in before the lock; next tick
	}
	if s.db != nil {
		if err := closeDB(s.db); err != nil {
			s.log.Warn("closing the failed database", "err", err.Error())
		}
		s.db = nil
	}
	db, err := s.openDB(false)
	if err != nil {
		s.throttled.log(s.log, slog.LevelError, "reopen", "reopening the store failed; retrying", "err", err.Error())
		if s.readOnly {
			// Keep serving reads from a read-only copy meanwhile.
			if db, err = s.openDB(true); err == nil {
				s.db = db
			}
		}
		return false
	}
	if len(s.undo) > 0 {
		b := db.NewBatch()
		for _, k := range s.undo {
			_ = b.Delete(k, nil)
		}
		err = applySync(db, b)
		_ = b.Close()
		if err != nil {
			s.throttled.log(s.log, slog.LevelError, "reopen", "dropping unacknowledged writes failed; retrying", "err", err.Error())
			_ = closeDB(db)
			return false
		}
		s.log.Warn("dropped writes whose WAL write failed", "keys", len(s.undo))
		s.undo = nil
	}
	s.unsynced.clear() // what is left belongs to failed groups, deleted above
	// No op runs while s.mu is held: the committer's caches may hold
	// writes of failed groups that the reopened database does not.
	s.inboxHeads.clear()
	s.convFences.clear()
	s.lastInbox = newLastSeqCache(tagInbox, s.cfg.LastSeqCacheSize)
	commit, err := readCommit(db)
	if err != nil {
		s.throttled.log(s.log, slog.LevelError, "reopen", "reading the commit counter failed; retrying", "err", err)
		_ = closeDB(db)
		return false
	}
	s.db, s.readOnly, s.walErr = db, false, nil
	s.commitSeq = max(s.commitSeq, commit)
	s.setHealth(reasonOK, "")
	return true
}

// applySync applies b durably; Pebble calls Fatalf (which panics) when the
// WAL sync fails, so the panic is turned into an error.
func applySync(db *pebble.DB, b *pebble.Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked applying: %v", r)
		}
	}()
	return db.Apply(b, pebble.Sync)
}

// closeDB closes db, turning a panic into an error.
func closeDB(db *pebble.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked closing: %v", r)
		}
	}()
	return db.Close()
}

// isNoSpace reports a full disk (or quota) in err's chain.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// throttle logs a repeated message at most once per interval, counting the
// ones it held back, so a failing disk does not flood the log.
type throttle struct {
	mu    sync.Mutex
	every time.Duration
	last  map[string]time.Time
	held  map[string]int
}

func newThrottle(every time.Duration) *throttle {
	return &throttle{every: every, last: map[string]time.Time{}, held: map[string]int{}}
}

func (t *throttle) log(l *slog.Logger, level slog.Level, key, msg string, args ...any) {
	t.mu.Lock()
	now := time.Now()
	if now.Sub(t.last[key]) < t.every {
		t.held[key]++
		t.mu.Unlock()
		return
	}
	held := t.held[key]
	t.last[key], t.held[key] = now, 0
	t.mu.Unlock()
	if held > 0 {
		args = append(args, "repeated", held)
	}
	l.Log(context.Background(), level, msg, args...)
}
