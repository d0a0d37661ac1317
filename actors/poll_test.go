package actors_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"google.golang.org/protobuf/proto"
)

// TestPolls: a poll is checked at its limits' edges; members vote, change
// and take back their vote; the node's tally counts the newest vote of
// each; its author or a group manager closes it, after which votes are
// POLL_CLOSED; a poll is news and a vote is not; admins-only keeps plain
// members from posting polls, not from voting.
func TestPolls(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxPollOptions: 3, MaxPollOptionBytes: 8}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "aide", "pupil", "pupil2", "pupil3")
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "aide"); err != nil {
		t.Fatal(err)
	}
	post := func(user string, kind pb.MessageKind, refSeq uint64, body string) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, Kind: kind, RefSeq: refSeq, Body: []byte(body)})
	}
	wantCode := func(what string, err error, code pb.Code) {
		t.Helper()
		if actors.CodeOf(err) != code {
			t.Fatalf("%s: %v, want %v", what, err, code)
		}
	}

	// The poll's limits, at their edges.
	for what, body := range map[string]string{
		"one option":              `{"question":"q","options":["a"]}`,
		"four options":            `{"question":"q","options":["a","b","c","d"]}`,
		"an option of 9 bytes":    `{"question":"q","options":["a","123456789"]}`,
		"no question":             `{"question":" ","options":["a","b"]}`,
		"an option repeated":      `{"question":"q","options":["a","a"]}`,
		"an empty option":         `{"question":"q","options":["a",""]}`,
		"a control character":     `{"question":"q","options":["a","b\u0007"]}`,
		"an unknown field":        `{"question":"q","options":["a","b"],"secret":true}`,
		"not JSON":                `Trip on Friday?`,
		"two objects":             `{"question":"q","options":["a","b"]}{}`,
		"a line break in options": `{"question":"q","options":["a","b\nc"]}`,
	} {
		_, err := post("pupil", pb.MessageKind_POLL, 0, body)
		wantCode(what, err, pb.Code_INVALID)
	}
	if _, err := post("pupil", pb.MessageKind_POLL, 0, `{"question":"Which day?\nPick one.","options":["Mon","Tue","12345678"]}`); err != nil {
		t.Fatalf("a poll at the limits: %v", err)
	}
	text := mustSend(t, node, g, "teacher", "a text")
	const before = 2 // pupil's first poll and the teacher's text
	eventually(t, func() error {
		if got := unreadOf(t, node, "pupil2", g); got != before {
			return fmt.Errorf("pupil2's unread: %d, want %d", got, before)
		}
		return nil
	})
	p, err := post("pupil", pb.MessageKind_POLL, 0, `{"question":"Trip?","options":["yes","no","maybe"]}`)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if got := unreadOf(t, node, "pupil2", g); got != before+1 {
			return fmt.Errorf("pupil2's unread after a poll: %d, want %d (a poll is news)", got, before+1)
		}
		return nil
	})

	// Search finds a poll by its words, not by its JSON's field names.
	for query, want := range map[string]int{"trip": 1, "MAYBE": 1, "options": 0, "question": 0} {
		found, _, err := node.Search(ctx, "pupil2", g, actors.SearchQuery{Text: query}, 0, 10)
		if err != nil || len(found) != want {
			t.Fatalf("search %q: %d found, %v; want %d", query, len(found), err, want)
		}
	}

	// Votes: checked against the poll; the newest of each member counts.
	for what, body := range map[string]string{
		"two options of a single-choice poll": `[0,1]`,
		"an option past the poll's":           `[3]`,
		"no option":                           `[]`,
		"not an array":                        `"yes"`,
		"a negative index":                    `[-1]`,
	} {
		_, err := post("pupil3", pb.MessageKind_VOTE, p.Seq, body)
		wantCode(what, err, pb.Code_INVALID)
	}
	_, err = post("pupil3", pb.MessageKind_VOTE, text.Seq, `[0]`)
	wantCode("a vote on a text", err, pb.Code_NOT_FOUND)
	_, err = post("pupil3", pb.MessageKind_VOTE, p.Seq+100, `[0]`)
	wantCode("a vote on no message", err, pb.Code_NOT_FOUND)
	_, err = node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "pupil3", Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte(`[0]`), ReplyTo: text.Seq})
	wantCode("a vote that replies", err, pb.Code_INVALID)
	var unread uint64
	eventually(t, func() error { // every message before the votes counted
		if unread = unreadOf(t, node, "pupil", g); unread != 0 {
			return fmt.Errorf("pupil's unread: %d, want 0 (their poll read what came before)", unread)
		}
		return nil
	})
	for _, v := range []struct{ user, body string }{{"pupil", "[0]"}, {"pupil2", "[1]"}, {"pupil3", "[1]"}, {"pupil", "[2]"}, {"pupil3", ""}} {
		if _, err := post(v.user, pb.MessageKind_VOTE, p.Seq, v.body); err != nil {
			t.Fatalf("%s votes %q: %v", v.user, v.body, err)
		}
	}
	// A vote is no news: the text after them is pupil's one new unread.
	mustSend(t, node, g, "aide", "after the votes")
	eventually(t, func() error {
		if got := unreadOf(t, node, "pupil", g); got != unread+1 {
			return fmt.Errorf("pupil's unread after others' votes and a text: %d, want %d", got, unread+1)
		}
		return nil
	})
	wantResults := func(user string, votersLimit int, want string) {
		t.Helper()
		r, err := node.PollResults(ctx, user, g, p.Seq, votersLimit)
		if err != nil {
			t.Fatalf("results for %s: %v", user, err)
		}
		if got := describe(r); got != want {
			t.Fatalf("results for %s:\n got %s\nwant %s", user, got, want)
		}
	}
	wantResults("pupil", 10, "Trip? open voters=2 mine=[2] yes:0[] no:1[pupil2] maybe:1[pupil]")
	wantResults("teacher", 0, "Trip? open voters=2 mine=[] yes:0[] no:1[] maybe:1[]")
	if _, err := node.PollResults(ctx, "pupil", g, p.Seq, actors.MaxPollVotersListed); err != nil {
		t.Fatalf("results listing the most voters: %v", err)
	}
	_, err = node.PollResults(ctx, "pupil", g, p.Seq, actors.MaxPollVotersListed+1)
	wantCode("results listing one voter too many", err, pb.Code_INVALID)
	_, err = node.PollResults(ctx, "stranger", g, p.Seq, 0)
	wantCode("results for a non-member", err, pb.Code_NOT_MEMBER)
	_, err = node.PollResults(ctx, "pupil", g, text.Seq, 0)
	wantCode("results of a text", err, pb.Code_NOT_FOUND)

	// Closing: the author or a manager; then no more votes.
	_, err = post("pupil2", pb.MessageKind_POLL, p.Seq, "")
	wantCode("another member closes the poll", err, pb.Code_FORBIDDEN)
	_, err = post("aide", pb.MessageKind_POLL, p.Seq, "now")
	wantCode("a close with a body", err, pb.Code_INVALID)
	if _, err := post("aide", pb.MessageKind_POLL, p.Seq, ""); err != nil {
		t.Fatalf("an admin closes a member's poll: %v", err)
	}
	_, err = post("pupil", pb.MessageKind_POLL, p.Seq, "")
	wantCode("a second close", err, pb.Code_POLL_CLOSED)
	_, err = post("pupil3", pb.MessageKind_VOTE, p.Seq, "[0]")
	wantCode("a vote after the close", err, pb.Code_POLL_CLOSED)
	wantResults("pupil", 10, "Trip? closed voters=2 mine=[2] yes:0[] no:1[pupil2] maybe:1[pupil]")

	// A multiple-choice poll; admins-only keeps a plain member from
	// posting polls, not from voting.
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "teacher", AdminsOnly: proto.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = post("pupil", pb.MessageKind_POLL, 0, `{"question":"q","options":["a","b"]}`)
	wantCode("a member's poll in an admins-only group", err, pb.Code_FORBIDDEN)
	m, err := post("teacher", pb.MessageKind_POLL, 0, `{"question":"Bring?","options":["food","drink","games"],"multiple":true}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := post("pupil", pb.MessageKind_VOTE, m.Seq, "[2,0]"); err != nil {
		t.Fatalf("two options of a multiple-choice poll: %v", err)
	}
	_, err = post("pupil2", pb.MessageKind_VOTE, m.Seq, "[1,1]")
	wantCode("an option twice", err, pb.Code_INVALID)
	if r, err := node.PollResults(ctx, "pupil", g, m.Seq, 5); err != nil || describe(r) != "Bring? open voters=1 mine=[0 2] food:1[pupil] drink:0[] games:1[pupil]" {
		t.Fatalf("the multiple-choice poll: %s, %v", describe(r), err)
	}

	// Recalled, a poll has no results and takes no votes.
	if _, err := node.Recall(ctx, g, "teacher", m.Seq); err != nil {
		t.Fatal(err)
	}
	_, err = node.PollResults(ctx, "pupil", g, m.Seq, 0)
	wantCode("results of a recalled poll", err, pb.Code_NOT_FOUND)
	_, err = post("pupil2", pb.MessageKind_VOTE, m.Seq, "[0]")
	wantCode("a vote on a recalled poll", err, pb.Code_NOT_FOUND)
}

// TestPollTallyOutlivesItsGrain: the tally a new activation loads, from
// the snapshot saved as votes came in and the log after it, counts what
// the last one did; a poll closed before a restart stays closed.
func TestPollTallyOutlivesItsGrain(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{SendRate: 1e6, SendBurst: 1 << 20}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:school"
	const pupils = 45 // past one snapshot (every 32 votes), with votes after it
	var members []string
	for i := range pupils {
		members = append(members, "p"+strconv.Itoa(i))
	}
	mustCreateGroup(t, node, g, "head", members...)
	p, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "head", Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"Uniforms?","options":["yes","no"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	vote := func(user, body string) {
		t.Helper()
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte(body)}); err != nil {
			t.Fatalf("%s votes: %v", user, err)
		}
	}
	// The tally is loaded before the votes, so it is kept in step with them.
	if _, err := node.PollResults(ctx, "head", g, p.Seq, 0); err != nil {
		t.Fatal(err)
	}
	for i, u := range members {
		vote(u, fmt.Sprintf("[%d]", i%2))
		mustSend(t, node, g, u, "chatter") // messages between the votes, which a load reads past
	}
	vote("p0", "[1]") // a change after the snapshot
	vote("p1", "")    // a vote taken back
	want := "Uniforms? open voters=44 mine=[] yes:22[] no:22[]"
	if r, err := node.PollResults(ctx, "head", g, p.Seq, 0); err != nil || describe(r) != want {
		t.Fatalf("before the restart: %s, %v; want %s", describe(r), err, want)
	}
	eventually(t, func() error {
		if _, err := store.LoadCheckpoint(ctx, "poll/"+g+"/"+strconv.FormatUint(p.Seq, 10)); err != nil {
			return fmt.Errorf("the tally's snapshot: %w", err)
		}
		return nil
	})

	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if r, err := node.PollResults(ctx, "head", g, p.Seq, 0); err != nil || describe(r) != want {
		t.Fatalf("after the restart: %s, %v; want %s", describe(r), err, want)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "head", Kind: pb.MessageKind_POLL, RefSeq: p.Seq}); err != nil {
		t.Fatal(err)
	}

	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	_, err = node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "p5", Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte("[0]")})
	if actors.CodeOf(err) != pb.Code_POLL_CLOSED {
		t.Fatalf("a vote after a restart on a closed poll: %v, want POLL_CLOSED", err)
	}
	if r, err := node.PollResults(ctx, "p0", g, p.Seq, 0); err != nil || !r.Closed || !slices.Equal(r.Mine, []uint32{1}) {
		t.Fatalf("after the close and a restart: %s, %v", describe(r), err)
	}
}

// describe is a tally on one line, for comparisons.
func describe(r *pb.PollResultsResponse) string {
	if r == nil {
		return "<nil>"
	}
	state := "open"
	if r.Closed {
		state = "closed"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s voters=%d mine=%v", r.Question, state, r.Voters, r.Mine)
	for _, o := range r.Options {
		fmt.Fprintf(&b, " %s:%d%v", o.Text, o.Votes, o.Voters)
	}
	return b.String()
}

// TestPollExpires: once retention takes a poll's content, its tally is
// gone too, even where the grain held it: no results, no votes.
func TestPollExpires(t *testing.T) {
	clock, setNow := testenv.SettableClock()
	start := time.Now()
	setNow(start)
	node := startCluster(t, 1, openStore(t), actors.Config{Retention: time.Hour, Now: clock})[0]
	ctx := tctx(t)
	const g = "g:shortlived"
	mustCreateGroup(t, node, g, "owner", "member")
	p, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "owner", Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"q","options":["a","b"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "member", Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte("[1]")}); err != nil {
		t.Fatal(err)
	}
	if r, err := node.PollResults(ctx, "member", g, p.Seq, 0); err != nil || r.Voters != 1 {
		t.Fatalf("results while the poll lives: %v, %v", r, err)
	}
	setNow(start.Add(2 * time.Hour))
	if _, err := node.PollResults(ctx, "member", g, p.Seq, 0); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("results of an expired poll: %v, want NOT_FOUND", err)
	}
	_, err = node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "member", Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte("[0]")})
	if actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("a vote on an expired poll: %v, want NOT_FOUND", err)
	}
}

// TestPollDeadline: a poll may close by itself at closes_at_ms, after now
// and at most MaxPollDuration ahead (both edges); from then on votes and
// closes are POLL_CLOSED and the results say closed, with no close in the
// log.
func TestPollDeadline(t *testing.T) {
	clock, setNow := testenv.SettableClock()
	start := time.Now()
	setNow(start)
	node := startCluster(t, 1, openStore(t), actors.Config{Now: clock, MaxPollDuration: 24 * time.Hour})[0]
	ctx := tctx(t)
	const g = "g:deadline"
	mustCreateGroup(t, node, g, "owner", "member")
	poll := func(closesAt time.Time) (*pb.SendResponse, error) {
		body := fmt.Sprintf(`{"question":"q","options":["a","b"],"closes_at_ms":%d}`, closesAt.UnixMilli())
		return node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "owner", Kind: pb.MessageKind_POLL, Body: []byte(body)})
	}
	for what, at := range map[string]time.Time{"now": start, "past the bound": start.Add(24*time.Hour + time.Millisecond)} {
		if _, err := poll(at); actors.CodeOf(err) != pb.Code_INVALID {
			t.Fatalf("a poll closing %s: %v, want INVALID", what, err)
		}
	}
	if _, err := poll(start.Add(24 * time.Hour)); err != nil {
		t.Fatalf("a poll closing at the bound: %v", err)
	}
	closesAt := start.Add(time.Hour)
	p, err := poll(closesAt)
	if err != nil {
		t.Fatal(err)
	}
	vote := func(body string) error {
		_, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "member", Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte(body)})
		return err
	}
	if err := vote("[0]"); err != nil {
		t.Fatal(err)
	}
	setNow(closesAt)
	if err := vote("[1]"); actors.CodeOf(err) != pb.Code_POLL_CLOSED {
		t.Fatalf("a vote at the deadline: %v, want POLL_CLOSED", err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "owner", Kind: pb.MessageKind_POLL, RefSeq: p.Seq}); actors.CodeOf(err) != pb.Code_POLL_CLOSED {
		t.Fatalf("a close after the deadline: %v, want POLL_CLOSED", err)
	}
	r, err := node.PollResults(ctx, "member", g, p.Seq, 0)
	if err != nil || !r.Closed || r.ClosesAtMs != closesAt.UnixMilli() || !slices.Equal(r.Mine, []uint32{0}) {
		t.Fatalf("results after the deadline: %s (closes at %d), %v", describe(r), r.GetClosesAtMs(), err)
	}
}

// TestPollAcrossNodes: votes and results reach a poll's grain from every
// node of a cluster (the tally request crosses to the node that hosts
// the conversation).
func TestPollAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2, openStore(t), actors.Config{})
	ctx := tctx(t)
	const g = "g:across"
	mustCreateGroup(t, nodes[0], g, "owner", "a", "b")
	p, err := nodes[0].Send(ctx, &pb.SendMessage{Conv: g, Sender: "owner", Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"q","options":["x","y"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"a", "b"} {
		if _, err := nodes[i].Send(ctx, &pb.SendMessage{Conv: g, Sender: u, Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte(fmt.Sprintf("[%d]", i))}); err != nil {
			t.Fatalf("%s votes through node %d: %v", u, i, err)
		}
	}
	for i, n := range nodes {
		if r, err := n.PollResults(ctx, "owner", g, p.Seq, 10); err != nil || describe(r) != "q open voters=2 mine=[] x:1[a] y:1[b]" {
			t.Fatalf("results through node %d: %s, %v", i, describe(r), err)
		}
	}
}

// The node's poll limits are checked at start, at their edges: at least
// MinPollOptions options, at most MaxPollOptionsLimit (0: the default).
func TestPollLimitsOfTheConfig(t *testing.T) {
	store := openStore(t)
	for _, tc := range []struct {
		options int
		ok      bool
	}{
		{0, true}, // the default
		{actors.MinPollOptions, true},
		{actors.MinPollOptions - 1, false},
		{actors.MaxPollOptionsLimit, true},
		{actors.MaxPollOptionsLimit + 1, false},
	} {
		if _, err := actors.NewRuntime(actors.Config{MaxPollOptions: tc.options}, store); (err == nil) != tc.ok {
			t.Errorf("max poll options %d: %v, want accepted %v", tc.options, err, tc.ok)
		}
	}
}
