package pebblestore

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/switchboard-im/switchboard/storage"
)

// ErrDamaged is returned by Open when the data directory is damaged; the
// error names the damage. `switchboard store check` reports it in full and
// `switchboard store repair` recovers what can be recovered.
var ErrDamaged = errors.New("pebble: store damaged")

// Verify is how much Open checks before serving.
type Verify string

const (
	// VerifyAuto is VerifyFull while the tables total at most
	// Config.VerifyFullMaxBytes, else VerifyFiles (start time stays bounded;
	// table damage is then found by reads, which fail on a bad checksum,
	// and by `switchboard store check`).
	VerifyAuto Verify = "auto"
	// VerifyFull checks everything VerifyFiles does and reads every table,
	// verifying its block checksums (time proportional to the data).
	VerifyFull Verify = "full"
	// VerifyFiles checks the WAL, that every table exists with its
	// recorded size, and that no acknowledged commit is missing.
	VerifyFiles Verify = "files"
)

// Store is the Pebble implementation of storage.Store.
type Store struct {
	cfg     Config
	dir     string
	fs      vfs.FS
	log     *slog.Logger
	minFree int64
	lock    *pebble.Lock
	cache   *pebble.Cache

	// mu guards the database handle: reads and the committer (while it
	// applies a group) hold it shared; reopening holds it exclusively.
	mu        sync.RWMutex
	db        *pebble.DB
	readOnly  bool     // opened read-only on a full disk
	walErr    error    // a WAL write or sync failed: reopen pending
	fatal     error    // Pebble panicked: restart required
	undo      [][]byte // keys of failed groups to delete on reopen
	commitSeq uint64   // last commit counter handed out (committer, or under mu)

	nextReopen time.Time     // monitor: no reopen attempt before this
	reopenWait time.Duration // monitor: the current back-off

	unsynced *unsynced // appends applied but not yet synced: hidden from reads

	acked     atomic.Uint64 // last durable commit counter
	watermark uint64        // last acked counter written to the watermark file (monitor)

	hmu    sync.Mutex
	health health

	throttled *throttle
	commit    *committer
	limits    storage.Limits
	lastSeqs  *lastSeqCache // owned by the committer goroutine
	// lastInbox and inboxHeads do for the inboxes what lastSeqs does for
	// the conversations; also the committer's (cleared by reopen).
	lastInbox  *lastSeqCache
	inboxHeads *inboxHeadCache
	// convFences mirrors the conversation heads' epochs and reservations
	// for the appends' fence check (committer; cleared like inboxHeads).
	convFences  *convFenceCache
	stop        chan struct{}
	monitorDone chan struct{}
}

var _ storage.Store = (*Store)(nil)

// Open opens (or creates) the store in cfg.Dir. It refuses a damaged store
// (ErrDamaged). On a disk with less than MinFreeBytes free it opens
// read-only: reads work, writes fail with storage.ErrUnavailable until
// space is back, then the store reopens read-write by itself.
func Open(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return nil, fmt.Errorf("pebble: no data directory: %w", storage.ErrInvalid)
	}
	if cfg.Verify != VerifyAuto && cfg.Verify != VerifyFull && cfg.Verify != VerifyFiles {
		return nil, fmt.Errorf("pebble: verify %q (want auto, full or files): %w", cfg.Verify, storage.ErrInvalid)
	}
	if err := cfg.FS.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pebble: create %s: %w", cfg.Dir, err)
	}
	lock, err := pebble.LockDirectory(cfg.Dir, cfg.FS)
	if err != nil {
		return nil, fmt.Errorf("pebble: lock %s: %w", cfg.Dir, err)
	}
	s := &Store{
		cfg:         cfg,
		dir:         cfg.Dir,
		fs:          cfg.FS,
		log:         cfg.Logger.With("component", "pebble"),
		minFree:     cfg.MinFreeBytes,
		lock:        lock,
		cache:       pebble.NewCache(cfg.CacheSize),
		throttled:   newThrottle(cfg.MonitorInterval),
		limits:      cfg.Limits,
		lastSeqs:    newLastSeqCache(tagMessage, cfg.LastSeqCacheSize),
		lastInbox:   newLastSeqCache(tagInbox, cfg.LastSeqCacheSize),
		inboxHeads:  newInboxHeadCache(cfg.LastSeqCacheSize),
		convFences:  newConvFenceCache(cfg.LastSeqCacheSize),
		stop:        make(chan struct{}),
		monitorDone: make(chan struct{}),
		health:      health{reason: reasonOK},
		unsynced:    newUnsynced(),
	}
	fail := func(err error) (*Store, error) {
		if s.db != nil {
			_ = closeDB(s.db)
		}
		s.cache.Unref()
		_ = lock.Close()
		return nil, err
	}
	// Check before anything is written: a read-write open replays a WAL,
	// flushes it and deletes it, and with it the evidence of damage.
	rep, err := s.inspect(func(tableBytes uint64) bool {
		return cfg.Verify == VerifyFull || cfg.Verify == VerifyAuto && tableBytes <= uint64(cfg.VerifyFullMaxBytes)
	})
	if err != nil {
		return fail(err)
	}
	if len(rep.Damage) > 0 {
		return fail(fmt.Errorf("%w: %s: %s (run `switchboard store check --data-dir` for details)", ErrDamaged, cfg.Dir, rep.Damage[0]))
	}
	// Below the floor an existing store opens read-only; a new one is
	// created (a few KiB) and refuses writes through the floor check.
	ok, why := s.roomToWrite()
	readOnly := !ok && rep.Exists
	s.db, err = s.openDB(readOnly)
	if err != nil && !readOnly && rep.Exists && isNoSpace(err) {
		readOnly, why = true, err.Error()
		s.db, err = s.openDB(true)
	}
	if err != nil {
		return fail(fmt.Errorf("pebble: open %s: %w", cfg.Dir, err))
	}
	s.readOnly = readOnly
	if s.commitSeq, err = readCommit(s.db); err != nil {
		return fail(fmt.Errorf("pebble: open %s: %w", cfg.Dir, err))
	}
	s.acked.Store(s.commitSeq)
	s.watermark = s.commitSeq
	writableGauge.Reset()
	writableGauge.WithLabelValues(reasonOK).Set(1)
	switch {
	case s.readOnly:
		s.setHealth(reasonReadOnly, why)
	case !ok:
		s.setHealth(reasonDiskFull, why)
	}
	s.commit = newCommitter(s, cfg.CommitQueue, cfg.MaxGroupOps, cfg.MaxGroupBytes)
	go s.monitor()
	return s, nil
}

// options are the Pebble options for this store.
func (s *Store) options(readOnly bool) *pebble.Options {
	logger := slogLogger{l: s.log, t: s.throttled}
	var minSync func() time.Duration
	if d := s.cfg.SyncInterval; d > 0 {
		minSync = func() time.Duration { return d }
	}
	return &pebble.Options{
		FS:                 s.fs,
		Lock:               s.lock,
		Cache:              s.cache,
		MemTableSize:       s.cfg.MemTableSize,
		Logger:             logger,
		ReadOnly:           readOnly,
		FormatMajorVersion: pebble.FormatNewest, // WAL sync chunks: corruption is told from a torn tail
		WALMinSyncInterval: minSync,
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) {
				backgroundErrors.Inc()
				s.throttled.log(s.log, slog.LevelError, "background", "store background error", "err", err.Error())
			},
			DiskSlow: func(info pebble.DiskSlowInfo) {
				s.throttled.log(s.log, slog.LevelError, "disk-slow", "slow disk", "path", info.Path, "op", info.OpType.String(), "duration", info.Duration)
			},
		},
	}
}

// openDB opens the database, read-only when asked (nothing is written: a
// WAL is replayed into memory only).
func (s *Store) openDB(readOnly bool) (db *pebble.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked opening: %v", r)
		}
	}()
	return pebble.Open(s.dir, s.options(readOnly))
}

// readCommit reads the commit counter.
func readCommit(r pebble.Reader) (uint64, error) {
	v, found, err := get(r, metaCommitKey)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("commit counter is %d bytes, not 8", len(v))
	}
	return seqSuffix(v), nil
}

// Close completes queued writes and closes the database.
func (s *Store) Close() error {
	s.commit.close()
	close(s.stop)
	<-s.monitorDone
	s.writeWatermark()
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.db != nil && s.fatal == nil {
		err = closeDB(s.db)
	}
	s.db = nil
	s.cache.Unref()
	return errors.Join(err, s.lock.Close())
}
