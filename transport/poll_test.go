package transport_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Polls over the wire: a member's client folds the votes it is pushed
// into the poll's Message.Poll (a change replacing the vote before, a
// vote taken back); the node's results say the same; after the author
// closes it a vote is POLL_CLOSED, not resent, and every client shows the
// poll closed.
func TestPollsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, ann, ben := e.dial("teacher", "phone"), e.dial("ann", "phone"), e.dial("ben", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:trip", "trip", []string{"ann", "ben"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := teacher.SendPoll(ctx, client.ToConv(conv), client.Poll{Question: "Where?", Options: []string{"zoo"}}); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a poll of one option: %v, want INVALID", err)
	}
	p, err := teacher.SendPoll(ctx, client.ToConv(conv), client.Poll{Question: "Where?", Options: []string{"zoo", "museum", "park"}})
	if err != nil || p.Poll == nil || p.Poll.Question != "Where?" || len(p.Poll.Options) != 3 {
		t.Fatalf("the poll: %+v, %v", p, err)
	}
	for _, v := range []struct {
		c    *client.Client
		opts []uint32
	}{{ann, []uint32{0}}, {ben, []uint32{2}}, {ann, []uint32{1}}, {ben, nil}} {
		if _, err := v.c.Vote(ctx, conv, p.Seq, v.opts...); err != nil {
			t.Fatalf("vote %v: %v", v.opts, err)
		}
	}
	if _, err := ann.Vote(ctx, conv, p.Seq, 0, 1); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("two options of a single-choice poll: %v, want INVALID", err)
	}
	const want = "Where? open zoo[] museum[ann] park[]"
	for _, c := range []*client.Client{teacher, ann, ben} {
		eventually(t, "a client folds the votes", func() bool { return pollOf(c, conv, p.Seq) == want })
	}
	r, err := ben.PollResults(ctx, conv, p.Seq, 10)
	if err != nil || r.Voters != 1 || r.Options[1].Votes != 1 || !slices.Equal(r.Options[1].Voters, []string{"ann"}) || len(r.Mine) != 0 || r.Closed {
		t.Fatalf("the node's results: %v, %v", r, err)
	}
	if r, err := ann.PollResults(ctx, conv, p.Seq, 0); err != nil || !slices.Equal(r.Mine, []uint32{1}) || len(r.Options[1].Voters) != 0 {
		t.Fatalf("ann's results, counts only: %v, %v", r, err)
	}
	if _, err := ann.PollResults(ctx, conv, p.Seq, 1001); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("results listing 1,001 voters: %v, want INVALID", err)
	}
	if _, err := ann.ClosePoll(ctx, conv, p.Seq); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member closes the teacher's poll: %v, want FORBIDDEN", err)
	}
	if _, err := teacher.ClosePoll(ctx, conv, p.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := ben.Vote(ctx, conv, p.Seq, 0); codeOf(err) != wirepb.Code_POLL_CLOSED {
		t.Fatalf("a vote after the close: %v, want POLL_CLOSED", err)
	}
	for _, c := range []*client.Client{teacher, ann, ben} {
		eventually(t, "a client shows the poll closed", func() bool { return pollOf(c, conv, p.Seq) == "Where? closed zoo[] museum[ann] park[]" })
	}
	// A poll that closes by itself: its time in the poll and the results;
	// one that would close in the past is INVALID.
	if _, err := teacher.SendPoll(ctx, client.ToConv(conv), client.Poll{Question: "Late?", Options: []string{"a", "b"}, ClosesAtMs: time.Now().Add(-time.Minute).UnixMilli()}); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a poll closing in the past: %v, want INVALID", err)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	timed, err := teacher.SendPoll(ctx, client.ToConv(conv), client.Poll{Question: "Lunch?", Options: []string{"yes", "no"}, ClosesAtMs: at.UnixMilli()})
	if err != nil || timed.Poll == nil || !timed.Poll.ClosesAt.Equal(at) || timed.Poll.Closed {
		t.Fatalf("a timed poll: %+v, %v", timed.Poll, err)
	}
	if r, err := ann.PollResults(ctx, conv, timed.Seq, 0); err != nil || r.ClosesAtMs != at.UnixMilli() || r.Closed {
		t.Fatalf("a timed poll's results: %v, %v", r, err)
	}

	// An anonymous poll: every client folds the votes under aliases (ann's
	// change replaces her vote), the voter's client knows its own choice,
	// and nobody's id is anywhere.
	anon, err := teacher.SendPoll(ctx, client.ToConv(conv), client.Poll{Question: "The pace?", Options: []string{"fine", "too fast"}, Anonymous: true})
	if err != nil || anon.Poll == nil || !anon.Poll.Anonymous {
		t.Fatalf("an anonymous poll: %+v, %v", anon.Poll, err)
	}
	v, err := ann.Vote(ctx, conv, anon.Seq, 0)
	if err != nil || len(v.Sender) != 17 || v.Sender[0] != '~' {
		t.Fatalf("ann's vote is held as %q (%v): want her alias", v.Sender, err)
	}
	for _, v := range []struct {
		c    *client.Client
		opts []uint32
	}{{ben, []uint32{1}}, {ann, []uint32{1}}} {
		if _, err := v.c.Vote(ctx, conv, anon.Seq, v.opts...); err != nil {
			t.Fatalf("vote %v: %v", v.opts, err)
		}
	}
	for _, c := range []*client.Client{teacher, ann, ben} {
		eventually(t, "a client folds the anonymous votes: two on too fast, by two aliases", func() bool {
			for _, m := range c.Messages(conv) {
				if m.Seq == anon.Seq && m.Poll != nil {
					o := m.Poll.Options
					return len(o[0].Voters) == 0 && len(o[1].Voters) == 2 && o[1].Voters[0][0] == '~' && o[1].Voters[1][0] == '~'
				}
			}
			return false
		})
	}
	for c, mine := range map[*client.Client][]uint32{ann: {1}, ben: {1}, teacher: nil} {
		if m, ok := held(c, conv, anon.Seq); !ok || !slices.Equal(m.Poll.Mine, mine) {
			t.Fatalf("%s's own choice in the anonymous poll: %+v, want %v", c.User(), m.Poll, mine)
		}
	}
	if r, err := teacher.PollResults(ctx, conv, anon.Seq, 10); err != nil || !r.Anonymous || r.Voters != 2 || r.Options[1].Votes != 2 || len(r.Options[1].Voters) != 0 {
		t.Fatalf("the anonymous poll's results: %v, %v", r, err)
	}
}

// pollOf is the poll at seq as c holds it, on one line.
func pollOf(c *client.Client, conv string, seq uint64) string {
	for _, m := range c.Messages(conv) {
		if m.Seq != seq || m.Poll == nil {
			continue
		}
		state := "open"
		if m.Poll.Closed {
			state = "closed"
		}
		s := m.Poll.Question + " " + state
		for _, o := range m.Poll.Options {
			s += fmt.Sprintf(" %s%v", o.Text, o.Voters)
		}
		return s
	}
	return "<none>"
}
