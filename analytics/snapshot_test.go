package analytics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

func TestSnapshotRoundTrip(t *testing.T) {
	sd := seed()
	rng := rand.New(rand.NewPCG(sd, 2))
	cfg := randomConfig(rng)
	trace := randomTrace(rng, cfg)
	e := batch(t, cfg, trace)
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := newEngine(t, cfg)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	again, _ := r.Snapshot()
	if !bytes.Equal(snap, again) || !reflect.DeepEqual(e.Rows(Query{}), r.Rows(Query{})) {
		t.Fatalf("seed %d: round trip changed the state", sd)
	}
}

// TestRestoreBadInput: every truncation and many corruptions fail cleanly
// and leave the engine as it was.
func TestRestoreBadInput(t *testing.T) {
	cfg := DefaultConfig()
	e := newEngine(t, cfg)
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "c", at: sec}, msg{who: "a1", at: 3 * sec}, msg{who: "c", at: 40 * mn}))
	feed(t, e, events("c2", msg{who: "a2", at: 0}, msg{who: "c", at: 2 * sec}))
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	target := newEngine(t, cfg)
	feed(t, target, events("x", msg{who: "c", at: 0}))
	before, _ := target.Snapshot()
	check := func(what string, data []byte) {
		t.Helper()
		if err := target.Restore(data); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%s: %v", what, err)
		}
		if now, _ := target.Snapshot(); !bytes.Equal(now, before) {
			t.Fatalf("%s: engine changed", what)
		}
	}
	for n := range len(snap) {
		check("truncated", snap[:n])
	}
	for i := range len(snap) {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x41
		check("flipped", bad)
	}
	other := cfg
	other.ReplyThreshold = time.Second
	if err := newEngine(t, other).Restore(snap); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("different config: %v", err)
	}
}

// FuzzRestore feeds arbitrary bytes (with a valid checksum, to get past it)
// to the decoder.
func FuzzRestore(f *testing.F) {
	e, _ := New(DefaultConfig())
	for _, ev := range events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 3 * sec}, msg{who: "c", at: 40 * mn}) {
		_ = e.Process(ev)
	}
	snap, _ := e.Snapshot()
	f.Add(snap[:len(snap)-4])
	// With a business line and a rating.
	_ = e.Process(Event{Conv: "c2", Seq: 1, Role: storage.SenderSystem, ServerTS: base, Line: "cars"})
	for _, ev := range events("c2", msg{who: "sys"}, msg{who: "c", at: 0}, msg{who: "a2", at: 3 * sec}, rating(mn, "c2/1", 4, "a2"))[1:] {
		_ = e.Process(ev)
	}
	snap, _ = e.Snapshot()
	f.Add(snap[len(snapshotMagic) : len(snap)-4])
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(snapshotMagic), body...)
		data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, castagnoli))
		r, _ := New(DefaultConfig())
		if err := r.Restore(data); err == nil {
			r.Rows(Query{})
			_ = r.Process(Event{Conv: "c1", Seq: 1 << 40, Role: 1, ServerTS: base})
		}
	})
}

// A restored engine keeps the ratings and the last rated session: the
// same rating written again after the restore still counts once.
func TestSnapshotKeepsRatings(t *testing.T) {
	cfg := DefaultConfig()
	evs := events("c1", start(0, "cars"), assigned(sec, "a1", 0), closed(10*sec, false),
		rating(20*sec, "c1/1", 5, "a1"), rating(21*sec, "c1/1", 5, "a1"), rating(22*sec, "c1/2", 3, ""))
	e := newEngine(t, cfg)
	feed(t, e, evs[:4])
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := newEngine(t, cfg)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if row := only(t, r, time.Hour, "a1"); row.Ratings != 1 || row.AvgRating != 5 || row.CSATRate != 1 {
		t.Fatalf("restored a1 %+v", row)
	}
	feed(t, r, evs)
	if row := only(t, r, time.Hour, "a1"); row.Ratings != 1 {
		t.Errorf("a1 after the duplicate %+v", row)
	}
	if row := only(t, r, time.Hour, AllKey); row.Ratings != 2 || row.AvgRating != 4 || row.Satisfied != 1 {
		t.Errorf("* %+v", row)
	}
	whole := newEngine(t, cfg)
	feed(t, whole, evs)
	a, _ := whole.Snapshot()
	b, _ := r.Snapshot()
	if !bytes.Equal(a, b) {
		t.Error("restored and fed differs from fed straight through")
	}
}

// A snapshot of the version before the desk's missed sessions is
// refused, so the metrics grain recomputes from the log instead of going
// on without them.
func TestRestoreRefusesOldVersion(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: sec}))
	cp, err := e.Checkpoint("metrics/global", base)
	if err != nil {
		t.Fatal(err)
	}
	old := append([]byte("SBM\x06"), cp.State[len(snapshotMagic):len(cp.State)-4]...)
	cp.State = binary.LittleEndian.AppendUint32(old, crc32.Checksum(old, castagnoli))
	r := newEngine(t, DefaultConfig())
	if err := r.Restore(cp.State); !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), "version 7") {
		t.Errorf("version 6 snapshot: %v", err)
	}
	if err := r.RestoreCheckpoint(cp); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("version 6 checkpoint: %v", err)
	}
}
