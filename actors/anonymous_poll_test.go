package actors_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Anonymous polls: votes are stored, pushed and read under per-poll
// aliases, the same for one voter's change of vote and different in
// another poll; the results count them, list nobody (not even to the
// operator) and tell each member their own choice; a quiz is still
// answered once; a resend is deduped; the aliases survive a restart;
// only groups take one.
func TestAnonymousPolls(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "ann", "ben", "cat")
	post := func(body string) uint64 {
		t.Helper()
		r, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "teacher", Kind: pb.MessageKind_POLL, Body: []byte(body)})
		if err != nil {
			t.Fatalf("post %s: %v", body, err)
		}
		return r.Seq
	}
	vote := func(user string, poll uint64, body, id string) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, Kind: pb.MessageKind_VOTE, RefSeq: poll, Body: []byte(body), ClientMsgId: id})
	}
	mustVote := func(user string, poll uint64, body, id string) uint64 {
		t.Helper()
		r, err := vote(user, poll, body, id)
		if err != nil {
			t.Fatalf("%s votes %s: %v", user, body, err)
		}
		return r.Seq
	}
	senderOf := func(seq uint64) string {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "cat", FromSeq: seq, ToSeq: seq, Limit: 1})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history of %d: %v %v", seq, msgs, err)
		}
		return msgs[0].Sender
	}

	_, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "teacher", Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"ok?","options":["yes","no"],"anonymous":true}`)})
	wantCode(t, err, pb.Code_INVALID, "an anonymous poll in a conversation of two")

	poll := post(`{"question":"How was the lesson?","options":["good","too fast"],"anonymous":true}`)
	firstRes, err := vote("ann", poll, "[0]", "a1")
	if err != nil {
		t.Fatal(err)
	}
	first := firstRes.Seq
	if again, err := vote("ann", poll, "[0]", "a1"); err != nil || !again.Duplicate || again.Seq != first || again.VoterAlias != firstRes.VoterAlias {
		t.Fatalf("a resend of ann's vote: %v %v, want the first (seq %d, alias %q) answered again", again, err, first, firstRes.VoterAlias)
	}
	ben := mustVote("ben", poll, "[1]", "b1")
	change := mustVote("ann", poll, "[1]", "a2")
	annAlias, benAlias := senderOf(first), senderOf(ben)
	if !strings.HasPrefix(annAlias, "~") || len(annAlias) != 17 || annAlias == benAlias || !strings.HasPrefix(benAlias, "~") {
		t.Fatalf("the votes' senders %q and %q: want two aliases", annAlias, benAlias)
	}
	if firstRes.VoterAlias != annAlias {
		t.Fatalf("ann's answer names her alias %q, the log %q", firstRes.VoterAlias, annAlias)
	}
	if senderOf(change) != annAlias {
		t.Fatalf("ann's change of vote is stored as %q, her first as %q: want one alias", senderOf(change), annAlias)
	}

	r, err := node.PollResults(ctx, "teacher", g, poll, 10)
	if err != nil || !r.Anonymous || r.Voters != 2 || r.Options[0].Votes != 0 || r.Options[1].Votes != 2 || len(r.Options[1].Voters) != 0 || len(r.Mine) != 0 {
		t.Fatalf("the teacher's results %v: %v; want 2 voters, both on option 1, none listed", r, err)
	}
	for user, mine := range map[string][]uint32{"ann": {1}, "ben": {1}, "cat": nil} {
		r, err := node.PollResults(ctx, user, g, poll, 10)
		if err != nil || !slices.Equal(r.Mine, mine) {
			t.Fatalf("%s's own choice %v (%v), want %v", user, r.GetMine(), err, mine)
		}
	}
	op, err := node.PollResultsAsOperator(ctx, g, poll, 10)
	if err != nil || len(op.Options[1].Voters) != 0 || op.Voters != 2 {
		t.Fatalf("the operator's results %v: %v; want nobody listed", op, err)
	}

	// Another poll gives ann another alias; a quiz is answered once.
	quiz := post(`{"question":"2+2?","options":["3","4"],"quiz":true,"correct":1,"anonymous":true}`)
	answer := mustVote("ann", quiz, "[1]", "q1")
	if s := senderOf(answer); s == annAlias || !strings.HasPrefix(s, "~") {
		t.Fatalf("ann's alias in the quiz %q, in the poll %q: want another alias", s, annAlias)
	}
	_, err = vote("ann", quiz, "[0]", "q2")
	wantCode(t, err, pb.Code_INVALID, "ann's second answer to an anonymous quiz")
	if r, err := node.PollResults(ctx, "ann", g, quiz, 0); err != nil || r.Correct == nil || *r.Correct != 1 || !slices.Equal(r.Mine, []uint32{1}) {
		t.Fatalf("ann's quiz results %v: %v; want the right option revealed to her", r, err)
	}

	// After a restart the salt is read back: the same aliases.
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	if s := senderOf(mustVote("ann", poll, "[0]", "a3")); s != annAlias {
		t.Fatalf("ann's vote after a restart is stored as %q, before as %q", s, annAlias)
	}
	if r, err := node.PollResults(ctx, "ann", g, poll, 0); err != nil || !slices.Equal(r.Mine, []uint32{0}) || r.Voters != 2 {
		t.Fatalf("ann's results after the restart %v: %v", r, err)
	}

	// A recalled poll's snapshot row lets go of its salt (and of any
	// votes it kept).
	key := fmt.Sprintf("poll/%s/%d", g, quiz)
	if cp, err := store.LoadCheckpoint(ctx, key); err != nil || !strings.Contains(string(cp.State), `"salt"`) || !strings.Contains(string(cp.State), `"answer"`) {
		t.Fatalf("the quiz's snapshot before its recall: %s %v", cp.State, err)
	}
	if _, err := node.Recall(ctx, g, "teacher", quiz); err != nil {
		t.Fatal(err)
	}
	if cp, err := store.LoadCheckpoint(ctx, key); err != nil || strings.Contains(string(cp.State), `"salt"`) || strings.Contains(string(cp.State), `"answer"`) {
		t.Fatalf("the quiz's snapshot after its recall: %s %v", cp.State, err)
	}
}
