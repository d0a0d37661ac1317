package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Conformance: messages — pages, appends (plain, fenced, async), client ids, tombstones.

func testMessages(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	var batch []storage.Message
	for seq := uint64(1); seq <= 10; seq++ {
		batch = append(batch, msg(cid, seq, "alice", fmt.Sprintf("m%d", seq)))
	}
	batch[3].ClientMsgID = "k4"
	batch[4].Kind, batch[4].RefSeq, batch[4].Body = storage.MsgRecall, 2, nil
	batch[5].Flags = storage.FlagFlagged
	batch[6].ClientTS = time.Time{}
	batch[7].ReplyTo = 4
	batch[6].Mentions = []string{"bob", "carol"}
	batch[8].Media = storage.MediaRef{ID: "0123456789abcdef0123456789abcdef", Name: "listing photo.jpg", MIME: "image/jpeg", Size: 300000,
		Preview: storage.Preview{Width: 4032, Height: 3024, Thumb: []byte{0xff, 0xd8, 0, 1, 0xff, 0xd9}}}
	batch[9].Media, batch[9].ReplyTo = storage.MediaRef{ID: "m2", Name: "a", MIME: "text/plain", Size: 1}, 9
	// Disappearing: alone, after a file without a preview, after one with.
	batch[1].ExpiresAt = batch[1].ServerTS.Add(time.Hour)
	batch[9].ExpiresAt = batch[9].ServerTS.Add(24 * time.Hour)
	batch[8].ExpiresAt = batch[8].ServerTS.Add(time.Minute)
	// A file's length: a voice note alone, and with an end.
	batch[2].Media = storage.MediaRef{ID: "m3", Name: "note.ogg", MIME: "audio/ogg", Size: 9, Preview: storage.Preview{DurationMs: 42_000}}
	batch[3].Media = storage.MediaRef{ID: "m4", Name: "clip.mp4", MIME: "video/mp4", Size: 9, Preview: storage.Preview{Width: 2, Height: 2, DurationMs: 7}}
	batch[3].ExpiresAt = batch[3].ServerTS.Add(time.Hour)
	// A location: alone, with a caption and a reply, with an end, and
	// at the edges of its ranges.
	batch[0].Location = &storage.Location{Lat: 52.520008, Lng: 13.404954, Name: "Café am Markt"}
	batch[7].Location = &storage.Location{Lat: -90, Lng: 180, LiveUntil: time.UnixMilli(1796600000123)} // a live share
	batch[1].Location = &storage.Location{Lat: 0, Lng: -180, Name: "null island"}
	// The app's meta: alone (an older row's fields all empty before it),
	// beside a place, and a value that is empty or not ASCII.
	batch[9].Meta = map[string]string{"order": "A-1001"}
	batch[0].Meta = map[string]string{"listing": "7", "price": "120 €", "note": ""}
	must(t, s.AppendMessages(c, cid, 0, batch[:6]))
	must(t, s.AppendMessages(c, cid, 0, batch[6:]))

	for _, want := range batch {
		got, err := s.GetMessage(c, cid, want.Seq)
		must(t, err)
		if !equalMessage(got, want) {
			t.Fatalf("seq %d: got %+v, want %+v", want.Seq, got, want)
		}
	}
	_, err := s.GetMessage(c, cid, 11)
	wantErr(t, err, storage.ErrNotFound)

	page, err := s.ListMessages(c, cid, 1, 0, storage.NewestFirst, 3)
	must(t, err)
	eqSeqs(t, page, 10, 9, 8)
	page, err = s.ListMessages(c, cid, 1, 7, storage.NewestFirst, 3)
	must(t, err)
	eqSeqs(t, page, 7, 6, 5)
	page, err = s.ListMessages(c, cid, 4, 0, storage.OldestFirst, 3)
	must(t, err)
	eqSeqs(t, page, 4, 5, 6)
	page, err = s.ListMessages(c, cid, 9, 20, storage.OldestFirst, 10)
	must(t, err)
	eqSeqs(t, page, 9, 10)
	page, err = s.ListMessages(c, cid, 8, 3, storage.OldestFirst, 10)
	must(t, err)
	eqSeqs(t, page)
	page, err = s.ListMessages(c, id("empty"), 1, 0, storage.NewestFirst, 10)
	must(t, err)
	eqSeqs(t, page)

	// A tombstone takes the location and the meta with the text.
	must(t, s.TombstoneMessage(c, cid, 1))
	if got, err := s.GetMessage(c, cid, 1); err != nil || !got.Recalled() || got.Location != nil || got.Meta != nil || len(got.Body) != 0 {
		t.Fatalf("a tombstoned location: %+v %v", got, err)
	}
}

// equalMessage compares with the store's documented precision and with nil
// and empty bodies equal.
func equalMessage(a, b storage.Message) bool {
	a.ClientTS, a.ServerTS, a.ExpiresAt = storage.Millis(a.ClientTS), storage.Millis(a.ServerTS), storage.Millis(a.ExpiresAt)
	b.ClientTS, b.ServerTS, b.ExpiresAt = storage.Millis(b.ClientTS), storage.Millis(b.ServerTS), storage.Millis(b.ExpiresAt)
	if !bytes.Equal(a.Body, b.Body) {
		return false
	}
	a.Body, b.Body = nil, nil
	return a.ConvID == b.ConvID && a.Seq == b.Seq && a.MsgID == b.MsgID && a.ClientMsgID == b.ClientMsgID &&
		a.Sender == b.Sender && a.SenderRole == b.SenderRole && a.Kind == b.Kind && a.RefSeq == b.RefSeq && a.ReplyTo == b.ReplyTo &&
		slices.Equal(a.Mentions, b.Mentions) && reflect.DeepEqual(a.Media, b.Media) && reflect.DeepEqual(a.Location, b.Location) && maps.Equal(a.Meta, b.Meta) &&
		a.Flags == b.Flags && a.ClientTS.Equal(b.ClientTS) && a.ServerTS.Equal(b.ServerTS) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// testMessagesManyPages crosses many backend partitions (CQL buckets).
func testMessagesManyPages(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	const n = 2600
	must(t, s.CreateConversation(c, storage.Conversation{ID: cid, Kind: storage.KindGroup}))
	for from := uint64(1); from <= n; from += 100 {
		var batch []storage.Message
		for seq := from; seq < from+100 && seq <= n; seq++ {
			batch = append(batch, msg(cid, seq, "u", "x"))
		}
		must(t, s.AppendMessages(c, cid, 0, batch))
	}
	head, err := s.GetConversation(c, cid)
	must(t, err)
	if head.LastSeq != n {
		t.Fatalf("last seq %d, want %d", head.LastSeq, n)
	}
	// Walk the whole log newest first, 333 at a time.
	next := uint64(n)
	for next > 0 {
		page, err := s.ListMessages(c, cid, 1, next, storage.NewestFirst, 333)
		must(t, err)
		for _, m := range page {
			if m.Seq != next {
				t.Fatalf("newest-first walk: got %d, want %d", m.Seq, next)
			}
			next--
		}
		if len(page) == 0 {
			t.Fatalf("empty page with %d left", next)
		}
	}
	// And oldest first across bucket edges.
	page, err := s.ListMessages(c, cid, 995, 2005, storage.OldestFirst, 2000)
	must(t, err)
	if len(page) != 2005-995+1 || page[0].Seq != 995 || page[len(page)-1].Seq != 2005 {
		t.Fatalf("oldest-first range: %d messages from %d", len(page), page[0].Seq)
	}
	for i := 1; i < len(page); i++ {
		if page[i].Seq != page[i-1].Seq+1 {
			t.Fatalf("gap at %d", page[i].Seq)
		}
	}
}

func testAppendExistingSeq(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	must(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 1, "alice", "first")}))
	err := s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 1, "mallory", "overwrite")})
	wantErr(t, err, storage.ErrSeqExists)
	got, err := s.GetMessage(c, cid, 1)
	must(t, err)
	if string(got.Body) != "first" || got.Sender != "alice" {
		t.Fatalf("existing message overwritten: %+v", got)
	}
	// Concurrent writers of the same seq: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 2, fmt.Sprintf("w%d", i), "race")})
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, storage.ErrSeqExists) {
				t.Errorf("append: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d writers of seq 2 succeeded, want 1", wins.Load())
	}
}

// testFencedAppend: appends with an epoch. A writer whose epoch moved on
// is told ErrEpochLost and nothing it writes afterwards shows, neither
// above the log (the takeover closed its range) nor over the new writer's
// rows.
func testFencedAppend(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	body := func(ms []storage.Message) string {
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%d:%s ", m.Seq, m.Body)
		}
		return b.String()
	}
	wantErr(t, s.AppendMessages(c, id("nohead"), 1, []storage.Message{msg(id("nohead"), 1, "a", "x")}), storage.ErrEpochLost)
	must(t, s.CreateConversation(c, storage.Conversation{ID: cid, Kind: storage.KindGroup}))
	e1, err := s.AcquireEpoch(c, cid, 0)
	must(t, err)
	must(t, s.ReserveSeqs(c, cid, e1, 10))
	must(t, s.AppendMessages(c, cid, e1, []storage.Message{msg(cid, 1, "a", "e1"), msg(cid, 2, "a", "e1")}))
	done := make(chan error, 1)
	s.AppendMessagesAsync(c, cid, e1, []storage.Message{msg(cid, 3, "a", "e1")}, func(err error) { done <- err })
	must(t, <-done)
	wantErr(t, s.AppendMessages(c, cid, e1, []storage.Message{msg(cid, 11, "a", "unreserved")}), storage.ErrInvalid)

	e2, err := s.AcquireEpoch(c, cid, e1)
	must(t, err)
	must(t, s.ReserveSeqs(c, cid, e2, 20))
	// The stale writer, inside its old reservation: refused, and invisible.
	wantErr(t, s.AppendMessages(c, cid, e1, []storage.Message{msg(cid, 4, "a", "stale"), msg(cid, 5, "a", "stale")}), storage.ErrEpochLost)
	s.AppendMessagesAsync(c, cid, e1, []storage.Message{msg(cid, 6, "a", "stale")}, func(err error) { done <- err })
	wantErr(t, <-done, storage.ErrEpochLost)
	page, err := s.ListMessages(c, cid, 1, 0, storage.OldestFirst, 100)
	must(t, err)
	if got := body(page); got != "1:e1 2:e1 3:e1 " {
		t.Fatalf("after the stale writes: %s", got)
	}
	// The current writer takes those seqs; a stale rewrite does not win.
	must(t, s.AppendMessages(c, cid, e2, []storage.Message{msg(cid, 4, "b", "e2"), msg(cid, 5, "b", "e2")}))
	wantErr(t, s.AppendMessages(c, cid, e1, []storage.Message{msg(cid, 5, "a", "stale")}), storage.ErrEpochLost)
	page, err = s.ListMessages(c, cid, 1, 0, storage.OldestFirst, 100)
	must(t, err)
	if got := body(page); got != "1:e1 2:e1 3:e1 4:e2 5:e2 " {
		t.Fatalf("history %s", got)
	}
	head, err := s.GetConversation(c, cid)
	must(t, err)
	if head.LastSeq != 5 || head.Epoch != e2 {
		t.Fatalf("head %+v", head)
	}
	// Recall of a fenced row sticks.
	must(t, s.TombstoneMessage(c, cid, 4))
	got, err := s.GetMessage(c, cid, 4)
	must(t, err)
	if !got.Recalled() || len(got.Body) != 0 {
		t.Fatalf("tombstone of a fenced row: %+v", got)
	}
	// The next epoch adopts rows earlier epochs wrote (a retry it answers
	// as a duplicate): they stay as they are, the recall included; a seq
	// holding another message, or none, is not adopted; a stale epoch
	// cannot adopt.
	e3, err := s.AcquireEpoch(c, cid, e2)
	must(t, err)
	must(t, s.AdoptMessage(c, cid, e3, 1, "a", ""))
	must(t, s.AdoptMessage(c, cid, e3, 4, "b", ""))
	wantErr(t, s.AdoptMessage(c, cid, e3, 5, "a", ""), storage.ErrNotFound)
	wantErr(t, s.AdoptMessage(c, cid, e3, 5, "b", "other"), storage.ErrNotFound)
	wantErr(t, s.AdoptMessage(c, cid, e3, 9, "b", ""), storage.ErrNotFound)
	page, err = s.ListMessages(c, cid, 1, 0, storage.OldestFirst, 100)
	must(t, err)
	if got := body(page); got != "1:e1 2:e1 3:e1 4: 5:e2 " {
		t.Fatalf("after adopting: %s", got)
	}
	if got, err := s.GetMessage(c, cid, 4); err != nil || !got.Recalled() {
		t.Fatalf("an adopted recalled row: %+v %v", got, err)
	}
	wantErr(t, s.AdoptMessage(c, cid, e2, 1, "a", ""), storage.ErrEpochLost)
}

func testAppendAsync(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	const n = 200
	errs := make(chan error, n)
	for seq := uint64(1); seq <= n; seq++ {
		s.AppendMessagesAsync(c, cid, 0, []storage.Message{msg(cid, seq, "a", "x")}, func(err error) { errs <- err })
	}
	for i := 0; i < n; i++ {
		must(t, <-errs)
	}
	page, err := s.ListMessages(c, cid, 1, 0, storage.OldestFirst, n+1)
	must(t, err)
	if len(page) != n {
		t.Fatalf("%d messages stored, want %d", len(page), n)
	}
	// A cancelled context reports through done, not a panic or a hang.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	s.AppendMessagesAsync(cancelled, cid, 0, []storage.Message{msg(cid, n+1, "a", "x")}, func(err error) { done <- err })
	select {
	case <-done: // either written before the check or the ctx error: both fine
	case <-time.After(30 * time.Second):
		t.Fatal("done not called for a cancelled context")
	}
	// Bad input reports through done too.
	s.AppendMessagesAsync(c, cid, 0, nil, func(err error) { done <- err })
	wantErr(t, <-done, storage.ErrInvalid)
}

func testClientMsgIDKept(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	m := msg(cid, 1, "alice", "hi")
	m.ClientMsgID = "client-1"
	must(t, s.AppendMessages(c, cid, 0, []storage.Message{m}))
	// The client id is kept with the message: the conversation grain
	// rebuilds its dedupe window from the log on activation.
	got, err := s.GetMessage(c, cid, 1)
	must(t, err)
	if got.ClientMsgID != "client-1" {
		t.Fatalf("client id %q, want client-1", got.ClientMsgID)
	}
	page, err := s.ListMessages(c, cid, 1, 0, storage.NewestFirst, 10)
	must(t, err)
	if len(page) != 1 || page[0].ClientMsgID != "client-1" {
		t.Fatalf("page %+v", page)
	}
}

func testTombstone(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	oops := msg(cid, 1, "alice", "oops")
	oops.Media = storage.MediaRef{ID: "m1", Name: "passport.jpg", MIME: "image/jpeg", Size: 10, Preview: storage.Preview{Width: 1, Height: 1, Thumb: []byte{1}}}
	must(t, s.AppendMessages(c, cid, 0, []storage.Message{oops, msg(cid, 2, "alice", "fine")}))
	must(t, s.TombstoneMessage(c, cid, 1))
	must(t, s.TombstoneMessage(c, cid, 1)) // twice: no-op
	got, err := s.GetMessage(c, cid, 1)
	must(t, err)
	if !got.Recalled() || len(got.Body) != 0 || got.Sender != "alice" || !reflect.DeepEqual(got.Media, storage.MediaRef{}) {
		t.Fatalf("tombstone %+v", got)
	}
	other, err := s.GetMessage(c, cid, 2)
	must(t, err)
	if other.Recalled() || string(other.Body) != "fine" {
		t.Fatalf("neighbour touched: %+v", other)
	}
	wantErr(t, s.TombstoneMessage(c, cid, 3), storage.ErrNotFound)
}

func testRedact(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	must(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 1, "alice", "words to go"), msg(cid, 2, "alice", "gone")}))
	must(t, s.RedactMessage(c, cid, 1, []byte("kept")))
	got, err := s.GetMessage(c, cid, 1)
	must(t, err)
	if string(got.Body) != "kept" || got.Recalled() || got.Sender != "alice" || got.Seq != 1 {
		t.Fatalf("redacted %+v", got)
	}
	// A recall is final: a redaction does not write its body again.
	must(t, s.TombstoneMessage(c, cid, 2))
	must(t, s.RedactMessage(c, cid, 2, []byte("back")))
	if got, err := s.GetMessage(c, cid, 2); err != nil || !got.Recalled() || len(got.Body) != 0 {
		t.Fatalf("redacted after its recall: %+v, %v", got, err)
	}
	// And a redacted message can still be recalled.
	must(t, s.TombstoneMessage(c, cid, 1))
	if got, err := s.GetMessage(c, cid, 1); err != nil || !got.Recalled() || len(got.Body) != 0 {
		t.Fatalf("recalled after a redaction: %+v, %v", got, err)
	}
	wantErr(t, s.RedactMessage(c, cid, 3, []byte("x")), storage.ErrNotFound)
}
