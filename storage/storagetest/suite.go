// Package storagetest is the conformance suite every storage.Store backend
// passes. A backend's test calls Run with a function that opens a store;
// the suite opens it once and isolates its subtests by unique ids, so a
// backend that is slow to set up (a CQL keyspace) pays that cost once.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Opener returns a store ready for use; the suite closes it at the end.
type Opener func(t *testing.T) storage.Store

// Run runs the whole conformance suite against the store open returns.
func Run(t *testing.T, open Opener) {
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	run := uniqueRun()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s storage.Store, id func(string) string)
	}{
		{"Conversations", testConversations},
		{"ListConversations", testListConversations},
		{"EpochFencing", testEpochFencing},
		{"EpochRace", testEpochRace},
		{"Members", testMembers},
		{"Messages", testMessages},
		{"MessagesManyPages", testMessagesManyPages},
		{"AppendExistingSeq", testAppendExistingSeq},
		{"AppendAsync", testAppendAsync},
		{"FencedAppend", testFencedAppend},
		{"ClientMsgIDKept", testClientMsgIDKept},
		{"Tombstone", testTombstone},
		{"Redact", testRedact},
		{"UserConvState", testUserConvState},
		{"Inbox", testInbox},
		{"Devices", testDevices},
		{"PushTokens", testPushTokens},
		{"Media", testMedia},
		{"Scheduled", testScheduled},
		{"InboxTakeover", testInboxTakeover},
		{"UserWrite", testUserWrite},
		{"Checkpoints", testCheckpoints},
		{"CheckpointFences", testCheckpointFences},
		{"NodeSlots", testNodeSlots},
		{"BadInput", testBadInput},
		{"Model", testModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := run + "-" + strings.ToLower(tc.name) + "-"
			tc.fn(t, s, func(name string) string { return prefix + name })
		})
	}
}

var runCounter atomic.Uint64

// uniqueRun names one Run so ids never collide with an earlier run against
// a long-lived database.
func uniqueRun() string {
	return fmt.Sprintf("r%x%d", time.Now().UnixNano()&0xffffffffff, runCounter.Add(1))
}

// base is a fixed millisecond-precise instant the tests build times from.
var base = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func msg(conv string, seq uint64, sender, body string) storage.Message {
	return storage.Message{
		ConvID: conv, Seq: seq, MsgID: 1000 + seq, Sender: sender,
		SenderRole: storage.SenderCustomer, Body: []byte(body),
		ClientTS: at(float64(seq)), ServerTS: at(float64(seq) + 0.5),
	}
}

func seqs(ms []storage.Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func eqSeqs(t *testing.T, got []storage.Message, want ...uint64) {
	t.Helper()
	g := seqs(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("seqs %v, want %v", g, want)
	}
}

func testConversations(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	conv := storage.Conversation{ID: id("c1"), Kind: storage.KindGroup, Title: "Team", CreatedAt: base.Add(123456 * time.Microsecond)}
	must(t, s.CreateConversation(c, conv))
	wantErr(t, s.CreateConversation(c, conv), storage.ErrExists)
	got, err := s.GetConversation(c, conv.ID)
	must(t, err)
	want := storage.Conversation{ID: conv.ID, Kind: storage.KindGroup, Title: "Team", CreatedAt: base.Add(123 * time.Millisecond)}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	_, err = s.GetConversation(c, id("missing"))
	wantErr(t, err, storage.ErrNotFound)

	must(t, s.AppendMessages(c, conv.ID, 0, []storage.Message{msg(conv.ID, 1, "alice", "a"), msg(conv.ID, 2, "bob", "b")}))
	got, err = s.GetConversation(c, conv.ID)
	must(t, err)
	if got.LastSeq != 2 {
		t.Fatalf("last seq %d, want 2", got.LastSeq)
	}
}

func testListConversations(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	want := map[string]bool{}
	for i := 0; i < 7; i++ {
		cid := id(fmt.Sprintf("c%d", i))
		want[cid] = true
		must(t, s.CreateConversation(c, storage.Conversation{ID: cid, Kind: storage.KindDirect}))
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("pagination does not end")
		}
		page, next, err := s.ListConversations(c, cursor, 3)
		must(t, err)
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		for _, cv := range page {
			if seen[cv.ID] {
				t.Fatalf("%s listed twice", cv.ID)
			}
			seen[cv.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for cid := range want {
		if !seen[cid] {
			t.Fatalf("%s not listed", cid)
		}
	}
}

func testEpochFencing(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	_, err := s.AcquireEpoch(c, cid, 0)
	wantErr(t, err, storage.ErrNotFound)
	must(t, s.CreateConversation(c, storage.Conversation{ID: cid, Kind: storage.KindDirect}))

	e1, err := s.AcquireEpoch(c, cid, 0)
	must(t, err)
	if e1 != 1 {
		t.Fatalf("first epoch %d, want 1", e1)
	}
	must(t, s.ReserveSeqs(c, cid, e1, 100))
	must(t, s.ReserveSeqs(c, cid, e1, 50)) // lowering: no-op
	got, err := s.GetConversation(c, cid)
	must(t, err)
	if got.Epoch != 1 || got.ReservedSeq != 100 {
		t.Fatalf("head %+v, want epoch 1 reserved 100", got)
	}

	// A second activation takes the epoch; the first is fenced off.
	e2, err := s.AcquireEpoch(c, cid, e1)
	must(t, err)
	if e2 != 2 {
		t.Fatalf("second epoch %d, want 2", e2)
	}
	wantErr(t, s.ReserveSeqs(c, cid, e1, 200), storage.ErrEpochLost)
	_, err = s.AcquireEpoch(c, cid, e1) // stale view
	wantErr(t, err, storage.ErrEpochLost)
	must(t, s.ReserveSeqs(c, cid, e2, 200))
	got, err = s.GetConversation(c, cid)
	must(t, err)
	if got.Epoch != 2 || got.ReservedSeq != 200 {
		t.Fatalf("head %+v, want epoch 2 reserved 200", got)
	}
}

// testEpochRace: many activations race for the same epoch; exactly one wins.
func testEpochRace(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	must(t, s.CreateConversation(c, storage.Conversation{ID: cid, Kind: storage.KindGroup}))
	const racers = 8
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.AcquireEpoch(c, cid, 0)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrEpochLost):
				losses.Add(1)
			default:
				t.Errorf("acquire: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != racers-1 {
		t.Fatalf("%d wins and %d losses, want 1 and %d", wins.Load(), losses.Load(), racers-1)
	}
}

func testMembers(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid, other := id("c"), id("other")
	users := []string{id("u3"), id("u1"), id("u2"), id("u5"), id("u4")}
	for i, u := range users {
		must(t, s.PutMember(c, storage.Member{ConvID: cid, UserID: u, Role: storage.Role(i % 3), JoinedSeq: uint64(i + 1), JoinedAt: at(1)}))
	}
	must(t, s.PutMember(c, storage.Member{ConvID: other, UserID: users[0], Role: storage.RoleOwner, JoinedSeq: 1}))

	m, err := s.GetMember(c, cid, users[1])
	must(t, err)
	want := storage.Member{ConvID: cid, UserID: users[1], Role: storage.RoleAdmin, JoinedSeq: 2, JoinedAt: at(1)}
	if !m.Equal(want) {
		t.Fatalf("member %+v, want %+v", m, want)
	}
	_, err = s.GetMember(c, cid, id("nobody"))
	wantErr(t, err, storage.ErrNotFound)

	// Paged by user id.
	sorted := append([]string(nil), users...)
	sort.Strings(sorted)
	var listed []string
	after := ""
	for {
		page, err := s.ListMembers(c, cid, after, 2)
		must(t, err)
		for _, m := range page {
			listed = append(listed, m.UserID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].UserID
	}
	if fmt.Sprint(listed) != fmt.Sprint(sorted) {
		t.Fatalf("members %v, want %v", listed, sorted)
	}

	ms, err := s.ListMemberships(c, users[0], "", 10)
	must(t, err)
	if len(ms) != 2 || ms[0].ConvID > ms[1].ConvID {
		t.Fatalf("memberships %+v, want 2 ordered by conversation", ms)
	}
	ms, err = s.ListMemberships(c, users[0], ms[0].ConvID, 10)
	must(t, err)
	if len(ms) != 1 {
		t.Fatalf("memberships after the first: %d, want 1", len(ms))
	}

	// Leave, then visibility: joined 1, left 10.
	left, err := s.GetMember(c, cid, users[0])
	must(t, err)
	left.LeftSeq = 10
	must(t, s.PutMember(c, left))
	m, err = s.GetMember(c, cid, users[0])
	must(t, err)
	if m.Active() || m.LeftSeq != 10 || !m.Sees(1) || !m.Sees(10) || m.Sees(11) {
		t.Fatalf("left member %+v", m)
	}
	mm, err := s.ListMemberships(c, users[0], "", 10)
	must(t, err)
	for _, x := range mm {
		if x.ConvID == cid && x.LeftSeq != 10 {
			t.Fatalf("membership by user not updated on leave: %+v", x)
		}
	}

	// Joining again replaces the row.
	must(t, s.PutMember(c, storage.Member{ConvID: cid, UserID: users[0], Role: storage.RoleMember, JoinedSeq: 20}))
	m, err = s.GetMember(c, cid, users[0])
	must(t, err)
	if !m.Active() || m.Sees(19) || !m.Sees(20) {
		t.Fatalf("rejoined member %+v", m)
	}

	// Clearing: both rows keep it; the member sees only what came after.
	m.ClearedSeq = 25
	must(t, s.PutMember(c, m))
	got, err := s.GetMember(c, cid, users[0])
	must(t, err)
	if !got.Equal(m) || got.Sees(25) || !got.Sees(26) || got.VisibleFrom() != 26 {
		t.Fatalf("cleared member %+v, want %+v seeing from 26", got, m)
	}
	mm, err = s.ListMemberships(c, users[0], "", 10)
	must(t, err)
	for _, x := range mm {
		if x.ConvID == cid && x.ClearedSeq != 25 {
			t.Fatalf("membership by user without the clear: %+v", x)
		}
	}

	// Hiding ("delete for me"): both rows keep the set, seqs far apart
	// included; an empty set reads back as none.
	m.Hidden = []uint64{27, 30, 1 << 40}
	must(t, s.PutMember(c, m))
	got, err = s.GetMember(c, cid, users[0])
	must(t, err)
	if !got.Equal(m) || got.Sees(27) || got.Sees(30) || !got.Sees(28) || got.Sees(1<<40) {
		t.Fatalf("member hiding 27, 30 and 1<<40: %+v, want %+v", got, m)
	}
	mm, err = s.ListMemberships(c, users[0], "", 10)
	must(t, err)
	for _, x := range mm {
		if x.ConvID == cid && !slices.Equal(x.Hidden, m.Hidden) {
			t.Fatalf("membership by user with hidden %v, want %v", x.Hidden, m.Hidden)
		}
	}
	m.Hidden = nil
	m.ClearedSeq = 0
	must(t, s.PutMember(c, m))
	if got, err = s.GetMember(c, cid, users[0]); err != nil || len(got.Hidden) != 0 || !got.Sees(27) {
		t.Fatalf("member after unhiding everything: %+v, %v", got, err)
	}

	// A timed mute: both rows keep its end, with or without the optional
	// fields before it; taken off, it reads back as none.
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	m.Muted, m.MutedUntil = true, until
	must(t, s.PutMember(c, m))
	got, err = s.GetMember(c, cid, users[0])
	must(t, err)
	if !got.Equal(m) || !got.MutedAt(time.Now()) || got.MutedAt(until) {
		t.Fatalf("member muted until %v: %+v, want %+v", until, got, m)
	}
	mm, err = s.ListMemberships(c, users[0], "", 10)
	must(t, err)
	for _, x := range mm {
		if x.ConvID == cid && !x.MutedUntil.Equal(until) {
			t.Fatalf("membership by user muted until %v, want %v", x.MutedUntil, until)
		}
	}
	m.Muted, m.MutedUntil = false, time.Time{}
	must(t, s.PutMember(c, m))
	if got, err = s.GetMember(c, cid, users[0]); err != nil || !got.MutedUntil.IsZero() || got.MutedAt(time.Now()) {
		t.Fatalf("member after the mute was taken off: %+v, %v", got, err)
	}
}

func testBadInput(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	cid := id("c")
	limits := s.Limits() // what the store says it enforces is what it enforces
	long := strings.Repeat("x", limits.MaxIDBytes+1)
	edge := strings.Repeat("x", limits.MaxIDBytes)

	// Body at the limit passes; one byte more is refused and nothing is written.
	ok := msg(cid, 1, "alice", strings.Repeat("b", limits.MaxBodyBytes))
	must(t, s.AppendMessages(c, cid, 0, []storage.Message{ok}))
	big := msg(cid, 2, "alice", strings.Repeat("b", limits.MaxBodyBytes+1))
	wantErr(t, s.AppendMessages(c, cid, 0, []storage.Message{big}), storage.ErrTooLarge)
	_, err := s.GetMessage(c, cid, 2)
	wantErr(t, err, storage.ErrNotFound)

	// Ids: empty, over-long, NUL; the edge length passes.
	wantErr(t, s.CreateConversation(c, storage.Conversation{ID: "", Kind: storage.KindDirect}), storage.ErrInvalid)
	wantErr(t, s.CreateConversation(c, storage.Conversation{ID: long, Kind: storage.KindDirect}), storage.ErrInvalid)
	wantErr(t, s.CreateConversation(c, storage.Conversation{ID: "a\x00b", Kind: storage.KindDirect}), storage.ErrInvalid)
	wantErr(t, s.CreateConversation(c, storage.Conversation{ID: id("k"), Kind: 0}), storage.ErrInvalid)
	edgeID := id("")
	edgeID += edge[len(edgeID):]
	must(t, s.CreateConversation(c, storage.Conversation{ID: edgeID, Kind: storage.KindDirect}))
	wantErr(t, s.PutMember(c, storage.Member{ConvID: cid, UserID: ""}), storage.ErrInvalid)
	wantErr(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 3, "", "x")}), storage.ErrInvalid)
	m := msg(cid, 3, "alice", "x")
	m.ClientMsgID = long
	wantErr(t, s.AppendMessages(c, cid, 0, []storage.Message{m}), storage.ErrInvalid)
	wantErr(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 0, "alice", "x")}), storage.ErrInvalid)
	wantErr(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 5, "a", "x"), msg(cid, 5, "a", "y")}), storage.ErrInvalid)
	wantErr(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(id("other"), 6, "a", "x")}), storage.ErrInvalid)
	wantErr(t, s.AppendMessages(c, cid, 0, nil), storage.ErrInvalid)
	_, err = s.GetMessage(c, long, 1)
	wantErr(t, err, storage.ErrInvalid)
	_, err = s.ListMessages(c, cid, 1, 0, storage.NewestFirst, 0)
	wantErr(t, err, storage.ErrInvalid)
	wantErr(t, s.AppendInbox(c, id("u"), []storage.InboxEntry{{Seq: 0}}), storage.ErrInvalid)
	wantErr(t, s.AppendInbox(c, id("u"), []storage.InboxEntry{{Seq: 1, Payload: make([]byte, limits.MaxPayloadBytes+1)}}), storage.ErrTooLarge)
	_, err = s.SetDeviceCursor(c, id("u"), "", 1, at(0))
	wantErr(t, err, storage.ErrInvalid)
	wantErr(t, s.SaveCheckpoint(c, storage.Checkpoint{Key: ""}), storage.ErrInvalid)
}
