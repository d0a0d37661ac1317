package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Conformance: user state — read cursors, the conversation list, inbox, devices, checkpoints.

func testUserConvState(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u, cid := id("u"), id("c")
	got, err := s.GetUserConv(c, u, cid)
	must(t, err)
	if !got.Equal(storage.UserConv{UserID: u, ConvID: cid}) {
		t.Fatalf("fresh state %+v", got)
	}
	r, err := s.AdvanceReadCursor(c, u, cid, 5)
	must(t, err)
	if r != 5 {
		t.Fatalf("read cursor %d, want 5", r)
	}
	r, err = s.AdvanceReadCursor(c, u, cid, 3) // backwards: ignored
	must(t, err)
	if r != 5 {
		t.Fatalf("read cursor moved back to %d", r)
	}
	must(t, s.SetPinned(c, u, cid, true))
	must(t, s.SetMuted(c, u, cid, true, time.Time{}))
	must(t, s.SetArchived(c, u, cid, 7, time.Time{}))
	must(t, s.SetMarkedUnread(c, u, cid, true))
	must(t, s.TouchConversation(c, u, cid, at(10)))
	must(t, s.TouchConversation(c, u, cid, at(5))) // backwards: ignored
	got, err = s.GetUserConv(c, u, cid)
	must(t, err)
	want := storage.UserConv{UserID: u, ConvID: cid, ReadSeq: 5, Pinned: true, Muted: true, ArchivedSeq: 7, MarkedUnread: true, LastActivity: at(10)}
	if !got.Equal(want) {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	// A timed mute, then its end taken away by a plain mute, then unmuted.
	must(t, s.SetMuted(c, u, cid, true, at(20)))
	got, err = s.GetUserConv(c, u, cid)
	must(t, err)
	if !got.Muted || !got.MutedUntil.Equal(at(20)) || got.ArchivedSeq != 7 || !got.MarkedUnread || !got.LastActivity.Equal(at(10)) {
		t.Fatalf("state after a timed mute %+v", got)
	}
	must(t, s.SetMuted(c, u, cid, true, time.Time{}))
	if got, err = s.GetUserConv(c, u, cid); err != nil || !got.Muted || !got.MutedUntil.IsZero() {
		t.Fatalf("state after a mute without an end %+v %v", got, err)
	}
	must(t, s.SetMuted(c, u, cid, true, at(30)))
	must(t, s.SetMuted(c, u, cid, false, time.Time{}))
	if got, err = s.GetUserConv(c, u, cid); err != nil || got.Muted || !got.MutedUntil.IsZero() {
		t.Fatalf("state after unmuting a timed mute %+v %v", got, err)
	}
	must(t, s.SetArchived(c, u, cid, 0, time.Time{}))
	must(t, s.SetMarkedUnread(c, u, cid, false))
	got, err = s.GetUserConv(c, u, cid)
	must(t, err)
	if got.Muted || got.ArchivedSeq != 0 || got.MarkedUnread || !got.Pinned || got.ReadSeq != 5 {
		t.Fatalf("state after unmute %+v", got)
	}

	// Labels: set, kept beside the other flags, replaced, cleared; a row
	// that holds labels alone (all else at its zero) keeps them too.
	labels := []string{"new customer", "paid", "ünïcode 🚲"}
	must(t, s.SetLabels(c, u, cid, labels))
	if got, err = s.GetUserConv(c, u, cid); err != nil || !slices.Equal(got.Labels, labels) || !got.Pinned || got.ReadSeq != 5 {
		t.Fatalf("state with labels %+v %v", got, err)
	}
	must(t, s.SetLabels(c, u, cid, []string{"paid"}))
	if got, err = s.GetUserConv(c, u, cid); err != nil || !slices.Equal(got.Labels, []string{"paid"}) {
		t.Fatalf("labels replaced: %+v %v", got, err)
	}
	must(t, s.SetLabels(c, u, cid, nil))
	if got, err = s.GetUserConv(c, u, cid); err != nil || len(got.Labels) != 0 {
		t.Fatalf("labels cleared: %+v %v", got, err)
	}
	other := id("c2")
	must(t, s.SetLabels(c, u, other, []string{"vip"}))
	if got, err = s.GetUserConv(c, u, other); err != nil || !slices.Equal(got.Labels, []string{"vip"}) {
		t.Fatalf("a row of labels alone: %+v %v", got, err)
	}
	// A snooze: archived until a time, beside the labels; then back.
	must(t, s.SetArchived(c, u, other, 9, at(40)))
	if got, err = s.GetUserConv(c, u, other); err != nil || got.ArchivedSeq != 9 || !got.ArchivedUntil.Equal(at(40)) || !slices.Equal(got.Labels, []string{"vip"}) {
		t.Fatalf("snoozed: %+v %v", got, err)
	}
	must(t, s.SetArchived(c, u, other, 0, time.Time{}))
	if got, err = s.GetUserConv(c, u, other); err != nil || got.ArchivedSeq != 0 || !got.ArchivedUntil.IsZero() {
		t.Fatalf("back from the snooze: %+v %v", got, err)
	}
	for _, bad := range [][]string{{""}, {"b", "a"}, {"a", "a"}, {"two\nlines"}} {
		if err := s.SetLabels(c, u, cid, bad); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("labels %q: %v, want ErrInvalid", bad, err)
		}
	}
}

func testInbox(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u := id("u")
	last, err := s.LastInboxSeq(c, u)
	must(t, err)
	if last != 0 {
		t.Fatalf("empty inbox last seq %d", last)
	}
	var entries []storage.InboxEntry
	for seq := uint64(1); seq <= 1205; seq++ {
		entries = append(entries, storage.InboxEntry{UserID: u, Seq: seq, Kind: storage.InboxMessage, ConvID: "c", ConvSeq: seq * 2, At: at(float64(seq))})
	}
	entries[3].Payload = []byte("preview")
	for from := 0; from < len(entries); from += 500 {
		must(t, s.AppendInbox(c, u, entries[from:min(from+500, len(entries))]))
	}
	wantErr(t, s.AppendInbox(c, u, entries[7:8]), storage.ErrSeqExists)
	last, err = s.LastInboxSeq(c, u)
	must(t, err)
	if last != 1205 {
		t.Fatalf("last inbox seq %d, want 1205", last)
	}
	page, err := s.ListInbox(c, u, 3, 2)
	must(t, err)
	if len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 || string(page[0].Payload) != "preview" ||
		page[0].ConvSeq != 8 || !page[0].At.Equal(at(4)) || page[0].Kind != storage.InboxMessage {
		t.Fatalf("inbox page %+v", page)
	}
	page, err = s.ListInbox(c, u, 995, 100)
	must(t, err)
	if len(page) != 100 || page[0].Seq != 996 || page[99].Seq != 1095 {
		t.Fatalf("inbox page across partitions: %d from %d", len(page), page[0].Seq)
	}
	page, err = s.ListInbox(c, u, 1205, 10)
	must(t, err)
	if len(page) != 0 {
		t.Fatalf("inbox after the end: %d entries", len(page))
	}
}

func testDevices(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u := id("u")
	ds, err := s.ListDevices(c, u)
	must(t, err)
	if len(ds) != 0 {
		t.Fatalf("devices of a new user: %+v", ds)
	}
	cur, err := s.SetDeviceCursor(c, u, "phone", 7, at(1))
	must(t, err)
	if cur != 7 {
		t.Fatalf("cursor %d", cur)
	}
	cur, err = s.SetDeviceCursor(c, u, "phone", 3, at(2)) // backwards: ignored
	must(t, err)
	if cur != 7 {
		t.Fatalf("cursor moved back to %d", cur)
	}
	_, err = s.SetDeviceCursor(c, u, "desktop", 0, at(3))
	must(t, err)
	ds, err = s.ListDevices(c, u)
	must(t, err)
	if len(ds) != 2 || ds[0].DeviceID != "desktop" || ds[1].DeviceID != "phone" || ds[1].Cursor != 7 || !ds[1].LastSeen.Equal(at(2)) {
		t.Fatalf("devices %+v", ds)
	}
}

func testCheckpoints(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	k := id("agent-7")
	_, err := s.LoadCheckpoint(c, k)
	wantErr(t, err, storage.ErrNotFound)
	cp := storage.Checkpoint{Key: k, ConvSeqs: map[string]uint64{"s:1": 10, "s:2": 4}, State: []byte{1, 2, 3}, At: at(1)}
	must(t, s.SaveCheckpoint(c, cp))
	cp2 := storage.Checkpoint{Key: k, ConvSeqs: map[string]uint64{"s:1": 12}, State: []byte{9}, At: at(2)}
	must(t, s.SaveCheckpoint(c, cp2))
	got, err := s.LoadCheckpoint(c, k)
	must(t, err)
	if got.Key != k || fmt.Sprint(got.ConvSeqs) != fmt.Sprint(cp2.ConvSeqs) || !bytes.Equal(got.State, cp2.State) || !got.At.Equal(cp2.At) {
		t.Fatalf("checkpoint %+v, want %+v (a save replaces state and seqs together)", got, cp2)
	}
}
