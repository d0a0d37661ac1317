package actors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Disappearing messages: a timer either member of a direct conversation
// sets, within its bounds; what is sent while it is on (and an edit of
// it) carries its end, reads as expired from then in history, search and
// the conversation list, takes no reaction, and leaves the store; what
// was sent before, and after it is turned off, stays. In a group only
// its managers set it. The timer, and a sweep still to come, survive a
// restart.
func TestDisappearingMessages(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MinDisappearAfter: 500 * time.Millisecond, MaxDisappearAfter: time.Hour, ScheduleInterval: 50 * time.Millisecond, SendRate: 1e6, SendBurst: 1e6}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("alice", "bob")
	direct := func(from, to, body string) *pb.SendResponse {
		t.Helper()
		res, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	at := func(seq uint64) *pb.Message {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "bob", FromSeq: seq, ToSeq: seq, Limit: 1})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history at %d: %v %v", seq, msgs, err)
		}
		return msgs[0]
	}
	timer := func(user string, ms *int64) (time.Duration, uint64, error) {
		return node.Disappearing(ctx, conv, user, ms)
	}

	before := direct("alice", "bob", "my number is 555-0100").Seq
	for _, ms := range []int64{499, 3_600_001, -1} {
		_, _, err := timer("bob", proto.Int64(ms))
		wantCode(t, err, pb.Code_INVALID, "a timer out of bounds")
	}
	if after, _, err := timer("bob", nil); err != nil || after != 0 {
		t.Fatalf("the timer before any: %v %v", after, err)
	}
	_, _, err := timer("eve", proto.Int64(1500))
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger sets the timer")
	after, seq, err := timer("bob", proto.Int64(1500))
	if err != nil || after != 1500*time.Millisecond || seq == 0 {
		t.Fatalf("bob sets 1.5 s: %v %d %v", after, seq, err)
	}
	if sys := at(seq); sys.Kind != pb.MessageKind_SYSTEM || string(sys.Body) != `{"actor":"bob","after_ms":1500,"op":"disappear"}` {
		t.Fatalf("the change's system message: %v", sys)
	}
	if _, again, err := timer("alice", proto.Int64(1500)); err != nil || again != 0 {
		t.Fatalf("the same timer again records nothing: %d %v", again, err)
	}

	sent := direct("alice", "bob", "meet at the station, code 4711")
	edit, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "alice", RefSeq: sent.Seq, Body: []byte("meet at the station, code 4712")})
	if err != nil {
		t.Fatal(err)
	}
	secret := at(sent.Seq)
	if secret.ExpiresAtMs != sent.ServerTsMs+1500 || at(edit.Seq).ExpiresAtMs != secret.ExpiresAtMs || at(before).ExpiresAtMs != 0 {
		t.Fatalf("ends: the message %d (sent %d), its edit %d, the one before %d", secret.ExpiresAtMs, sent.ServerTsMs, at(edit.Seq).ExpiresAtMs, at(before).ExpiresAtMs)
	}
	if found, _, err := node.Search(ctx, "bob", conv, actors.SearchQuery{Text: "station"}, 0, 10); err != nil || len(found) != 1 {
		t.Fatalf("search before the end: %v %v", found, err)
	}

	// Its end comes: every reader sees it expired at once.
	eventually(t, func() error { return holds(at(sent.Seq).Expired, "the message expired") })
	if m := at(sent.Seq); len(m.Body) != 0 || !m.Recalled || !at(edit.Seq).Expired || at(before).Expired {
		t.Fatalf("expired: %v; its edit %v; the one before %v", m, at(edit.Seq), at(before))
	}
	if found, _, err := node.Search(ctx, "bob", conv, actors.SearchQuery{Text: "station"}, 0, 10); err != nil || len(found) != 0 {
		t.Fatalf("search after the end: %v %v", found, err)
	}
	_, err = node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "bob", Kind: pb.MessageKind_REACTION, RefSeq: sent.Seq, Body: []byte("👍")})
	wantCode(t, err, pb.Code_NOT_FOUND, "a reaction to a message that disappeared")
	list, err := node.ListConversations(ctx, "bob", "", 10)
	if err != nil || len(list.Conversations) != 1 || !list.Conversations[0].LastMessage.GetExpired() {
		t.Fatalf("bob's list shows the last message expired: %v %v", list, err)
	}
	// The sweep takes both rows' content out of the store; the message
	// sent before the timer stays.
	eventually(t, func() error {
		a, err1 := store.GetMessage(ctx, conv, sent.Seq)
		b, err2 := store.GetMessage(ctx, conv, edit.Seq)
		return holds(err1 == nil && err2 == nil && a.Recalled() && len(a.Body) == 0 && b.Recalled() && len(b.Body) == 0, "the content left the store")
	})
	if m, err := store.GetMessage(ctx, conv, before); err != nil || m.Recalled() {
		t.Fatalf("the message before the timer: %v %v", m, err)
	}

	// Off: what follows stays.
	if after, _, err := timer("alice", proto.Int64(0)); err != nil || after != 0 {
		t.Fatalf("alice turns it off: %v %v", after, err)
	}
	if m := at(direct("bob", "alice", "ok").Seq); m.ExpiresAtMs != 0 {
		t.Fatalf("a message after the timer is off: %v", m)
	}

	// A group: only its managers set it.
	mustCreateGroup(t, node, "g:class", "teacher", "pupil")
	_, _, err = node.Disappearing(ctx, "g:class", "pupil", proto.Int64(60_000))
	wantCode(t, err, pb.Code_FORBIDDEN, "a plain member sets a group's timer")
	if after, _, err := node.Disappearing(ctx, "g:class", "teacher", proto.Int64(500)); err != nil || after != 500*time.Millisecond {
		t.Fatalf("the shortest timer, at the bound: %v %v", after, err)
	}
	if _, _, err := node.Disappearing(ctx, "g:class", "teacher", proto.Int64(1000)); err != nil {
		t.Fatal(err)
	}
	homework := mustSend(t, node, "g:class", "pupil", "the answers are 3, 7, 12")

	// A restart before the end: the timer holds, and the sweep still comes.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if after, _, err := node.Disappearing(ctx, "g:class", "pupil", nil); err != nil || after != time.Second {
		t.Fatalf("the group's timer after a restart: %v %v", after, err)
	}
	later := mustSend(t, node, "g:class", "pupil", "and 15")
	if m, err := store.GetMessage(ctx, "g:class", later.Seq); err != nil || m.ExpiresAt.IsZero() {
		t.Fatalf("a message after the restart carries its end: %v %v", m, err)
	}
	// An anonymous poll goes too, and its snapshot row lets go of its
	// votes and its salt.
	poll, err := node.Send(ctx, &pb.SendMessage{Conv: "g:class", Sender: "teacher", Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"ok?","options":["yes","no"],"anonymous":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:class", Sender: "pupil", Kind: pb.MessageKind_VOTE, RefSeq: poll.Seq, Body: []byte("[0]")}); err != nil {
		t.Fatal(err)
	}
	pollKey := fmt.Sprintf("poll/g:class/%d", poll.Seq)
	if cp, err := store.LoadCheckpoint(ctx, pollKey); err != nil || !strings.Contains(string(cp.State), `"salt"`) {
		t.Fatalf("the anonymous poll's snapshot holds its salt: %s %v", cp.State, err)
	}
	eventually(t, func() error {
		a, err1 := store.GetMessage(ctx, "g:class", homework.Seq)
		b, err2 := store.GetMessage(ctx, "g:class", later.Seq)
		p, err3 := store.GetMessage(ctx, "g:class", poll.Seq)
		cp, err4 := store.LoadCheckpoint(ctx, pollKey)
		return holds(err1 == nil && err2 == nil && err3 == nil && err4 == nil && a.Recalled() && b.Recalled() && p.Recalled() &&
			!strings.Contains(string(cp.State), `"salt"`), "the group's messages and the poll's secrets left the store")
	})

	// A shorter timer after a longer one: the later messages go at their
	// end though the earlier ones (more than a sweep's batch of 64 rows)
	// are not due, and more than a batch goes in one wake-up.
	if _, _, err := node.Disappearing(ctx, "g:class", "teacher", proto.Int64(3_600_000)); err != nil {
		t.Fatal(err)
	}
	lasting := mustSend(t, node, "g:class", "teacher", "the trip is on Friday")
	for i := range 65 {
		mustSend(t, node, "g:class", "teacher", fmt.Sprintf("bring %d", i))
	}
	if _, _, err := node.Disappearing(ctx, "g:class", "teacher", proto.Int64(1000)); err != nil {
		t.Fatal(err)
	}
	var quick []uint64
	for i := range 70 {
		quick = append(quick, mustSend(t, node, "g:class", "teacher", fmt.Sprintf("reminder %d", i)).Seq)
	}
	eventually(t, func() error {
		for _, seq := range quick {
			if m, err := store.GetMessage(ctx, "g:class", seq); err != nil || !m.Recalled() {
				return fmt.Errorf("message %d still stored: %v %v", seq, m, err)
			}
		}
		return nil
	})
	if m, err := store.GetMessage(ctx, "g:class", lasting.Seq); err != nil || m.Recalled() || string(m.Body) != "the trip is on Friday" {
		t.Fatalf("the message under the hour's timer: %v %v", m, err)
	}
	if mine, err := node.ScheduledSends(ctx, "pupil"); err != nil || len(mine) != 0 {
		t.Fatalf("the sweep's rows are nobody's scheduled sends: %v %v", mine, err)
	}
}

// holds is nil when ok, else an error saying what is not so yet.
func holds(ok bool, what string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("not yet: %s", what)
}
