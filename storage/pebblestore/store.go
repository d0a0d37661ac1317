// Package pebble is the embedded Store: one node, no setup, data in a
// directory. Writes go through a durable group commit (commit.go); keys are
// laid out in keys.go.
package pebblestore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/switchboard-im/switchboard/storage"
)

// Config configures the embedded store. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// Dir is the data directory; created if missing.
	Dir string
	// Limits are the size limits enforced before writing.
	Limits storage.Limits
	// CommitQueue is how many write requests may wait for the committer
	// before callers block (default 8192).
	CommitQueue int
	// MaxGroupOps caps the requests sharing one WAL sync (default 4096).
	MaxGroupOps int
	// MaxGroupBytes caps the size of one group's batch (default 8 MiB).
	MaxGroupBytes int
	// SyncInterval is the shortest time between two WAL fsyncs (default
	// 1ms; negative: sync as soon as asked). Groups that become ready
	// meanwhile share the next fsync: under load an ack waits at most this
	// much longer, and the node makes far fewer fsyncs, each of which
	// costs tens of µs of kernel CPU. An idle store syncs at once.
	SyncInterval time.Duration
	// MemTableSize is Pebble's memtable size (default 64 MiB).
	MemTableSize uint64
	// CacheSize is Pebble's block cache size (default 128 MiB).
	CacheSize int64
	// LastSeqCacheSize bounds how many conversations' highest seq the
	// committer remembers to skip existence reads (default 1<<20).
	LastSeqCacheSize int
	// Logger receives Pebble's log lines (default slog.Default()).
	Logger *slog.Logger
	// MinFreeBytes is the free-space floor: below it the store refuses
	// writes with storage.ErrUnavailable (reads go on) and resumes by
	// itself once space is back. Default 2×MemTableSize, room for one
	// memtable flush plus the next WAL; negative disables the check.
	MinFreeBytes int64
	// MonitorInterval is how often the store writes its watermark, checks
	// free space while refusing writes and tries to recover (default
	// 250ms); repeated background errors are logged at most this often.
	MonitorInterval time.Duration
	// Verify selects the checks on open: VerifyFull also reads every table
	// and checks its checksums (about 10 MB of tables a second on a busy
	// 2-core machine); VerifyFiles checks the WAL, that every table exists
	// with its size, and the watermark; VerifyAuto (default) is full up to
	// VerifyFullMaxBytes of tables (default 256 MiB), files above.
	Verify             Verify
	VerifyFullMaxBytes int64
	// FS is the file system (default the OS's); tests inject faults here.
	FS vfs.FS
}

// DefaultConfig returns the defaults for dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:                dir,
		Limits:             storage.DefaultLimits(),
		CommitQueue:        8192,
		MaxGroupOps:        4096,
		MaxGroupBytes:      8 << 20,
		SyncInterval:       time.Millisecond,
		MemTableSize:       64 << 20,
		CacheSize:          128 << 20,
		LastSeqCacheSize:   1 << 20,
		Logger:             slog.Default(),
		MinFreeBytes:       2 * (64 << 20),
		MonitorInterval:    250 * time.Millisecond,
		Verify:             VerifyAuto,
		VerifyFullMaxBytes: 256 << 20,
		FS:                 vfs.Default,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig(c.Dir)
	c.Limits = c.Limits.WithDefaults()
	if c.CommitQueue <= 0 {
		c.CommitQueue = d.CommitQueue
	}
	if c.MaxGroupOps <= 0 {
		c.MaxGroupOps = d.MaxGroupOps
	}
	if c.MaxGroupBytes <= 0 {
		c.MaxGroupBytes = d.MaxGroupBytes
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = d.SyncInterval
	}
	if c.MemTableSize == 0 {
		c.MemTableSize = d.MemTableSize
	}
	if c.CacheSize <= 0 {
		c.CacheSize = d.CacheSize
	}
	if c.LastSeqCacheSize <= 0 {
		c.LastSeqCacheSize = d.LastSeqCacheSize
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = 2 * int64(c.MemTableSize)
	}
	if c.MonitorInterval <= 0 {
		c.MonitorInterval = d.MonitorInterval
	}
	if c.Verify == "" {
		c.Verify = d.Verify
	}
	if c.VerifyFullMaxBytes <= 0 {
		c.VerifyFullMaxBytes = d.VerifyFullMaxBytes
	}
	if c.FS == nil {
		c.FS = d.FS
	}
	return c
}

// get reads a key from r (the db, or a group batch inside a writeOp); found
// is false when the key does not exist.
func get(r pebble.Reader, k []byte) (val []byte, found bool, err error) {
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val = append([]byte(nil), v...)
	return val, true, closer.Close()
}

func exists(r pebble.Reader, k []byte) (bool, error) {
	_, found, err := get(r, k)
	return found, err
}

// scan calls fn for each key/value in [lower, upper) in order (reverse when
// asked) until fn returns false.
func (s *Store) scan(lower, upper []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	return s.read(func(db *pebble.DB) error { return scanDB(db, lower, upper, reverse, fn) })
}

// sget is get on the current database.
func (s *Store) sget(k []byte) (val []byte, found bool, err error) {
	err = s.read(func(db *pebble.DB) error {
		val, found, err = get(db, k)
		return err
	})
	return val, found, err
}

func scanDB(db *pebble.DB, lower, upper []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	valid := it.First
	next := it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	for ok := valid(); ok; ok = next() {
		more, err := fn(it.Key(), it.Value())
		if err != nil {
			_ = it.Close()
			return err
		}
		if !more {
			break
		}
	}
	return it.Close()
}

// slogLogger adapts Pebble's logger to slog; errors repeating the same
// format are logged at most once per interval.
type slogLogger struct {
	l *slog.Logger
	t *throttle
}

func (s slogLogger) Infof(format string, args ...any) {
	s.l.Debug(fmt.Sprintf(format, args...))
}
func (s slogLogger) Errorf(format string, args ...any) {
	s.t.log(s.l, slog.LevelError, format, fmt.Sprintf(format, args...))
}
func (s slogLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.l.Error(msg)
	panic(fatalPanic(msg))
}

// fatalPanic is what Fatalf panics with. Pebble calls Fatalf without
// holding its commit lock when a commit fails, so the committer can close
// and reopen the database; any other panic in a commit (Pebble panics on a
// WAL write error while holding that lock) leaves a restart as the only way.
type fatalPanic string
