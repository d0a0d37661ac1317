package pebblestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	cpebble "github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// populate writes n acknowledged messages to conversation c1, each in its
// own commit, reserving seqs ahead as a grain does, and closes the store.
func populate(t *testing.T, dir string, n uint64) {
	t.Helper()
	s, err := pebblestore.Open(pebblestore.Config{Dir: dir, MonitorInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	epoch, err := s.AcquireEpoch(ctx, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= n; seq++ {
		if seq%50 == 1 {
			if err := s.ReserveSeqs(ctx, "c1", epoch, seq+49); err != nil {
				t.Fatal(err)
			}
		}
		m := msg("c1", seq)
		m.Body = []byte(strings.Repeat("x", 200))
		if err := s.AppendMessages(ctx, "c1", 0, []storage.Message{m}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func files(t *testing.T, dir, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	if len(m) == 0 {
		t.Fatalf("no %s files in %s", suffix, dir)
	}
	return m
}

// flushToTables moves everything from the WAL into tables (Pebble's own
// flush), so table damage can be made.
func flushToTables(t *testing.T, dir string) {
	t.Helper()
	db, err := cpebble.Open(dir, &cpebble.Options{FormatMajorVersion: cpebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func overwrite(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	junk := make([]byte, 64)
	for i := range junk {
		junk[i] = byte(0xA5 ^ i)
	}
	if _, err := f.WriteAt(junk, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func newest(paths []string) string {
	sort.Slice(paths, func(i, j int) bool {
		a, _ := os.Stat(paths[i])
		b, _ := os.Stat(paths[j])
		return a.Size() < b.Size()
	})
	return paths[len(paths)-1]
}

func TestDamageIsNeverSilent(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		kinds  string // what the check may call it
	}{
		{"wal truncated", func(t *testing.T, dir string) {
			wal := newest(files(t, dir, ".log"))
			st, _ := os.Stat(wal)
			if err := os.Truncate(wal, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "acked_missing"},
		{"wal overwritten", func(t *testing.T, dir string) {
			overwrite(t, newest(files(t, dir, ".log")))
		}, "wal acked_missing"}, // Pebble may take the damage for the WAL's end; the watermark does not
		{"table overwritten", func(t *testing.T, dir string) {
			flushToTables(t, dir)
			overwrite(t, newest(files(t, dir, ".sst")))
		}, "table"},
		{"table deleted", func(t *testing.T, dir string) {
			flushToTables(t, dir)
			if err := os.Remove(newest(files(t, dir, ".sst"))); err != nil {
				t.Fatal(err)
			}
		}, "table"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			populate(t, dir, 300)
			tc.damage(t, dir)
			_, err := pebblestore.Open(pebblestore.Config{Dir: dir})
			if !errors.Is(err, pebblestore.ErrDamaged) {
				t.Fatalf("open: %v, want ErrDamaged", err)
			}
			t.Logf("open refused: %v", err)
			rep, err := pebblestore.Check(pebblestore.Config{Dir: dir}, true)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Damaged() || !strings.Contains(tc.kinds, rep.Damage[0].Kind) {
				t.Fatalf("check: %+v, want %s damage", rep.Damage, tc.kinds)
			}
		})
	}
}

func TestUndamagedOpens(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir, 100)
	flushToTables(t, dir)
	rep, err := pebblestore.Check(pebblestore.Config{Dir: dir}, true)
	if err != nil || rep.Damaged() {
		t.Fatalf("check: %+v %v", rep, err)
	}
	s, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.GetConversation(context.Background(), "c1"); err != nil || c.LastSeq != 100 {
		t.Fatalf("after open: %+v %v", c, err)
	}
	_ = s.Close()
}

// Repair recovers the readable records of a damaged WAL and moves the
// conversation past every seq that may have been acknowledged.
func TestRepair(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(path string)
		// minKept is how many of the 300 acked messages must survive.
		minKept int
	}{
		{"wal truncated", func(p string) { st, _ := os.Stat(p); _ = os.Truncate(p, st.Size()/2) }, 140},
		{"wal overwritten", func(p string) { overwrite(t, p) }, 200}, // loses the damaged 32 KiB block from the damage on
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			populate(t, dir, 300)
			tc.damage(newest(files(t, dir, ".log")))
			cfg := pebblestore.Config{Dir: dir}
			rr, err := pebblestore.Repair(context.Background(), cfg, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if rr.After.Damaged() {
				t.Fatalf("still damaged: %+v", rr.After.Damage)
			}
			t.Logf("salvaged %d records, %d gap rows", rr.Salvaged, rr.GapRows)
			s, err := pebblestore.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			c, err := s.GetConversation(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			// Seqs up to 300 were acknowledged (their reservation may be
			// lost): none of them may be handed to a new message.
			if c.LastSeq < 300 || c.ReservedSeq < c.LastSeq {
				t.Fatalf("head after repair: %+v", c)
			}
			kept := 0
			for seq := uint64(1); seq <= 300; seq++ {
				m, err := s.GetMessage(ctx, "c1", seq)
				switch {
				case err == nil && m.Kind == storage.MsgNormal:
					kept++
				case err == nil && m.Kind == storage.MsgSystem:
				case errors.Is(err, storage.ErrNotFound):
				default:
					t.Fatalf("seq %d: %+v %v", seq, m, err)
				}
			}
			if kept < tc.minKept {
				t.Fatalf("kept %d of 300 acked messages, want at least %d", kept, tc.minKept)
			}
			t.Logf("kept %d of 300", kept)
			if err := s.AppendMessages(ctx, "c1", 0, []storage.Message{msg("c1", c.LastSeq+1)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
