package transport_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The desk requests that act as the connection's own user, over QUIC: a
// customer enters and waits, an agent sees the queue (who waits and who
// serves it by name), goes online and is
// assigned, transfers, the new agent closes; every refusal has its code.
func TestDeskWireRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	setUpDesk(t, e, []string{"queue:sales"}, desk.Offline, "a1", "a2")
	c1, a1, a2, eve := e.dial("c1", "web"), e.dial("a1", "wb"), e.dial("a2", "wb"), e.dial("eve", "phone")
	want := func(what string, err error, code wirepb.Code) { t.Helper(); wantCode(t, what, err, code) }

	// Entering: the customer is the connection's user.
	_, err := c1.DeskEnter(ctx, "", "")
	want("enter without a scene", err, wirepb.Code_INVALID)
	_, err = c1.DeskEnter(ctx, "listing/1", "2")
	want("enter with data twice", err, wirepb.Code_INVALID)
	_, err = c1.DeskEnter(ctx, "nosuch", "")
	want("enter an unknown scene", err, wirepb.Code_NOT_FOUND)
	// The line is closed until Sunday: the answer says when it opens.
	if _, err := e.nodes[0].Desk.SetHours(ctx, "cars", &desk.Hours{TZ: "UTC", Week: map[string]string{"sun": "09:00-17:00"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.nodes[0].Desk.SetTargets(ctx, "cars", &desk.Targets{FirstResponseMs: time.Hour.Milliseconds()}); err != nil {
		t.Fatal(err)
	}
	// The business gave c1 a priority in the line: the queue shows it.
	if _, err := e.nodes[0].Desk.SetPriority(ctx, "cars", "c1", 3); err != nil {
		t.Fatal(err)
	}
	// The customer and an agent have names: the queue's readers see them.
	if _, err := c1.SetProfile(ctx, &wirepb.ProfileRequest{Name: proto.String("Carla Diaz")}); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.SetProfile(ctx, &wirepb.ProfileRequest{Name: proto.String("Bea")}); err != nil {
		t.Fatal(err)
	}
	closedNow := time.Now().UTC().Weekday() != time.Sunday
	s, err := c1.DeskEnter(ctx, "listing", "1")
	if err != nil || s.State != desk.StateQueued || s.QueuePosition != 1 || s.Queue != "sales" || s.Agent != "" || !strings.HasPrefix(s.Conv, "s:cars:c1:") {
		t.Fatalf("enter with no agent online: %+v %v, want queued first", s, err)
	}
	if closedNow && (!s.AfterHours || time.UnixMilli(s.OpensAtMs).UTC().Weekday() != time.Sunday) {
		t.Fatalf("enter while the line is closed: %+v, want after_hours and an opening on Sunday", s)
	}
	conv := s.Conv
	if again, err := c1.DeskEnter(ctx, "listing/1", ""); err != nil || again.Session != s.Session {
		t.Fatalf("entering again: %+v %v, want the open session %s", again, err, s.Session)
	}

	// Status: registered agents only; capacity and skills stay the admin's.
	_, err = eve.DeskStatus(ctx, desk.Online)
	want("a stranger going online", err, wirepb.Code_FORBIDDEN)
	_, err = eve.DeskStatus(ctx, "")
	want("a stranger reading agent status", err, wirepb.Code_FORBIDDEN)
	_, err = a1.DeskStatus(ctx, "busy")
	want("an unknown status", err, wirepb.Code_INVALID)
	if b, err := a2.DeskStatus(ctx, ""); err != nil || b.Name != "Bea" {
		t.Fatalf("a2 reads its state: %+v %v, want its name", b, err)
	}
	me, err := a1.DeskStatus(ctx, "")
	if err != nil || me.User != "a1" || me.Status != desk.Offline || me.Capacity != 1 || len(me.Skills) != 1 || me.Skills[0] != "sales" {
		t.Fatalf("a1 reads its state: %+v %v", me, err)
	}

	// The queue, for its agents only. The due time counts from the
	// session's start, a clock reading the desk takes a moment before the
	// one it queues it at: a second's slack.
	q, err := a1.DeskQueue(ctx, "sales")
	if err != nil || q.TotalWaiting != 1 || len(q.Waiting) != 1 || q.Waiting[0].Conv != conv || q.Waiting[0].Position != 1 || q.Waiting[0].SinceMs <= 0 || q.Waiting[0].Priority != 3 ||
		q.Waiting[0].FirstResponseDueMs < q.Waiting[0].SinceMs+time.Hour.Milliseconds()-1000 {
		t.Fatalf("a1's queue: %+v %v, want c1 waiting first, its first response due an hour of opening hours after", q, err)
	}
	names := map[string]string{}
	for _, a := range q.Agents {
		names[a.User] = a.Name
	}
	if w := q.Waiting[0]; w.Customer != "c1" || w.CustomerName != "Carla Diaz" || names["a2"] != "Bea" || names["a1"] != "" || len(names) != 2 {
		t.Fatalf("a1's queue names %+v and agents %v: want c1 as Carla Diaz, a2 as Bea, a1 with none", w, names)
	}
	_, err = eve.DeskQueue(ctx, "sales")
	want("a stranger's queue", err, wirepb.Code_FORBIDDEN)
	_, err = c1.DeskQueue(ctx, "sales")
	want("the customer's queue", err, wirepb.Code_FORBIDDEN)
	_, err = a1.DeskQueue(ctx, "support")
	want("a skill a1 lacks", err, wirepb.Code_FORBIDDEN)
	_, err = a1.DeskQueue(ctx, "@a2")
	want("another agent's own queue", err, wirepb.Code_FORBIDDEN)
	if own, err := a1.DeskQueue(ctx, "@a1"); err != nil || own.TotalWaiting != 0 {
		t.Fatalf("a1's own queue: %+v %v", own, err)
	}
	_, err = a1.DeskQueue(ctx, "no such!")
	want("a malformed skill", err, wirepb.Code_INVALID)
	// Past the queue's order only a supervisor moves a waiting session.
	_, err = a1.DeskTransfer(ctx, conv, "user:a1", "")
	want("an agent picking a waiting session", err, wirepb.Code_FORBIDDEN)

	// a1 goes online and gets the session.
	if me, err := a1.DeskStatus(ctx, desk.Online); err != nil || me.Status != desk.Online {
		t.Fatalf("a1 online: %+v %v", me, err)
	}
	eventually(t, "a1 holds c1's session", func() bool {
		me, err := a1.DeskStatus(ctx, "")
		return err == nil && me.Load == 1 && len(me.Sessions) == 1 && me.Sessions[0] == s.Session
	})
	// The queue hears of the assignment after the agent and the thread.
	eventually(t, "the queue empty after the assignment", func() bool {
		q, err := a1.DeskQueue(ctx, "sales")
		return err == nil && q.TotalWaiting == 0 && len(q.Waiting) == 0
	})

	// Transfer: the session's agent only.
	_, err = eve.DeskTransfer(ctx, conv, "user:a2", "")
	want("a stranger's transfer", err, wirepb.Code_FORBIDDEN)
	_, err = c1.DeskTransfer(ctx, conv, "user:a2", "")
	want("the customer's transfer", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskTransfer(ctx, conv, "user:a1", "")
	want("another agent's transfer", err, wirepb.Code_FORBIDDEN)
	_, err = a1.DeskTransfer(ctx, conv, "a2", "")
	want("a transfer to no user: or queue:", err, wirepb.Code_INVALID)
	_, err = a1.DeskTransfer(ctx, "not a conv", "user:a2", "")
	want("a transfer of a malformed conv", err, wirepb.Code_INVALID)
	_, err = a1.DeskTransfer(ctx, "s:cars:nobody:1", "user:a2", "")
	want("a transfer of an unknown conv", err, wirepb.Code_NOT_FOUND)
	_, err = a1.DeskTransfer(ctx, "g:team", "user:a2", "")
	want("a transfer of a group", err, wirepb.Code_NOT_FOUND)
	_, err = a1.DeskTransfer(ctx, conv, "user:a2", strings.Repeat("n", 2001))
	want("a transfer note over its limit", err, wirepb.Code_TOO_LARGE)
	if _, err := a2.DeskStatus(ctx, desk.Online); err != nil {
		t.Fatal(err)
	}
	tr, err := a1.DeskTransfer(ctx, conv, "user:a2", "wants a test drive")
	if err != nil || tr.Conv != conv || tr.State != desk.StateAssigned || tr.Agent != "a2" {
		t.Fatalf("a1 transfers to a2: %+v %v", tr, err)
	}
	if si, err := e.nodes[0].Desk.Session(ctx, "a2", conv); err != nil || len(si.Notes) != 1 || si.Notes[0].By != "a1" || si.Notes[0].Text != "wants a test drive" {
		t.Fatalf("the internal note: %+v %v", si, err)
	}

	// A supervisor reassigns the session, there and back; the agent it
	// was taken from may no longer move it.
	if _, err := e.nodes[0].Desk.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	sup := e.dial("sup", "wb")
	// The supervisor sees which agent holds what: the team panel's
	// reassign list. Others read only themselves.
	if st, err := sup.DeskAgent(ctx, "a2"); err != nil || st.User != "a2" || len(st.Sessions) != 1 || !strings.HasPrefix(st.Sessions[0], conv+"/") {
		t.Fatalf("the supervisor reads a2: %+v %v, want a session of %s", st, err, conv)
	}
	_, err = a1.DeskAgent(ctx, "a2")
	want("an agent reading another", err, wirepb.Code_FORBIDDEN)
	if st, err := a1.DeskAgent(ctx, "a1"); err != nil || st.User != "a1" {
		t.Fatalf("a1 reads itself: %+v %v", st, err)
	}
	_, err = sup.DeskAgent(ctx, "eve")
	want("a supervisor reading a user who is no agent", err, wirepb.Code_NOT_FOUND)
	_, err = sup.DeskAgent(ctx, "no such!")
	want("a malformed agent", err, wirepb.Code_INVALID)
	// Setting another agent's status is a supervisor's (TestDeskSupervisorManagesAgent).
	_, err = a1.Raw(ctx, &wirepb.Request{Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{User: "a2", Status: desk.Offline}}})
	want("an agent setting another agent's status", err, wirepb.Code_FORBIDDEN)
	if tr, err := sup.DeskTransfer(ctx, conv, "user:a1", ""); err != nil || tr.Agent != "a1" {
		t.Fatalf("the supervisor reassigns to a1: %+v %v", tr, err)
	}
	_, err = a2.DeskTransfer(ctx, conv, "user:a1", "")
	want("a transfer by the agent it was taken from", err, wirepb.Code_FORBIDDEN)
	_, err = sup.DeskTransfer(ctx, conv, "user:a1", "")
	want("a reassignment to the agent who holds it", err, wirepb.Code_INVALID)
	if tr, err := sup.DeskTransfer(ctx, conv, "user:a2", ""); err != nil || tr.Agent != "a2" {
		t.Fatalf("the supervisor reassigns back to a2: %+v %v", tr, err)
	}

	// Internal notes and what the business told the desk of the
	// customer: the session's agent reads them (and adds notes); its
	// customer sees the session without them; nobody else sees either.
	if _, err := e.nodes[0].SetUserAttributes(ctx, "c1", map[string]string{"plan": "premium", "orders": "3"}); err != nil {
		t.Fatal(err)
	}
	if si, err := a2.DeskSession(ctx, conv); err != nil || si.Agent != "a2" || len(si.Notes) != 1 || si.Notes[0].By != "a1" || si.Notes[0].Text != "wants a test drive" || si.Notes[0].AtMs <= 0 ||
		len(si.CustomerAttributes) != 2 || si.CustomerAttributes["plan"] != "premium" {
		t.Fatalf("a2 reads the session: %+v %v", si, err)
	}
	if si, err := c1.DeskSession(ctx, conv); err != nil || si.State != desk.StateAssigned || si.Agent != "a2" || len(si.Notes) != 0 || len(si.CustomerAttributes) != 0 {
		t.Fatalf("c1 reads its session: %+v %v, want no notes and no attributes", si, err)
	}
	_, err = a1.DeskSession(ctx, conv)
	want("the former agent reads an open session", err, wirepb.Code_FORBIDDEN)
	_, err = eve.DeskSession(ctx, conv)
	want("a stranger reads the session", err, wirepb.Code_FORBIDDEN)
	_, err = c1.DeskNote(ctx, conv, "I am the customer")
	want("the customer's note", err, wirepb.Code_FORBIDDEN)
	_, err = eve.DeskNote(ctx, conv, "hi")
	want("a stranger's note", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskNote(ctx, conv, " ")
	want("an empty note", err, wirepb.Code_INVALID)
	_, err = a2.DeskNote(ctx, conv, strings.Repeat("n", 2001))
	want("a note over its limit", err, wirepb.Code_TOO_LARGE)
	_, err = a2.DeskNote(ctx, "x", "n")
	want("a note on a malformed conv", err, wirepb.Code_INVALID)
	if si, err := a2.DeskNote(ctx, conv, strings.Repeat("n", 2000)); err != nil || len(si.Notes) != 2 || si.Notes[1].By != "a2" {
		t.Fatalf("a2's note at the limit: %v %v", len(si.GetNotes()), err)
	}
	if _, err := a2.DeskNote(ctx, conv, "test drive booked"); err != nil {
		t.Fatal(err)
	}
	// Tags: the same readers; the customer never sees them.
	_, err = c1.DeskTag(ctx, conv, []string{"refund"}, nil)
	want("the customer's tag", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskTag(ctx, conv, []string{"no spaces"}, nil)
	want("a malformed tag", err, wirepb.Code_INVALID)
	_, err = a2.DeskTag(ctx, "x", []string{"refund"}, nil)
	want("a tag on a malformed conv", err, wirepb.Code_INVALID)
	if si, err := a2.DeskTag(ctx, conv, []string{"Test-Drive", "finance"}, []string{"finance"}); err != nil || strings.Join(si.Tags, ",") != "test-drive,finance" || len(si.Notes) != 3 {
		t.Fatalf("a2 tags the session: %+v %v", si, err)
	}
	if si, err := c1.DeskSession(ctx, conv); err != nil || len(si.Tags) != 0 {
		t.Fatalf("c1 reads its session: %+v %v, want no tags", si, err)
	}
	if si, err := a2.DeskSession(ctx, conv); err != nil || strings.Join(si.Tags, ",") != "test-drive,finance" {
		t.Fatalf("a2 reads the tags: %+v %v", si, err)
	}
	hist, err := c1.History(ctx, conv, client.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if strings.Contains(string(m.Body), "test drive") || strings.Contains(string(m.Body), "test-drive") {
			t.Fatalf("a note is in the customer's conversation: %+v", m)
		}
	}

	// Close: the session's agent (now a2) or its customer.
	_, err = eve.DeskClose(ctx, conv, "")
	want("a stranger's close", err, wirepb.Code_FORBIDDEN)
	_, err = a1.DeskClose(ctx, conv, "")
	want("the former agent's close", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskClose(ctx, conv, strings.Repeat("r", 201))
	want("a close reason over its limit", err, wirepb.Code_INVALID)
	_, err = a2.DeskClose(ctx, "x", "")
	want("a close of a malformed conv", err, wirepb.Code_INVALID)
	cl, err := a2.DeskClose(ctx, conv, "resolved")
	if err != nil || cl.State != desk.StateClosed {
		t.Fatalf("a2 closes: %+v %v", cl, err)
	}
	// Once closed, the agent who held it last still reads its notes.
	if si, err := a2.DeskSession(ctx, conv); err != nil || si.State != desk.StateClosed || len(si.Notes) != 3 {
		t.Fatalf("a2 reads the closed session: %v notes, %v", len(si.GetNotes()), err)
	}
	_, err = a1.DeskSession(ctx, conv)
	want("an earlier agent reads the closed session", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskClose(ctx, conv, "")
	want("closing a closed session", err, wirepb.Code_NOT_FOUND)

	// Rating: the customer only, once, the first rating stands.
	_, err = a2.DeskRate(ctx, conv, 5, "")
	want("the agent's rating", err, wirepb.Code_FORBIDDEN)
	_, err = eve.DeskRate(ctx, conv, 5, "")
	want("a stranger's rating", err, wirepb.Code_FORBIDDEN)
	_, err = c1.DeskRate(ctx, conv, 6, "")
	want("a score of 6", err, wirepb.Code_INVALID)
	_, err = c1.DeskRate(ctx, "x", 5, "")
	want("a rating of a malformed conv", err, wirepb.Code_INVALID)
	if r, err := c1.DeskRate(ctx, conv, 4, "quick"); err != nil || r.Score != 4 || r.Comment != "quick" || r.Duplicate || r.Session != cl.Session {
		t.Fatalf("c1 rates: %+v %v", r, err)
	}
	if r, err := c1.DeskRate(ctx, conv, 1, ""); err != nil || r.Score != 4 || !r.Duplicate {
		t.Fatalf("c1 rates again: %+v %v", r, err)
	}
	// Saved replies: for registered agents only.
	saved := []desk.SavedReply{{Name: "hours", Text: "Monday to Friday, 9 to 6."}}
	if _, err := e.nodes[0].Desk.SetSavedReplies(ctx, "cars", saved); err != nil {
		t.Fatal(err)
	}
	if got, err := a2.DeskSavedReplies(ctx, "cars"); err != nil || len(got) != 1 || got[0].Name != "hours" || got[0].Text != saved[0].Text {
		t.Fatalf("a2 reads the line's saved replies: %v %v", got, err)
	}
	if got, err := a2.DeskSavedReplies(ctx, "homes"); err != nil || len(got) != 0 {
		t.Fatalf("a line without saved replies: %v %v", got, err)
	}
	_, err = c1.DeskSavedReplies(ctx, "cars")
	want("a customer reads saved replies", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskSavedReplies(ctx, "")
	want("saved replies of no line", err, wirepb.Code_INVALID)
	_, err = a2.DeskSavedReplies(ctx, "a/b")
	want("saved replies of a bad line", err, wirepb.Code_INVALID)
	// For a session: the line's replies with their placeholders filled,
	// for the agent who held it (or a supervisor) alone.
	saved = append(saved, desk.SavedReply{Name: "hello", Text: "Hi {customer_name|there}, I'm {agent_name}. Your {customer.plan} plan covers it; order {customer.order|(none)}. {not_a_placeholder}"})
	if _, err := e.nodes[0].Desk.SetSavedReplies(ctx, "cars", saved); err != nil {
		t.Fatal(err)
	}
	if _, err := e.nodes[0].SetUserAttributes(ctx, "c1", map[string]string{"plan": "gold"}); err != nil {
		t.Fatal(err)
	}
	got, err := a2.DeskSavedRepliesFor(ctx, conv)
	if wantText := "Hi Carla Diaz, I'm Bea. Your gold plan covers it; order (none). {not_a_placeholder}"; err != nil || len(got) != 2 || got[0].Text != saved[0].Text || got[1].Text != wantText {
		t.Fatalf("a2's saved replies for %s: %v %v, want the second filled:\n%s", conv, got, err, wantText)
	}
	_, err = a1.DeskSavedRepliesFor(ctx, conv)
	want("saved replies for a session an earlier agent no longer reads", err, wirepb.Code_FORBIDDEN)
	_, err = c1.DeskSavedRepliesFor(ctx, conv)
	want("the customer's saved replies for their session", err, wirepb.Code_FORBIDDEN)
	_, err = a2.DeskSavedRepliesFor(ctx, "g:nosuch")
	want("saved replies for a conversation not the desk's", err, wirepb.Code_NOT_FOUND)

	eventually(t, "a2's load back to 0", func() bool {
		me, err := a2.DeskStatus(ctx, "")
		return err == nil && me.Load == 0
	})

	// A customer closes their own session; going offline takes effect.
	c2 := e.dial("c2", "web")
	s2, err := c2.DeskEnter(ctx, "listing/9", "")
	if err != nil {
		t.Fatal(err)
	}
	if cl, err := c2.DeskClose(ctx, s2.Conv, "never mind"); err != nil || cl.State != desk.StateClosed {
		t.Fatalf("the customer closes: %+v %v", cl, err)
	}
	if me, err := a1.DeskStatus(ctx, desk.Offline); err != nil || me.Status != desk.Offline {
		t.Fatalf("a1 offline: %+v %v", me, err)
	}
}

// An agent reaches out to a customer over QUIC: the session is the
// agent's at once, and the customer's connection gets the agent's first
// words in the new service conversation. Only registered agents may, a
// customer with an open session elsewhere is refused, bad input is
// refused before the node.
func TestDeskReachOverTheWire(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1", "a2")
	c1, a1, a2, eve := e.dial("c1", "phone"), e.dial("a1", "wb"), e.dial("a2", "wb"), e.dial("eve", "phone")
	want := func(what string, err error, code wirepb.Code) { t.Helper(); wantCode(t, what, err, code) }
	_, err := eve.DeskReach(ctx, "c1", "listing", "")
	want("a stranger reaching out", err, wirepb.Code_FORBIDDEN)
	_, err = c1.DeskReach(ctx, "a1", "listing", "")
	want("a customer reaching out", err, wirepb.Code_FORBIDDEN)
	_, err = a1.DeskReach(ctx, "c1", "", "")
	want("no scene", err, wirepb.Code_INVALID)
	// At the connection's bound the request reaches the desk, which
	// refuses data over its own 256 bytes; one byte more never leaves the
	// connection.
	_, err = a1.DeskReach(ctx, "c1", "listing", strings.Repeat("d", transport.MaxDeskSceneBytes-len("listing")))
	want("a scene at the connection's limit", err, wirepb.Code_INVALID)
	if !strings.Contains(err.Error(), "scene data is") {
		t.Fatalf("a scene at the connection's limit: %v, want the desk's refusal of the data", err)
	}
	_, err = a1.DeskReach(ctx, "c1", "listing", strings.Repeat("d", transport.MaxDeskSceneBytes-len("listing")+1))
	want("a scene over its limit", err, wirepb.Code_INVALID)
	if !strings.Contains(err.Error(), "scene and data are") {
		t.Fatalf("a scene over the connection's limit: %v, want the connection's refusal", err)
	}
	_, err = a1.DeskReach(ctx, "no good", "listing", "")
	want("a malformed customer", err, wirepb.Code_INVALID)
	_, err = a1.DeskReach(ctx, "a1", "listing", "")
	want("reaching oneself", err, wirepb.Code_INVALID)
	_, err = a1.DeskReach(ctx, "c1", "nosuch", "")
	want("an unknown scene", err, wirepb.Code_NOT_FOUND)

	s, err := a1.DeskReach(ctx, "c1", "listing", "42")
	if err != nil || s.State != desk.StateAssigned || s.Agent != "a1" || !strings.HasPrefix(s.Conv, "s:cars:c1:") {
		t.Fatalf("a1 reaches c1: %+v %v", s, err)
	}
	if _, err := a1.SendText(ctx, client.ToConv(s.Conv), "Your car is ready"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the customer gets the agent's first words", func() bool {
		return strings.Contains(joined(texts(t, c1, s.Conv)), "Your car is ready")
	})
	_, err = a2.DeskReach(ctx, "c1", "listing", "")
	want("a second agent while the session is open", err, wirepb.Code_EXISTS)
	if si, err := c1.DeskSession(ctx, s.Conv); err != nil || si.Agent != "a1" || si.State != desk.StateAssigned {
		t.Fatalf("c1 reads its session: %+v %v", si, err)
	}
}

// enterAssigned enters c through scene and waits until agent has the
// session.
func enterAssigned(t testing.TB, c *client.Client, scene, agent string) *wirepb.DeskSession {
	t.Helper()
	ctx := tctx(t)
	s, err := c.DeskEnter(ctx, scene, "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, s.Conv+" assigned to "+agent, func() bool {
		in, err := c.DeskSession(ctx, s.Conv)
		return err == nil && in.Agent == agent
	})
	return s
}

func wantCode(t testing.TB, what string, err error, code wirepb.Code) {
	t.Helper()
	if wirepb.CodeOf(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// An agent's wrap-up over QUIC: the closed session's slot is listed and
// counted in the load, a customer waits meanwhile, and the agent's
// end_wrap_up frees it: the customer is theirs. Only the agent's own.
func TestDeskWrapUpOverTheWire(t *testing.T) {
	e := newEnv(t, envOptions{desk: desk.Config{WrapUp: time.Hour}})
	ctx := tctx(t)
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1")
	c1, c2, a1, eve := e.dial("c1", "phone"), e.dial("c2", "phone"), e.dial("a1", "wb"), e.dial("eve", "phone")
	want := func(what string, err error, code wirepb.Code) { t.Helper(); wantCode(t, what, err, code) }
	s1 := enterAssigned(t, c1, "listing/1", "a1")
	if _, err := a1.DeskClose(ctx, s1.Conv, ""); err != nil {
		t.Fatal(err)
	}
	me, err := a1.DeskStatus(ctx, "")
	if err != nil || me.Load != 1 || len(me.Sessions) != 0 || len(me.WrapUp) != 1 || me.WrapUp[0].Session != s1.Session ||
		time.Until(time.UnixMilli(me.WrapUp[0].UntilMs)) < 50*time.Minute {
		t.Fatalf("a1 after the close: %+v %v, want the slot in wrap-up for the hour", me, err)
	}
	s2, err := c2.DeskEnter(ctx, "listing/2", "")
	if err != nil || s2.QueuePosition != 1 {
		t.Fatalf("c2 enters during the wrap-up: %+v %v, want waiting", s2, err)
	}
	_, err = eve.DeskEndWrapUp(ctx)
	want("a stranger ending a wrap-up", err, wirepb.Code_FORBIDDEN)
	r := rawDial(t, e, nil)
	r.login(e.token("a1", "raw"))
	res, err := r.request(frame(&wirepb.Request{Id: 1, Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{User: "a2", EndWrapUp: true}}}))
	if err != nil || res.GetError().GetCode() != wirepb.Code_FORBIDDEN {
		t.Fatalf("end_wrap_up naming another agent, by no supervisor: %v %v, want FORBIDDEN", res, err)
	}
	if me, err = a1.DeskEndWrapUp(ctx); err != nil || len(me.WrapUp) != 0 {
		t.Fatalf("a1 ends the wrap-up: %+v %v", me, err)
	}
	eventually(t, "c2 assigned to a1 after the wrap-up's end", func() bool {
		s, err := c2.DeskSession(ctx, s2.Conv)
		return err == nil && s.Agent == "a1"
	})
}

// A supervisor manages another agent over QUIC: ends its wrap-up (the
// waiting customer is its at once), sets it away, then signs it out (its
// session goes back to the queue). Nobody else may; an unknown agent is
// NOT_FOUND; a bad status INVALID at the connection.
func TestDeskSupervisorManagesAgent(t *testing.T) {
	e := newEnv(t, envOptions{desk: desk.Config{WrapUp: time.Hour}})
	ctx := tctx(t)
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1", "a2")
	if _, err := e.nodes[0].Desk.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	c1, c2, a1, a2, sup := e.dial("c1", "phone"), e.dial("c2", "phone"), e.dial("a1", "wb"), e.dial("a2", "wb"), e.dial("sup", "wb")
	want := func(what string, err error, code wirepb.Code) { t.Helper(); wantCode(t, what, err, code) }
	// a2 is away: c1 goes to a1, who closes it and keeps the slot.
	if _, err := a2.DeskStatus(ctx, desk.Away); err != nil {
		t.Fatal(err)
	}
	s1 := enterAssigned(t, c1, "listing/1", "a1")
	if _, err := a1.DeskClose(ctx, s1.Conv, ""); err != nil {
		t.Fatal(err)
	}
	s2, err := c2.DeskEnter(ctx, "listing/2", "")
	if err != nil || s2.QueuePosition != 1 {
		t.Fatalf("c2 during a1's wrap-up: %+v %v, want waiting", s2, err)
	}

	_, err = a2.DeskManageAgent(ctx, "a1", desk.Offline, false)
	want("an agent signing out another", err, wirepb.Code_FORBIDDEN)
	_, err = sup.DeskManageAgent(ctx, "nobody", desk.Offline, false)
	want("a supervisor signing out no agent", err, wirepb.Code_NOT_FOUND)
	r := rawDial(t, e, nil)
	r.login(e.token("sup", "raw"))
	res, err := r.request(frame(&wirepb.Request{Id: 1, Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{User: "a1", Status: "lunch"}}}))
	if err != nil || res.GetError().GetCode() != wirepb.Code_INVALID {
		t.Fatalf("a bad status for another agent: %v %v, want INVALID", res, err)
	}

	a, err := sup.DeskManageAgent(ctx, "a1", "", true)
	if err != nil || a.User != "a1" || len(a.WrapUp) != 0 || a.Status != desk.Online {
		t.Fatalf("the supervisor ends a1's wrap-up: %+v %v", a, err)
	}
	eventually(t, "c2 assigned to a1 after the supervisor ended the wrap-up", func() bool {
		s, err := c2.DeskSession(ctx, s2.Conv)
		return err == nil && s.Agent == "a1"
	})
	if a, err = sup.DeskManageAgent(ctx, "a1", desk.Away, false); err != nil || a.Status != desk.Away || len(a.Sessions) != 1 ||
		a.StatusBy != "sup" || a.StatusSinceMs == 0 {
		t.Fatalf("the supervisor sets a1 away: %+v %v, want away by sup with c2's session", a, err)
	}
	if a, err = sup.DeskManageAgent(ctx, "a1", desk.Offline, false); err != nil || a.Status != desk.Offline || len(a.Sessions) != 0 {
		t.Fatalf("the supervisor signs a1 out: %+v %v, want offline without sessions", a, err)
	}
	eventually(t, "c2 waiting again", func() bool {
		s, err := c2.DeskSession(ctx, s2.Conv)
		return err == nil && s.State == desk.StateQueued
	})
	if me, err := a1.DeskStatus(ctx, ""); err != nil || me.Status != desk.Offline || me.StatusBy != "sup" {
		t.Fatalf("a1 reads its state: %+v %v, want offline by sup", me, err)
	}
	if me, err := a1.DeskStatus(ctx, desk.Online); err != nil || me.StatusBy != "a1" {
		t.Fatalf("a1 comes back online: %+v %v, want set by itself", me, err)
	}
}

// An unanswered session over QUIC: its agent reads when the session goes
// back to its queue (its customer does not); the agent writes nothing,
// and it does, with the agent away, as desk_status reads it; the agent's
// own metrics count the session missed.
func TestDeskUnansweredOverTheWire(t *testing.T) {
	e := newEnv(t, envOptions{desk: desk.Config{AnswerTimeout: desk.MinAnswerTimeout}})
	ctx := tctx(t)
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1")
	changes := make(chan string, 8)
	c1, a1 := e.dial("c1", "phone"), e.dial("a1", "wb", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Kind == client.EventDeskAgent {
				changes <- ev.User
			}
		}
	})
	s1 := enterAssigned(t, c1, "listing/1", "a1")
	given := time.Now()
	at, err := a1.DeskSession(ctx, s1.Conv)
	if err != nil || at.AnswerByMs <= given.UnixMilli() || at.AnswerByMs > given.Add(desk.MinAnswerTimeout).UnixMilli() {
		t.Fatalf("a1 reads the session: %+v %v, want its answer-by time", at, err)
	}
	if cs, err := c1.DeskSession(ctx, s1.Conv); err != nil || cs.AnswerByMs != 0 {
		t.Fatalf("c1 reads the session: %+v %v, want no answer-by time", cs, err)
	}
	eventually(t, "c1 waiting again", func() bool {
		s, err := c1.DeskSession(ctx, s1.Conv)
		return err == nil && s.State == desk.StateQueued && s.QueuePosition == 1
	})
	if time.Now().UnixMilli() < at.AnswerByMs {
		t.Fatalf("c1 waiting again before its answer-by time")
	}
	if me, err := a1.DeskStatus(ctx, ""); err != nil || me.Status != desk.Away || len(me.Sessions) != 0 {
		t.Fatalf("a1 after the timeout: %+v %v, want away without the session", me, err)
	}
	select {
	case by := <-changes:
		if by != desk.ByDesk {
			t.Fatalf("a1 set away by %q, want by the desk", by)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a1 heard of no change of its state")
	}
	// a1's own service metrics count the session it missed.
	eventually(t, "a1's metrics count the missed session", func() bool {
		m, err := a1.MyMetrics(ctx, "1h", 0)
		return err == nil && len(m.Rows) == 1 && m.Rows[0].DeskMissed == 1
	})
}
