package actors_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"google.golang.org/protobuf/proto"
)

// bodiesOf reads conv's texts as user, oldest first.
func bodiesOf(t *testing.T, node *boot.Node, conv, user string) []string {
	t.Helper()
	out, err := tryBodiesOf(t, node, conv, user)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryBodiesOf is bodiesOf for a conversation that may not exist yet.
func tryBodiesOf(t *testing.T, node *boot.Node, conv, user string) ([]string, error) {
	ms, err := node.History(tctx(t), &pb.GetHistory{Conv: conv, User: user, OldestFirst: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.Kind == pb.MessageKind_NORMAL {
			out = append(out, m.Sender+":"+string(m.Body))
		}
	}
	return out, nil
}

// TestScheduledMessages: scheduled messages go out at their time as
// their sender's, into a group and to a user never written to; one
// scheduled again with its client message id is replaced, one cancelled
// never goes; every bound is refused at its edge; one whose sender was
// removed by its time is dropped; and one outlives the node it was
// scheduled on.
func TestScheduledMessages(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{ScheduleInterval: 50 * time.Millisecond, MaxScheduledMessages: 3, MaxScheduleAhead: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "ann")
	schedule := func(user, to, conv, id, text string, at time.Time) (string, error) {
		s, err := node.Schedule(ctx, user, to, &pb.SendMessage{Conv: conv, ClientMsgId: id, Body: []byte(text)}, at)
		return s.ID, err
	}
	soon := time.Now().Add(400 * time.Millisecond)
	if _, err := schedule("teacher", "", g, "s1", "homework: page 12", soon); err != nil {
		t.Fatal(err)
	}
	if _, err := schedule("teacher", "", g, "s1", "homework: page 14", soon); err != nil { // the same id: replaced
		t.Fatal(err)
	}
	if _, err := schedule("teacher", "dad", "", "s2", "ann did well", soon); err != nil {
		t.Fatal(err)
	}
	cancelled, err := schedule("teacher", "", g, "s3", "never", soon)
	if err != nil {
		t.Fatal(err)
	}
	list, err := node.ScheduledSends(ctx, "teacher")
	if err != nil || len(list) != 3 || string(list[0].Send.Body) == "homework: page 12" {
		t.Fatalf("the teacher's scheduled: %v, %v", list, err)
	}

	// The bounds, at their edges.
	for what, c := range map[string]struct {
		to, conv, id string
		at           time.Time
		want         pb.Code
	}{
		"a 4th of 3":           {"", g, "s4", time.Now().Add(time.Minute), pb.Code_TOO_MANY},
		"now":                  {"", g, "s5", time.Now(), pb.Code_INVALID},
		"past the hour ahead":  {"", g, "s6", time.Now().Add(time.Hour + time.Minute), pb.Code_INVALID},
		"not a member":         {"", "g:other", "s7", time.Now().Add(time.Minute), pb.Code_NOT_MEMBER},
		"no client message id": {"", g, "", time.Now().Add(time.Minute), pb.Code_INVALID},
		"to oneself":           {"teacher", "", "s8", time.Now().Add(time.Minute), pb.Code_INVALID},
	} {
		if _, err := schedule("teacher", c.to, c.conv, c.id, "x", c.at); actors.CodeOf(err) != c.want {
			t.Errorf("scheduling %s: %v, want %v", what, err, c.want)
		}
	}
	mustCreateGroup(t, node, "g:other", "x", "y")
	for what, req := range map[string]*pb.SendMessage{
		"a file":     {Conv: g, ClientMsgId: "f", Body: []byte("x"), MediaId: "0123456789abcdef0123456789abcdef"},
		"a location": {Conv: g, ClientMsgId: "l", Body: []byte("x"), Location: &pb.Location{Lat: 1, Lng: 2}},
		"a reaction": {Conv: g, ClientMsgId: "r", Body: []byte("👍"), Kind: pb.MessageKind_REACTION, RefSeq: 1},
		"no body":    {Conv: g, ClientMsgId: "e"},
	} {
		if _, err := node.Schedule(ctx, "ann", "", req, time.Now().Add(time.Minute)); actors.CodeOf(err) != pb.Code_INVALID {
			t.Errorf("scheduling %s: %v, want INVALID", what, err)
		}
	}
	if err := node.Unschedule(ctx, "teacher", cancelled); err != nil {
		t.Fatal(err)
	}
	if err := node.Unschedule(ctx, "teacher", cancelled); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("cancelling twice: %v, want NOT_FOUND", err)
	}

	// Out at their time (not before: its stored time says), and the
	// list empties.
	eventually(t, func() error {
		got, want := bodiesOf(t, node, g, "ann"), []string{"teacher:homework: page 14"}
		if !slices.Equal(got, want) {
			return fmt.Errorf("the group: %v, want %v", got, want)
		}
		if got, err := tryBodiesOf(t, node, actors.DirectConvID("teacher", "dad"), "dad"); err != nil || !slices.Equal(got, []string{"teacher:ann did well"}) {
			return fmt.Errorf("dad's: %v, %v", got, err)
		}
		if list, err := node.ScheduledSends(ctx, "teacher"); err != nil || len(list) != 0 {
			return fmt.Errorf("still scheduled: %v, %v", list, err)
		}
		return nil
	})
	ms, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "ann", Limit: 1})
	if err != nil || len(ms) != 1 || ms[0].ServerTsMs < soon.UnixMilli() || ms[0].ClientMsgId != "s1" {
		t.Fatalf("the sent message %v, %v: want it stored at %d or later, with its client message id", ms, err, soon.UnixMilli())
	}

	// Removed by its time: not sent; kept, failed, for ann to see (at the
	// time it was due), until she cancels it.
	due := time.Now().Add(300 * time.Millisecond)
	failed, err := schedule("ann", "", g, "a1", "am I still here?", due)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_REMOVE, 0, "ann"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		list, err := node.ScheduledSends(ctx, "ann")
		if err != nil || len(list) != 1 || !strings.HasPrefix(list[0].Failed, "NOT_MEMBER") || !list[0].At.Equal(due.Truncate(time.Millisecond)) {
			return fmt.Errorf("ann's scheduled: %+v, %v; want it failed NOT_MEMBER, due at %v", list, err, due)
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond) // more sweeps: a failed one is not tried again
	if got := bodiesOf(t, node, g, "teacher"); slices.Contains(got, "ann:am I still here?") {
		t.Fatalf("a removed member's scheduled message went out: %v", got)
	}
	if err := node.Unschedule(ctx, "ann", failed); err != nil {
		t.Fatal(err)
	}
	if list, err := node.ScheduledSends(ctx, "ann"); err != nil || len(list) != 0 {
		t.Fatalf("after the cancel: %+v, %v", list, err)
	}

	// Scheduled on one node, sent by the next.
	if _, err := schedule("teacher", "", g, "s9", "after the restart", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	eventually(t, func() error {
		if got := bodiesOf(t, node, g, "teacher"); !slices.Contains(got, "teacher:after the restart") {
			return fmt.Errorf("after the restart the group holds %v", got)
		}
		return nil
	})
}

// TestScheduledAcrossNodes: every node of a cluster sends what is due;
// messages scheduled through either arrive once each.
func TestScheduledAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2, openStore(t), actors.Config{ScheduleInterval: 20 * time.Millisecond})
	ctx := tctx(t)
	const g = "g:both"
	mustCreateGroup(t, nodes[0], g, "owner", "a", "b")
	at := time.Now().Add(300 * time.Millisecond)
	var want []string
	for i := range 6 {
		text := fmt.Sprintf("m%d", i)
		if _, err := nodes[i%2].Schedule(ctx, "owner", "", &pb.SendMessage{Conv: g, ClientMsgId: text, Body: []byte(text)}, at); err != nil {
			t.Fatal(err)
		}
		want = append(want, "owner:"+text)
	}
	eventually(t, func() error {
		got := bodiesOf(t, nodes[1], g, "a")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("the group holds %v, want each of %v once", got, want)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // ten more rounds of both sweeps: nothing goes out twice
	if got := bodiesOf(t, nodes[0], g, "b"); len(got) != len(want) {
		t.Fatalf("the group holds %d messages, want %d: %v", len(got), len(want), got)
	}
}

// TestScheduledHeldDay: a send due yesterday that is refused for now
// (the sender's slow mode) stays, to be tried again, and does not hold
// up today's.
func TestScheduledHeldDay(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{ScheduleInterval: 20 * time.Millisecond})[0]
	ctx := tctx(t)
	const g = "g:slow"
	mustCreateGroup(t, node, g, "olga", "mia")
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "olga", SlowModeMs: proto.Uint32(3_600_000)}); err != nil {
		t.Fatal(err)
	}
	mustSend(t, node, g, "mia", "first")
	held, err := proto.Marshal(&pb.ScheduledMessage{Send: &pb.SendMessage{Conv: g, Sender: "mia", ClientMsgId: "held", Body: []byte("second")}})
	if err != nil {
		t.Fatal(err)
	}
	yesterday := storage.ScheduleDay(time.Now()).Add(-time.Second)
	if err := store.PutScheduled(ctx, storage.ScheduledSend{User: "mia", ID: actors.ScheduledID("mia", "held"), DueAt: yesterday, CreatedAt: yesterday, Send: held}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Schedule(ctx, "olga", "", &pb.SendMessage{Conv: g, ClientMsgId: "today", Body: []byte("today's")}, time.Now().Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if got := bodiesOf(t, node, g, "olga"); !slices.Contains(got, "olga:today's") {
			return fmt.Errorf("the group holds %v, not today's", got)
		}
		return nil
	})
	if list, err := node.ScheduledSends(ctx, "mia"); err != nil || len(list) != 1 || string(list[0].Send.Body) != "second" {
		t.Fatalf("mia's send refused for now: %v, %v; want it kept", list, err)
	}
	if got := bodiesOf(t, node, g, "olga"); slices.Contains(got, "mia:second") {
		t.Fatalf("sent within the slow mode: %v", got)
	}
}

// TestScheduleLimits: what a scheduled message may hold, at the edges of
// the node's bounds: its body (MaxBodyBytes), its mentions (MaxMentions)
// and how far ahead (MaxScheduleAhead).
func TestScheduleLimits(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxBodyBytes: 100, MaxMentions: 2, MaxScheduleAhead: time.Hour})[0]
	ctx := tctx(t)
	const g = "g:limits"
	mustCreateGroup(t, node, g, "olga", "mia", "max", "leo")
	n := 0
	schedule := func(body int, mentions []string, ahead time.Duration) error {
		n++
		_, err := node.Schedule(ctx, "olga", "", &pb.SendMessage{Conv: g, ClientMsgId: fmt.Sprint("l", n), Body: make([]byte, body), Mentions: mentions}, time.Now().Add(ahead))
		return err
	}
	for what, c := range map[string]struct {
		body     int
		mentions []string
		ahead    time.Duration
		want     pb.Code
	}{
		"a body at the bound":        {100, nil, time.Minute, pb.Code_OK},
		"a body one past it":         {101, nil, time.Minute, pb.Code_TOO_LARGE},
		"mentions at the bound":      {1, []string{"mia", "max"}, time.Minute, pb.Code_OK},
		"mentions one past it":       {1, []string{"mia", "max", "leo"}, time.Minute, pb.Code_INVALID},
		"just within the hour ahead": {1, nil, time.Hour - time.Second, pb.Code_OK},
		"a second past the hour":     {1, nil, time.Hour + time.Second, pb.Code_INVALID},
	} {
		if err := schedule(c.body, c.mentions, c.ahead); actors.CodeOf(err) != c.want {
			t.Errorf("%s: %v, want %v", what, err, c.want)
		}
	}
}
