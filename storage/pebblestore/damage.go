package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// watermarkFile records the last acknowledged commit counter, written
// outside Pebble every MonitorInterval. A store whose commit counter is
// below it lost acknowledged writes (a truncated WAL looks like a clean
// end to Pebble and would otherwise go unnoticed).
const watermarkFile = "SWITCHBOARD-ACKED"

// Damage is one problem found in a data directory.
type Damage struct {
	Kind   string `json:"kind"` // wal, table, manifest, acked_missing
	File   string `json:"file,omitempty"`
	Detail string `json:"detail"`
}

func (d Damage) String() string {
	if d.File != "" {
		return fmt.Sprintf("%s damage in %s: %s", d.Kind, d.File, d.Detail)
	}
	return fmt.Sprintf("%s damage: %s", d.Kind, d.Detail)
}

// Report is what a check found.
type Report struct {
	Dir    string `json:"dir"`
	Exists bool   `json:"exists"`
	Tables int    `json:"tables"`
	// TableBytes is the tables' total size; Checksums says whether every
	// table was read and its checksums verified.
	TableBytes uint64   `json:"table_bytes"`
	Checksums  bool     `json:"checksums_verified"`
	WALs       []string `json:"wals,omitempty"`
	Commit     uint64   `json:"commit"` // commit counter in the store
	Acked      uint64   `json:"acked"`  // last acknowledged commit counter (watermark)
	// TableSeq is the highest Pebble sequence number in tables: WAL records
	// at or below it are already in tables.
	TableSeq uint64   `json:"table_seq"`
	Damage   []Damage `json:"damage,omitempty"`
}

// Damaged reports whether anything is damaged.
func (r Report) Damaged() bool { return len(r.Damage) > 0 }

// Check inspects the store in cfg.Dir without writing to it. full also
// reads every table and verifies its checksums. It fails only when it
// cannot look (the directory is in use, unreadable); damage is reported.
func Check(cfg Config, full bool) (Report, error) {
	cfg = cfg.withDefaults()
	lock, err := pebble.LockDirectory(cfg.Dir, cfg.FS)
	if err != nil {
		return Report{}, fmt.Errorf("pebble: lock %s (is a node running on it?): %w", cfg.Dir, err)
	}
	defer lock.Close()
	s := &Store{cfg: cfg, dir: cfg.Dir, fs: cfg.FS, log: cfg.Logger, lock: lock,
		cache: pebble.NewCache(cfg.CacheSize), throttled: newThrottle(cfg.MonitorInterval)}
	defer s.cache.Unref()
	return s.inspect(func(uint64) bool { return full })
}

// inspect opens the store read-only (nothing is written) and checks it.
// full decides from the tables' total size whether to read them all.
func (s *Store) inspect(full func(tableBytes uint64) bool) (Report, error) {
	rep := Report{Dir: s.dir}
	acked, err := readWatermark(s.fs, s.dir)
	if err != nil {
		rep.Damage = append(rep.Damage, Damage{Kind: "watermark", File: watermarkFile, Detail: err.Error()})
	}
	rep.Acked = acked
	desc, err := pebble.Peek(s.dir, s.fs)
	if err != nil {
		return rep, fmt.Errorf("pebble: look at %s: %w", s.dir, err)
	}
	rep.Exists = desc.Exists
	names, err := s.fs.List(s.dir)
	if err != nil {
		return rep, fmt.Errorf("pebble: list %s: %w", s.dir, err)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, ".log") {
			rep.WALs = append(rep.WALs, n)
		}
	}
	if !desc.Exists {
		if acked > 0 {
			rep.Damage = append(rep.Damage, Damage{Kind: "manifest", Detail: fmt.Sprintf("no store here, but commit %d was acknowledged", acked)})
		}
		return rep, nil
	}
	db, err := s.openDB(true)
	if err != nil {
		rep.Damage = append(rep.Damage, openDamage(err))
		return rep, nil
	}
	defer func() { _ = closeDB(db) }()
	tables, err := db.SSTables()
	if err != nil {
		return rep, fmt.Errorf("pebble: list tables: %w", err)
	}
	for _, level := range tables {
		for _, t := range level {
			rep.Tables++
			rep.TableBytes += t.Size
			rep.TableSeq = max(rep.TableSeq, uint64(t.LargestSeqNum))
			if t.Virtual {
				continue
			}
			name := fmt.Sprintf("%06d.sst", uint64(t.BackingSSTNum))
			st, err := s.fs.Stat(s.fs.PathJoin(s.dir, name))
			switch {
			case err != nil:
				rep.Damage = append(rep.Damage, Damage{Kind: "table", File: name, Detail: fmt.Sprintf("missing: %v", err)})
			case uint64(st.Size()) != t.Size:
				rep.Damage = append(rep.Damage, Damage{Kind: "table", File: name, Detail: fmt.Sprintf("%d bytes, the manifest says %d", st.Size(), t.Size)})
			}
		}
	}
	if rep.Commit, err = readCommit(db); err != nil {
		rep.Damage = append(rep.Damage, Damage{Kind: "table", Detail: fmt.Sprintf("reading the commit counter: %v", err)})
	}
	if rep.Commit < rep.Acked {
		rep.Damage = append(rep.Damage, Damage{Kind: "acked_missing", Detail: fmt.Sprintf(
			"commits %d to %d were acknowledged but are not in the store (the WAL was truncated, damaged or lost)", rep.Commit+1, rep.Acked)})
	}
	if full(rep.TableBytes) && len(rep.Damage) == 0 {
		rep.Checksums = true
		if err := checkTables(db); err != nil {
			rep.Damage = append(rep.Damage, Damage{Kind: "table", Detail: err.Error()})
		}
	}
	return rep, nil
}

// checkTables reads every key of every level, verifying block checksums.
func checkTables(db *pebble.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading tables panicked: %v", r)
		}
	}()
	return db.CheckLevels(nil)
}

// openDamage describes why the store did not open.
func openDamage(err error) Damage {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WAL") || strings.Contains(msg, ".log"):
		return Damage{Kind: "wal", File: fileIn(msg, ".log"), Detail: msg}
	case strings.Contains(msg, ".sst") || errors.Is(err, os.ErrNotExist):
		return Damage{Kind: "table", File: fileIn(msg, ".sst"), Detail: msg}
	case strings.Contains(msg, "MANIFEST"):
		return Damage{Kind: "manifest", Detail: msg}
	}
	return Damage{Kind: "store", Detail: msg}
}

// fileIn returns the first word of msg ending in suffix (a file name).
func fileIn(msg, suffix string) string {
	for _, w := range strings.FieldsFunc(msg, func(r rune) bool { return r == ' ' || r == ':' || r == '"' || r == '/' || r == '(' || r == ')' }) {
		if strings.HasSuffix(w, suffix) {
			return w
		}
	}
	return ""
}

// readWatermark returns the recorded acknowledged commit counter (0 if
// the file does not exist).
func readWatermark(fs vfs.FS, dir string) (uint64, error) {
	f, err := fs.Open(fs.PathJoin(dir, watermarkFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("watermark is %d bytes, not 8", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// writeWatermarkFile replaces the watermark durably (write, sync, rename,
// sync the directory).
func writeWatermarkFile(fs vfs.FS, dir string, acked uint64) error {
	tmp := fs.PathJoin(dir, watermarkFile+".tmp")
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = f.Write(binary.BigEndian.AppendUint64(nil, acked))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, fs.PathJoin(dir, watermarkFile))
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return err
	}
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeWatermark records the last acknowledged commit if it moved.
func (s *Store) writeWatermark() {
	acked := s.acked.Load()
	if acked <= s.watermark {
		return
	}
	if err := writeWatermarkFile(s.fs, s.dir, acked); err != nil {
		s.throttled.log(s.log, slog.LevelError, "watermark", "writing the acknowledged-commit watermark failed", "err", err)
		return
	}
	s.watermark = acked
}

// walNum parses a WAL file name (000123.log).
func walNum(name string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSuffix(name, ".log"), 10, 64)
	return n, err == nil && strings.HasSuffix(name, ".log")
}
