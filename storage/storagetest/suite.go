// Package storagetest is the conformance suite every storage.Store backend
// passes. A backend's test calls Run with a function that opens a store;
// the suite opens it once and isolates its subtests by unique ids, so a
// backend that is slow to set up (a CQL keyspace) pays that cost once.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
		{"Dedupe", testDedupe},
		{"Tombstone", testTombstone},
		{"UserConvState", testUserConvState},
		{"ConversationListOrder", testConversationListOrder},
		{"Inbox", testInbox},
		{"Devices", testDevices},
		{"Checkpoints", testCheckpoints},
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
	if m != want {
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
	must(t, s.RemoveMember(c, cid, users[0], 10))
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
	wantErr(t, s.RemoveMember(c, cid, id("nobody"), 3), storage.ErrNotFound)

	// Joining again replaces the row.
	must(t, s.PutMember(c, storage.Member{ConvID: cid, UserID: users[0], Role: storage.RoleMember, JoinedSeq: 20}))
	m, err = s.GetMember(c, cid, users[0])
	must(t, err)
	if !m.Active() || m.Sees(19) || !m.Sees(20) {
		t.Fatalf("rejoined member %+v", m)
	}
}

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
}

// equalMessage compares with the store's documented precision and with nil
// and empty bodies equal.
func equalMessage(a, b storage.Message) bool {
	a.ClientTS, a.ServerTS = storage.Millis(a.ClientTS), storage.Millis(a.ServerTS)
	b.ClientTS, b.ServerTS = storage.Millis(b.ClientTS), storage.Millis(b.ServerTS)
	if !bytes.Equal(a.Body, b.Body) {
		return false
	}
	a.Body, b.Body = nil, nil
	return a.ConvID == b.ConvID && a.Seq == b.Seq && a.MsgID == b.MsgID && a.ClientMsgID == b.ClientMsgID &&
		a.Sender == b.Sender && a.SenderRole == b.SenderRole && a.Kind == b.Kind && a.RefSeq == b.RefSeq &&
		a.Flags == b.Flags && a.ClientTS.Equal(b.ClientTS) && a.ServerTS.Equal(b.ServerTS)
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

func testDedupe(t *testing.T, s storage.Store, id func(string) string) {
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
	must(t, s.AppendMessages(c, cid, 0, []storage.Message{msg(cid, 1, "alice", "oops"), msg(cid, 2, "alice", "fine")}))
	must(t, s.TombstoneMessage(c, cid, 1))
	must(t, s.TombstoneMessage(c, cid, 1)) // twice: no-op
	got, err := s.GetMessage(c, cid, 1)
	must(t, err)
	if !got.Recalled() || len(got.Body) != 0 || got.Sender != "alice" {
		t.Fatalf("tombstone %+v", got)
	}
	other, err := s.GetMessage(c, cid, 2)
	must(t, err)
	if other.Recalled() || string(other.Body) != "fine" {
		t.Fatalf("neighbour touched: %+v", other)
	}
	wantErr(t, s.TombstoneMessage(c, cid, 3), storage.ErrNotFound)
}

func testUserConvState(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u, cid := id("u"), id("c")
	got, err := s.GetUserConv(c, u, cid)
	must(t, err)
	if got != (storage.UserConv{UserID: u, ConvID: cid}) {
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
	must(t, s.SetMuted(c, u, cid, true))
	must(t, s.TouchConversation(c, u, cid, at(10)))
	must(t, s.TouchConversation(c, u, cid, at(5))) // backwards: ignored
	got, err = s.GetUserConv(c, u, cid)
	must(t, err)
	want := storage.UserConv{UserID: u, ConvID: cid, ReadSeq: 5, Pinned: true, Muted: true, LastActivity: at(10)}
	if got != want {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	must(t, s.SetMuted(c, u, cid, false))
	got, err = s.GetUserConv(c, u, cid)
	must(t, err)
	if got.Muted || !got.Pinned || got.ReadSeq != 5 {
		t.Fatalf("state after unmute %+v", got)
	}
}

func testConversationListOrder(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u := id("u")
	// c0..c5 with activities; c2 and c3 tie; c5 never active.
	times := []float64{30, 10, 20, 20, 40}
	for i, sec := range times {
		must(t, s.TouchConversation(c, u, id(fmt.Sprintf("c%d", i)), at(sec)))
	}
	must(t, s.SetPinned(c, u, id("c5"), true))
	// Moving c1 forward must move it in the list, not duplicate it.
	must(t, s.TouchConversation(c, u, id("c1"), at(50)))
	want := []string{id("c1"), id("c4"), id("c0"), id("c2"), id("c3"), id("c5")}

	var listed []string
	var cursor storage.ActivityCursor
	for {
		page, err := s.ListUserConvs(c, u, cursor, 2)
		must(t, err)
		for _, uc := range page {
			listed = append(listed, uc.ConvID)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		cursor = storage.ActivityCursor{At: last.LastActivity, ConvID: last.ConvID}
	}
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", listed, want)
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
	_, err := s.GetDevice(c, u, "phone")
	wantErr(t, err, storage.ErrNotFound)
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
	ds, err := s.ListDevices(c, u)
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
