package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/record"

	"github.com/switchboard-im/switchboard/storage"
)

// RepairReport is what Repair did.
type RepairReport struct {
	Before        Report   `json:"before"`
	MovedAside    []string `json:"moved_aside,omitempty"` // damaged files, now in AsideDir
	AsideDir      string   `json:"aside_dir,omitempty"`   // where they are
	Salvaged      int      `json:"salvaged_batches"`      // WAL records re-applied
	Conversations int      `json:"conversations_moved"`   // conversations whose seqs moved forward
	GapRows       int      `json:"gap_rows"`              // gap messages written
	After         Report   `json:"after"`
}

// Repair recovers what it can of a damaged store: the WALs are moved
// aside and every readable record in them (before and after the damage)
// is applied again; then every conversation's log is moved forward past
// the highest seq that may have been acknowledged (its reservation plus
// seqSkip, since the reservation itself may be lost) with gap messages,
// so no acknowledged seq is given to a new message. Damaged tables are not
// repaired: restore them from a backup.
func Repair(ctx context.Context, cfg Config, seqSkip uint64) (RepairReport, error) {
	cfg = cfg.withDefaults()
	var rr RepairReport
	before, err := Check(cfg, true)
	if err != nil {
		return rr, err
	}
	rr.Before = before
	if !before.Damaged() {
		rr.After = before
		return rr, nil
	}
	for _, d := range before.Damage {
		if d.Kind == "table" || d.Kind == "manifest" {
			return rr, fmt.Errorf("%w: cannot repair %s in place; restore the data directory from a backup", ErrDamaged, d)
		}
	}
	fs, dir := cfg.FS, cfg.Dir
	// Every WAL is moved aside and its readable records newer than the
	// tables are applied again in order: Pebble stops replaying at the
	// first damaged chunk (or takes it for the end), dropping acknowledged
	// records after it; reading on past the damage recovers them.
	var salvage [][]byte
	names := append([]string(nil), before.WALs...)
	sort.Slice(names, func(i, j int) bool { a, _ := walNum(names[i]); b, _ := walNum(names[j]); return a < b })
	if len(names) > 0 {
		rr.AsideDir = fs.PathJoin(dir, fmt.Sprintf("damaged-%d", time.Now().Unix()))
		if err := fs.MkdirAll(rr.AsideDir, 0o755); err != nil {
			return rr, err
		}
	}
	for _, name := range names {
		n, ok := walNum(name)
		if !ok {
			continue
		}
		recs, err := readWAL(cfg, name, n, before.TableSeq)
		if err != nil {
			return rr, err
		}
		salvage = append(salvage, recs...)
		if err := fs.Rename(fs.PathJoin(dir, name), fs.PathJoin(rr.AsideDir, name)); err != nil {
			return rr, err
		}
		rr.MovedAside = append(rr.MovedAside, name)
	}
	// The loss is now known and handled below: start a new watermark.
	if err := fs.Remove(fs.PathJoin(dir, watermarkFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return rr, err
	}
	cfg.Verify = VerifyFiles
	s, err := Open(cfg)
	if err != nil {
		return rr, err
	}
	for _, repr := range salvage {
		b := s.db.NewBatch()
		if err := b.SetRepr(repr); err == nil {
			err = applySync(s.db, b)
		}
		_ = b.Close()
		if err != nil {
			_ = s.Close()
			return rr, fmt.Errorf("re-applying a salvaged WAL record: %w", err)
		}
		rr.Salvaged++
	}
	// The salvaged records carry their commit counters: continue above.
	commit, err := readCommit(s.db)
	if err != nil {
		_ = s.Close()
		return rr, err
	}
	s.commitSeq = max(s.commitSeq, commit) // before any write: the committer reads it
	if err := s.moveSeqsForward(ctx, seqSkip, &rr); err != nil {
		_ = s.Close()
		return rr, err
	}
	if err := s.Close(); err != nil {
		return rr, err
	}
	rr.After, err = Check(cfg, true)
	return rr, err
}

// readWAL returns the readable records of a WAL whose batches are newer
// than tableSeq, skipping damaged blocks.
func readWAL(cfg Config, name string, num, tableSeq uint64) ([][]byte, error) {
	f, err := cfg.FS.Open(cfg.FS.PathJoin(cfg.Dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	var logNum = pebble.SSTableInfo{}.BackingSSTNum
	setNum(&logNum, num)
	const block = 32 << 10 // the WAL's block size: chunks never straddle one
	var out [][]byte
	for off := int64(0); off < size; {
		r := record.NewReader(io.NewSectionReader(f, off, size-off), logNum)
		for {
			at := r.Offset() // where the next record starts
			rec, err := r.Next()
			var b []byte
			if err == nil {
				b, err = io.ReadAll(rec)
			}
			if err != nil {
				// Damage (which the reader may also report as the end):
				// read on from the block after the one the failed record
				// starts in, to the file's end.
				off += (at/block + 1) * block
				break
			}
			if len(b) >= 12 && binary.LittleEndian.Uint64(b) > tableSeq {
				out = append(out, b) // else already in a table
			}
		}
	}
	return out, nil
}

func setNum[T ~uint64](p *T, v uint64) { *p = T(v) }

// moveSeqsForward writes gap messages above every conversation's log up to
// max(reserved, last) + skip and raises the reservation to match.
func (s *Store) moveSeqsForward(ctx context.Context, skip uint64, rr *RepairReport) error {
	cursor := ""
	for {
		page, next, err := s.ListConversations(ctx, cursor, 1000)
		if err != nil {
			return err
		}
		for _, head := range page {
			c, err := s.GetConversation(ctx, head.ID)
			if err != nil {
				return err
			}
			target := max(c.ReservedSeq, c.LastSeq) + skip
			if target <= c.LastSeq {
				continue
			}
			now := time.Now()
			for from := c.LastSeq + 1; from <= target; {
				to := min(target, from+uint64(s.limits.MaxBatch)-1)
				var gaps []storage.Message
				for seq := from; seq <= to; seq++ {
					gaps = append(gaps, storage.GapMessage(c.ID, seq, now))
				}
				if err := s.AppendMessages(ctx, c.ID, 0, gaps); err != nil {
					return fmt.Errorf("conversation %q: %w", c.ID, err)
				}
				rr.GapRows += len(gaps)
				from = to + 1
			}
			if err := s.ReserveSeqs(ctx, c.ID, c.Epoch, target); err != nil {
				return fmt.Errorf("conversation %q: %w", c.ID, err)
			}
			rr.Conversations++
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
