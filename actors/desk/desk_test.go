package desk_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

func TestScenesValidatedAndPersisted(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{MaxScenes: 2})
	ctx := tctx(t)
	bad := []desk.Scene{
		{Name: "listing", Line: "cars"},                                    // no route
		{Name: "listing", Line: "cars", Route: []string{"queue:"}},         // no skill
		{Name: "listing", Line: "cars", Route: []string{"robot"}},          // unknown step
		{Name: "listing", Line: "cars", Route: []string{"queue:a", "bot"}}, // robot last
		{Name: "list ing", Line: "cars", Route: []string{"bot"}},
		{Name: "listing", Line: "", Route: []string{"bot"}},
		{Name: "listing", Line: "cars", Route: strings.Split(strings.Repeat("queue:a,", 9)[:8*9-1], ",")},
	}
	for _, sc := range bad {
		if _, err := n.Desk.SetScene(ctx, sc); code(err) != pb.Code_INVALID {
			t.Errorf("SetScene(%+v) = %v, want INVALID", sc, err)
		}
	}
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"bot", "queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "complaint", Line: "cars", Route: []string{"agent:a1", "queue:service"}}); err != nil {
		t.Fatal(err)
	}
	// The limit is on distinct scenes: a third is refused, replacing one is not.
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "third", Line: "cars", Route: []string{"bot"}}); code(err) != pb.Code_TOO_LARGE {
		t.Fatalf("third scene over the limit of 2: %v", err)
	}
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	n.Stop(false)
	n = startNode(t, store, desk.Config{})
	scenes, err := n.Desk.Scenes(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(scenes)
	want := "[{complaint cars [agent:a1 queue:service]} {listing cars [queue:sales]}]"
	if got != want {
		t.Fatalf("scenes after restart %s, want %s", got, want)
	}
	if _, err := n.Desk.Enter(ctx, "c1", "nosuch/1"); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("enter unknown scene: %v", err)
	}
	if _, err := n.Desk.Enter(ctx, "c 1", "listing/1"); code(err) != pb.Code_INVALID {
		t.Fatalf("enter with a bad user: %v", err)
	}
}

func TestBotHandoverQueueTransferClose(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"bot", "queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []desk.AgentUpdate{
		{User: "a1", Status: ptr("busy")},
		{User: "a1", Capacity: ptr(-1)},
		{User: "a1", Capacity: ptr(101)},
		{User: "a1", Skills: ptr([]string{"no skill"})},
	} {
		if _, err := d.SetAgent(ctx, bad); code(err) != pb.Code_INVALID {
			t.Errorf("SetAgent(%+v) = %v, want INVALID", bad, err)
		}
	}
	a1, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"sales"})})
	if err != nil || a1.Capacity != 1 || a1.Status != desk.Online {
		t.Fatalf("a1: %+v %v", a1, err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(2), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}

	s, err := d.Enter(ctx, "c1", "listing/123")
	if err != nil {
		t.Fatal(err)
	}
	if s.State != desk.StateBot || s.Agent != nil || s.Bot != "bot" || !strings.HasPrefix(s.Conv, "s:cars:c1:") {
		t.Fatalf("enter: %+v", s)
	}
	conv := s.Conv
	again, err := d.Enter(ctx, "c1", "listing/123")
	if err != nil || again.Session != s.Session {
		t.Fatalf("entering an open session again: %+v %v", again, err)
	}
	if _, err := d.Handover(ctx, "a1", conv); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("handover by an agent: %v", err)
	}
	if _, err := d.Handover(ctx, "bot", conv); err != nil {
		t.Fatal(err)
	}
	// Both agents are idle: the tie goes to a1 by name.
	eventually(t, func() error {
		s, err = d.Session(ctx, "a1", conv)
		if err != nil || agentOf(s) != "a1" {
			return fmt.Errorf("session %+v %v, want agent a1", s, err)
		}
		return nil
	})
	if _, err := d.Transfer(ctx, "a2", conv, "user:a1", ""); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("transfer by an agent not holding it: %v", err)
	}
	if _, err := d.Transfer(ctx, "a1", conv, "user:a3", ""); code(err) != pb.Code_BUSY {
		t.Fatalf("transfer to an offline agent: %v", err)
	}
	if _, err := d.Transfer(ctx, "a1", conv, "a2", ""); code(err) != pb.Code_INVALID {
		t.Fatalf("transfer without a kind: %v", err)
	}
	s, err = d.Transfer(ctx, "a1", conv, "user:a2", "wants a test drive on Friday")
	if err != nil || agentOf(s) != "a2" {
		t.Fatalf("transfer: %+v %v", s, err)
	}
	// The note is internal: agents see it, the customer and the log do not.
	if s, _ := d.Session(ctx, "a2", conv); len(s.Notes) != 1 || s.Notes[0].Text != "wants a test drive on Friday" {
		t.Fatalf("agent's view of the notes: %+v", s.Notes)
	}
	if s, _ := d.Session(ctx, "c1", conv); len(s.Notes) != 0 {
		t.Fatalf("customer sees notes: %+v", s.Notes)
	}
	for _, ag := range []string{"a1", "a2"} {
		info, _ := d.Agent(ctx, ag)
		want := map[string]int{"a1": 0, "a2": 1}[ag]
		if info.Load != want {
			t.Fatalf("%s load %d after transfer, want %d", ag, info.Load, want)
		}
	}
	if _, err := d.Close(ctx, "a1", conv, ""); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("close by the agent who transferred it away: %v", err)
	}
	if _, err := d.Close(ctx, "a2", conv, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Close(ctx, "a2", conv, ""); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("closing twice: %v", err)
	}
	evs := deskEvents(t, n, "c1", conv)
	if got, want := kinds(evs), "start handover queued assigned transfer close "; got != want {
		t.Fatalf("desk events %q, want %q", got, want)
	}
	for _, e := range evs {
		if e["session"] != s.Session {
			t.Fatalf("event %v not of session %s", e, s.Session)
		}
		for _, v := range e {
			if strings.Contains(fmt.Sprint(v), "Friday") {
				t.Fatalf("the internal note is in the conversation: %v", e)
			}
		}
	}
	members, _, err := n.Members(ctx, conv, "c1", "", 0)
	if err != nil || len(members) != 1 || members[0].User != "c1" {
		t.Fatalf("members after close: %v %v", members, err)
	}

	// Back within the sticky window: same conversation, a new session, and
	// the last agent (a2) although a1 is less loaded.
	if _, err := d.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Capacity: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	// Make a2 busier than a1, so only the preference explains a2.
	if _, err := d.Enter(ctx, "c9", "listing/9"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Agent(ctx, "a1"); in.Load != 1 {
			return fmt.Errorf("a1 load %d, want 1", in.Load)
		}
		return nil
	})
	s2, err := d.Enter(ctx, "c1", "listing/456")
	if err != nil || s2.Conv != conv || s2.Session == s.Session {
		t.Fatalf("sticky re-entry: %+v %v (first %+v)", s2, err, s)
	}
	eventually(t, func() error {
		s2, err = d.Session(ctx, "a2", conv)
		if err != nil || agentOf(s2) != "a2" {
			return fmt.Errorf("re-entry %+v %v, want agent a2", s2, err)
		}
		return nil
	})
}

func TestStickyWindowExpires(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{StickyWindow: 50 * time.Millisecond})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "s", Line: "l", Route: []string{"bot"}}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Enter(ctx, "c1", "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Handover(ctx, "c1", s.Conv); code(err) != pb.Code_INVALID {
		t.Fatalf("handover with a robot-only route: %v", err)
	}
	if _, err := d.Close(ctx, "c1", s.Conv, "bye"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	s2, err := d.Enter(ctx, "c1", "s")
	if err != nil || s2.Conv == s.Conv {
		t.Fatalf("after the sticky window: %+v %v, want a new conversation (was %s)", s2, err, s.Conv)
	}
	if _, err := d.Close(ctx, "c1", s.Conv, ""); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("closing the old conversation: %v", err)
	}
}

func TestOfflineRequeues(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "help", Line: "l", Route: []string{"queue:care"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	s1, err := d.Enter(ctx, "c1", "help")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := d.Enter(ctx, "c2", "help")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		q, err := d.Queue(ctx, "care")
		if err != nil || len(q.Waiting) != 1 || q.Waiting[0].Session != s2.Session || q.Agents[0].Load != 1 {
			return fmt.Errorf("queue %+v %v, want c2 waiting and a1 loaded", q, err)
		}
		return nil
	})
	if s, _ := d.Session(ctx, "a1", s2.Conv); s.QueuePosition != 1 || s.Agent != nil {
		t.Fatalf("c2 while waiting: %+v", s)
	}
	// a2 comes online: c2 goes to a2. a2 turns away (keeps c2, takes
	// nothing new) and a1 goes offline: c1 goes back to the queue and waits.
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if s, _ := d.Session(ctx, "a2", s2.Conv); agentOf(s) != "a2" {
			return fmt.Errorf("c2 %+v", s)
		}
		return nil
	})
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Away)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Offline)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		s, _ := d.Session(ctx, "a2", s1.Conv)
		if s.State != desk.StateQueued || s.QueuePosition != 1 {
			return fmt.Errorf("c1 after a1 went offline: %+v", s)
		}
		return nil
	})
	if got := kinds(deskEvents(t, n, "c1", s1.Conv)); got != "start queued assigned requeue queued " {
		t.Fatalf("c1 events %q", got)
	}
	// The customer gives up: abandoned.
	if _, err := d.Close(ctx, "c1", s1.Conv, "gave up"); err != nil {
		t.Fatal(err)
	}
	q, _ := d.Queue(ctx, "care")
	if len(q.Waiting) != 0 || q.Stats.Abandoned != 1 || q.Stats.Assigned != 2 {
		t.Fatalf("queue: %+v", q)
	}
	if a1, _ := d.Agent(ctx, "a1"); a1.Load != 0 {
		t.Fatalf("a1 load %d offline", a1.Load)
	}
}

// TestInactivityCloses: a session closes once its conversation was silent
// for the timeout, and not while people talk.
func TestInactivityCloses(t *testing.T) {
	// Long enough that a loaded machine's slow send does not look like
	// silence: c1 speaks every timeout/8 below.
	const timeout = 1500 * time.Millisecond
	n := startNode(t, openStore(t), desk.Config{InactivityTimeout: timeout})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	s1 := enterAssigned(t, d, "c1", "help")
	s2, err := d.Enter(ctx, "c2", "help") // waits: a1 is full
	if err != nil {
		t.Fatal(err)
	}
	// c1 keeps talking for three timeouts; c2 waits in silence.
	for end := time.Now().Add(3 * timeout); time.Now().Before(end); time.Sleep(timeout / 8) {
		if _, err := n.Send(ctx, &pb.SendMessage{Conv: s1.Conv, Sender: "c1", Body: []byte("still there?")}); err != nil {
			t.Fatal(err)
		}
		if s, _ := d.Session(ctx, "a1", s1.Conv); s.State != desk.StateAssigned {
			t.Fatalf("c1 closed while talking: %+v", s)
		}
	}
	// c2 timed out while waiting (abandoned); once c1 is silent it closes
	// too (c2's slot was never taken: c2 was gone first).
	eventually(t, func() error {
		for _, c := range []string{s1.Conv, s2.Conv} {
			if s, _ := d.Session(ctx, "a1", c); s.State != desk.StateClosed {
				return fmt.Errorf("%s still %s", c, s.State)
			}
		}
		return nil
	})
	q, _ := d.Queue(ctx, "care")
	if q.Stats.Abandoned != 1 || q.Stats.Assigned != 1 {
		t.Fatalf("queue after the timeouts: %+v", q)
	}
	evs := deskEvents(t, n, "a1", s1.Conv)
	if last := evs[len(evs)-1]; last["desk"] != "close" || last["by"] != "desk" || last["reason"] != "inactive" {
		t.Fatalf("c1's last desk event %v", last)
	}
	if a1, _ := d.Agent(ctx, "a1"); a1.Load != 0 {
		t.Fatalf("a1 load %d after the close", a1.Load)
	}
}

// TestInactivityWarning: with a warning set, a silent session is told
// once before it closes, with when it will; a message after the warning
// moves the close and earns a new warning; the warning itself is no
// activity. A warning as long as the timeout is refused at start.
func TestInactivityWarning(t *testing.T) {
	const timeout, warning = 2 * time.Second, time.Second
	if _, err := boot.StartNode(boot.NodeConfig{Store: openStore(t), Logger: testLogger(), ClusterName: "desk-test",
		Desk: desk.Config{InactivityTimeout: timeout, InactivityWarning: timeout}}); err == nil {
		t.Fatal("a warning as long as the timeout started")
	}
	n := startNode(t, openStore(t), desk.Config{InactivityTimeout: timeout, InactivityWarning: warning})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	s := enterAssigned(t, d, "c1", "help")
	warnings := func() []map[string]any { return stepsOf(deskEvents(t, n, "c1", s.Conv), "idle_warning") }
	eventually(t, func() error {
		if w := warnings(); len(w) != 1 {
			return fmt.Errorf("warnings %v, want one", w)
		}
		return nil
	})
	if st, _ := d.Session(ctx, "a1", s.Conv); st.State != desk.StateAssigned {
		t.Fatalf("closed at the warning: %+v", st)
	}
	// The customer answers: the silence starts again, and so does its warning.
	answered := time.Now()
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: "c1", Body: []byte("still here")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if st, _ := d.Session(ctx, "a1", s.Conv); st.State != desk.StateClosed {
			return fmt.Errorf("still %s", st.State)
		}
		return nil
	})
	// Message times are whole milliseconds: the customer's may read up to 1 ms early.
	if since := time.Since(answered); since < timeout-time.Millisecond {
		t.Fatalf("closed %v after the customer's message, want at least %v", since, timeout)
	}
	evs := deskEvents(t, n, "c1", s.Conv)
	if k := kinds(evs); !strings.HasSuffix(k, "idle_warning idle_warning close ") {
		t.Fatalf("steps %q, want two warnings then the close", k)
	}
	w := warnings()
	if closes, _ := w[1]["closes_at_ms"].(float64); int64(closes) < answered.UnixMilli()+timeout.Milliseconds()-50 {
		t.Fatalf("the second warning names %v, want the answer's time plus %v", w[1]["closes_at_ms"], timeout)
	}
}

// TestDeskEventRules: the conversation grain takes desk steps only in
// service conversations, with a bounded body and member list, and applies
// the membership change at the step's seq.
func TestDeskEventRules(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	if _, err := n.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:1", Kind: pb.ConvKind_GROUP, Creator: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.DeskEvent(ctx, &pb.DeskEvent{Conv: "g:1", Actor: "desk", Body: []byte(`{"desk":"x"}`)}); code(err) != pb.Code_INVALID {
		t.Fatalf("desk event in a group: %v", err)
	}
	if _, err := n.CreateConversation(ctx, &pb.CreateConversation{Conv: "s:1", Kind: pb.ConvKind_SERVICE,
		Members: []*pb.Member{{User: "c1", Role: pb.Role_CUSTOMER}}}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, n.Config().MaxBodyBytes+1)
	many := make([]string, 17)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	for _, bad := range []*pb.DeskEvent{
		{Conv: "s:1", Actor: "desk"},            // no body
		{Conv: "s:1", Actor: "desk", Body: big}, // over the body limit
		{Conv: "s:1", Actor: "desk", Body: []byte("{}"), AddAgents: many},
		{Conv: "s:1", Actor: "de sk", Body: []byte("{}")},
		{Conv: "s:1", Actor: "desk", Body: []byte("{}"), Remove: []string{""}},
	} {
		if _, err := n.DeskEvent(ctx, bad); code(err) != pb.Code_INVALID {
			t.Errorf("DeskEvent(actor %q, %d bytes, %d agents) = %v, want INVALID", bad.Actor, len(bad.Body), len(bad.AddAgents), err)
		}
	}
	if _, err := n.DeskEvent(ctx, &pb.DeskEvent{Conv: "s:nosuch", Actor: "desk", Body: []byte("{}")}); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("desk event in a missing conversation: %v", err)
	}
	seq, err := n.DeskEvent(ctx, &pb.DeskEvent{Conv: "s:1", Actor: "desk", Body: []byte(`{"desk":"assigned"}`), AddAgents: []string{"a1"}, AddMembers: []string{"bot"}})
	if err != nil {
		t.Fatal(err)
	}
	ms, _, err := n.Members(ctx, "s:1", "c1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]pb.Role{}
	for _, m := range ms {
		roles[m.User] = m.Role
		if m.User != "c1" && m.JoinedSeq != seq {
			t.Errorf("%s joined at %d, the step is %d", m.User, m.JoinedSeq, seq)
		}
	}
	if len(roles) != 3 || roles["a1"] != pb.Role_AGENT || roles["bot"] != pb.Role_MEMBER {
		t.Fatalf("members after the step: %v", roles)
	}
	if _, err := n.DeskEvent(ctx, &pb.DeskEvent{Conv: "s:1", Actor: "a1", Body: []byte(`{"desk":"close"}`), Remove: []string{"a1", "bot", "nobody"}}); err != nil {
		t.Fatal(err)
	}
	if ms, _, _ := n.Members(ctx, "s:1", "c1", "", 0); len(ms) != 1 {
		t.Fatalf("members after the close: %v", ms)
	}
	if got := kinds(deskEvents(t, n, "c1", "s:1")); got != "assigned close " {
		t.Fatalf("events %q", got)
	}
}

// TestQueueLimit: a full queue refuses an entry with BUSY, and the refused
// customer's thread does not keep a session that waits nowhere.
func TestQueueLimit(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{MaxWaiting: 2})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "help", Line: "l", Route: []string{"queue:care"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2"} {
		if s, err := d.Enter(ctx, c, "help"); err != nil || s.QueuePosition == 0 {
			t.Fatalf("%s: %+v %v", c, s, err)
		}
	}
	if _, err := d.Enter(ctx, "c3", "help"); code(err) != pb.Code_BUSY {
		t.Fatalf("third entry into a queue of 2: %v", err)
	}
	// Once there is room, c3 gets in.
	if _, err := d.Close(ctx, "c1", "s:l:c1:1", "gave up"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		s, err := d.Enter(ctx, "c3", "help")
		if err != nil || s.QueuePosition != 2 {
			return fmt.Errorf("c3: %+v %v", s, err)
		}
		return nil
	})
}

// TestCustomerMessageReopens: a customer who writes in the conversation
// after its session closed gets a new session of the same scene, with the
// last agent again; a second message joins it instead of opening another.
// With NoReopen the message opens nothing.
func TestCustomerMessageReopens(t *testing.T) {
	for _, noReopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoReopen=%v", noReopen), func(t *testing.T) {
			n := startNode(t, openStore(t), desk.Config{NoReopen: noReopen})
			ctx := tctx(t)
			d := n.Desk
			careDesk(t, d, 2)
			s1 := enterAssigned(t, d, "c1", "help/42")
			if _, err := d.Close(ctx, "a1", s1.Conv, "resolved"); err != nil {
				t.Fatal(err)
			}
			sent, err := n.Send(ctx, &pb.SendMessage{Conv: s1.Conv, Sender: "c1", Body: []byte("one more question")})
			if err != nil {
				t.Fatal(err)
			}
			if noReopen {
				time.Sleep(300 * time.Millisecond) // the hook's tell would have landed by now
				if s, err := d.Session(ctx, "a1", s1.Conv); err != nil || s.Session != s1.Session || s.State != desk.StateClosed {
					t.Fatalf("with NoReopen, after the customer's message: %+v %v", s, err)
				}
				return
			}
			var s2 desk.SessionInfo
			eventually(t, func() error {
				s2, err = d.Session(ctx, "a1", s1.Conv)
				if err != nil || s2.Session == s1.Session || agentOf(s2) != "a1" {
					return fmt.Errorf("after the customer's message: %+v %v, want a new session with a1", s2, err)
				}
				return nil
			})
			if s2.Scene != s1.Scene || s2.Conv != s1.Conv {
				t.Fatalf("reopened %+v, want scene %s in %s", s2, s1.Scene, s1.Conv)
			}
			if _, err := n.Send(ctx, &pb.SendMessage{Conv: s1.Conv, Sender: "c1", Body: []byte("hello?")}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if s, _ := d.Session(ctx, "a1", s1.Conv); s.Session != s2.Session {
				t.Fatalf("a message in the open session opened %s (was %s)", s.Session, s2.Session)
			}
			// a1, back in the conversation, has both messages unread: the one
			// that reopened it came before a1 joined again.
			eventually(t, func() error {
				l, err := n.ListConversations(ctx, "a1", "", 10)
				if err != nil {
					return err
				}
				for _, c := range l.Conversations {
					if c.Conv == s1.Conv && c.Unread == 2 {
						return nil
					}
				}
				return fmt.Errorf("a1's conversations %v, want 2 unread in %s", l.Conversations, s1.Conv)
			})
			evs := deskEvents(t, n, "c1", s1.Conv)
			if got, want := kinds(evs), "start queued assigned close start queued assigned "; got != want {
				t.Fatalf("desk events %q, want %q", got, want)
			}
			if by := evs[4]["reopened_by"]; by != float64(sent.Seq) || evs[4]["session"] != s2.Session || evs[4]["data"] != "42" {
				t.Fatalf("the reopening start %v, want reopened_by %d in %s", evs[4], sent.Seq, s2.Session)
			}
		})
	}
}

// TestAgentsSeeTheWholeConversation: the agent assigned sees what the
// customer wrote while waiting, and an agent who takes over by transfer
// sees what was said before it joined.
func TestAgentsSeeTheWholeConversation(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "help", Line: "l", Route: []string{"queue:care"}}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Enter(ctx, "c1", "help")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: "c1", Body: []byte("my order never came")}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a1", "a2"} {
		if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: a, Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", s.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("c1 %+v, want a1", in)
		}
		return nil
	})
	bodies := func(user string) string {
		msgs, err := n.History(ctx, &pb.GetHistory{Conv: s.Conv, User: user, OldestFirst: true, Limit: 100})
		if err != nil {
			t.Fatalf("history as %s: %v", user, err)
		}
		var out []string
		for _, m := range msgs {
			if m.Kind == pb.MessageKind_NORMAL {
				out = append(out, string(m.Body))
			}
		}
		return strings.Join(out, "|")
	}
	if got := bodies("a1"); got != "my order never came" {
		t.Fatalf("a1 sees %q, want the customer's message from before the assignment", got)
	}
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: "a1", Body: []byte("let me check")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Transfer(ctx, "a1", s.Conv, "user:a2", ""); err != nil {
		t.Fatal(err)
	}
	if got := bodies("a2"); got != "my order never came|let me check" {
		t.Fatalf("a2 sees %q after the transfer, want what was said before", got)
	}
}

// A Go caller's text that is not UTF-8 is refused, whichever request
// carries it: encoding the request for its grain would have replaced the
// bytes silently.
func TestRequestsNotUTF8Refused(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	s := enterAssigned(t, d, "c1", "help/1")
	if _, err := d.Transfer(ctx, "a1", s.Conv, "user:a2", "call back \xff"); code(err) != pb.Code_INVALID || !strings.Contains(err.Error(), "note is not UTF-8") {
		t.Errorf("a transfer note not UTF-8: %v", err)
	}
	if _, err := d.Close(ctx, "a1", s.Conv, "done\xc3"); code(err) != pb.Code_INVALID {
		t.Errorf("a close reason not UTF-8: %v", err)
	}
	if _, err := d.SetSavedReplies(ctx, "l", []desk.SavedReply{{Name: "hi", Text: "hello"}, {Name: "bye", Text: "\xffbye"}}); code(err) != pb.Code_INVALID {
		t.Errorf("a saved reply not UTF-8: %v", err)
	}
	if _, err := d.SetHours(ctx, "l", &desk.Hours{TZ: "UTC", Message: "closed\xfe"}); code(err) != pb.Code_INVALID {
		t.Errorf("an hours message not UTF-8: %v", err)
	}
	// Nothing changed: the session is still a1's, and a valid close works.
	if got, err := d.Session(ctx, "c1", s.Conv); err != nil || got.State != desk.StateAssigned || got.Agent == nil || *got.Agent != "a1" {
		t.Fatalf("the session after the refusals: %+v %v", got, err)
	}
	if _, err := d.Close(ctx, "a1", s.Conv, "résolu"); err != nil {
		t.Fatalf("a valid close: %v", err)
	}
	if _, err := d.Rate(ctx, "c1", s.Conv, 5, "great\xff"); code(err) != pb.Code_INVALID {
		t.Errorf("a rating comment not UTF-8: %v", err)
	}
	if _, err := d.Rate(ctx, "c1", s.Conv, 5, "great"); err != nil {
		t.Errorf("the same rating in UTF-8: %v", err)
	}
}
