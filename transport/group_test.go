package transport_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A group of 50 members, each on its own connection: every message reaches
// every member once and in order; a removed member stops receiving; a
// member who leaves cannot send; recall reaches everyone.
func TestGroupOfFifty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	const n = 50
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("g%02d", i)
	}
	clients := make([]*client.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		// Dialled side by side; failures are reported from the test's
		// goroutine (t.Fatal must not run on another).
		go func() {
			defer wg.Done()
			clients[i], errs[i] = client.Dial(ctx, e.config(users[i], "phone"))
		}()
	}
	wg.Wait()
	for _, c := range clients {
		if c != nil {
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("dial %s: %v", users[i], err)
		}
	}
	owner := clients[0]
	conv, err := owner.CreateGroup(ctx, "g:fifty", "fifty", users[1:])
	if err != nil || conv != "g:fifty" {
		t.Fatalf("create group: %q %v", conv, err)
	}
	members, err := clients[7].AllMembers(ctx, conv)
	if err != nil || len(members) != n {
		t.Fatalf("members: %d %v", len(members), err)
	}
	for i := range 3 {
		if _, err := owner.SendText(ctx, client.ToConv(conv), fmt.Sprintf("hello %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := clients[25].SendText(ctx, client.ToConv(conv), "from 25"); err != nil {
		t.Fatal(err)
	}
	want := "hello 0,hello 1,hello 2,from 25"
	for i, c := range clients {
		eventually(t, fmt.Sprintf("member %d has every message", i), func() bool { return joined(texts(t, c, conv)) == want })
	}
	// A member's unread count comes with the pushes and may settle a
	// frame after the last message; it must reach 4 (member 25 sent one).
	for i, c := range clients[1:] {
		if i+1 == 25 {
			continue
		}
		eventually(t, fmt.Sprintf("member %d unread 4", i+1), func() bool {
			cs, _ := c.Conversation(conv)
			return cs.Unread == 4
		})
	}

	// Remove g49; g48 leaves; g48 can no longer send.
	if _, err := owner.RemoveMembers(ctx, conv, "g49"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[48].Leave(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[48].SendText(ctx, client.ToConv(conv), "still here?"); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("send after leaving: %v", err)
	}
	last, err := owner.SendText(ctx, client.ToConv(conv), "after")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "g10 got the last message", func() bool { return len(texts(t, clients[10], conv)) == 5 })
	for _, i := range []int{48, 49} {
		for _, m := range clients[i].Messages(conv) {
			if m.Seq >= last.Seq {
				t.Fatalf("%s saw seq %d after leaving", users[i], m.Seq)
			}
		}
		if _, err := clients[i].History(ctx, conv, client.HistoryOptions{FromSeq: last.Seq}); err != nil {
			t.Fatal(err) // a former member still reads up to its leaving
		}
		if ms := clients[i].Messages(conv); ms[len(ms)-1].Seq >= last.Seq {
			t.Fatalf("history shows a former member seq %d", ms[len(ms)-1].Seq)
		}
	}

	// Recall by the sender reaches everyone.
	if _, err := owner.Recall(ctx, conv, last.Seq); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 30} {
		c := clients[i]
		eventually(t, "recall seen", func() bool {
			for _, m := range c.Messages(conv) {
				if m.Seq == last.Seq {
					return m.Recalled && m.Body == nil
				}
			}
			return false
		})
	}
	// An ordinary member cannot recall another's message.
	if _, err := clients[3].Recall(ctx, conv, 1+2); codeOf(err) != wirepb.Code_FORBIDDEN && codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("member recalling another's message: %v", err)
	}
}

// Sending a message the content policy blocks fails with the server's
// reason and reaches nobody; a duplicate resend is delivered once.
func TestPolicyRejectionAndDuplicateResend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{PolicyWords: []string{"contraband"}, PolicyMode: actors.PolicyBlock}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")

	if _, err := alice.SendText(ctx, client.ToUser("bob"), "ok"); err != nil {
		t.Fatal(err)
	}
	p, err := alice.Send(client.ToUser("bob"), []byte("some CONTRABAND here"), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Wait(ctx)
	if codeOf(err) != wirepb.Code_REJECTED_POLICY || m.State != client.StateFailed || codeOf(m.Err) != wirepb.Code_REJECTED_POLICY {
		t.Fatalf("policy: %+v %v", m, err)
	}
	ms := alice.Messages(conv)
	if last := ms[len(ms)-1]; last.State != client.StateFailed || last.Seq != 0 {
		t.Fatalf("failed message not shown as failed: %+v", last)
	}

	// The same client_msg_id three times: one message, the same seq.
	var seqs []uint64
	for range 3 {
		p, err := alice.Send(client.ToUser("bob"), []byte("once"), "dup-1")
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	if seqs[0] != 2 || seqs[1] != 2 || seqs[2] != 2 {
		t.Fatalf("duplicate sends got seqs %v", seqs)
	}
	res, err := alice.Raw(ctx, &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: "dup-1", Body: []byte("once")}}})
	if err != nil || !res.GetSend().Duplicate || res.GetSend().Seq != 2 {
		t.Fatalf("raw resend: %v %v", res, err)
	}
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "after"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's list", func() bool { return joined(texts(t, bob, conv)) == "ok,once,after" })
	hist, err := bob.History(ctx, conv, client.HistoryOptions{OldestFirst: true})
	if err != nil || len(hist) != 3 {
		t.Fatalf("history: %d %v", len(hist), err)
	}
	if got := alice.Messages(conv); len(got) != 4 { // ok, once, after + the failed one
		t.Fatalf("alice holds %d messages", len(got))
	}
}

// Groups above the fan-out threshold push through each node's hub (read
// fan-out): members connected before and after get the messages, and sync
// reports their unread counts.
func TestLargeGroupReadFanout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{FanoutThreshold: 3}})
	ctx := tctx(t)
	users := []string{"l0", "l1", "l2", "l3", "l4", "l5"}
	owner := e.dial(users[0], "phone")
	early := e.dial(users[1], "phone")
	conv, err := owner.CreateGroup(ctx, "g:large", "", users[1:])
	if err != nil {
		t.Fatal(err)
	}
	late := e.dial(users[2], "phone") // subscribes at connect (Welcome's large groups)
	for i := range 3 {
		if _, err := owner.SendText(ctx, client.ToConv(conv), fmt.Sprintf("big %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*client.Client{early, late} {
		eventually(t, "large group pushes", func() bool { return joined(texts(t, c, conv)) == "big 0,big 1,big 2" })
	}
	// An offline member learns of it by sync.
	off := e.dial(users[5], "phone")
	w := off.Welcome()
	found := false
	for _, s := range w.Sync.Conversations {
		if s.Conv == conv {
			found = s.Unread == 3 && s.LastSeq >= 3
		}
	}
	if !found {
		t.Fatalf("sync of an offline member: %v", w.Sync)
	}
}

// A group where only owners and admins post, over the wire: a member
// reads the setting, the member's text is refused FORBIDDEN, the change
// arrives as a system message, a member cannot change it, and a direct
// conversation has no settings.
func TestAdminsOnlyOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, pupil := e.dial("teacher", "phone"), e.dial("pupil", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:class", "class", []string{"pupil"})
	if err != nil {
		t.Fatal(err)
	}
	on := true
	s, seq, err := teacher.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{AdminsOnly: &on})
	if err != nil || !s.AdminsOnly || seq == 0 {
		t.Fatalf("admins only: %+v, seq %d, %v", s, seq, err)
	}
	if s, err := pupil.GroupSettings(ctx, conv); err != nil || !s.AdminsOnly {
		t.Fatalf("read by a member: %+v, %v", s, err)
	}
	eventually(t, "the pupil has the change's system message", func() bool {
		for _, m := range pupil.Messages(conv) {
			if m.Seq == seq && m.Kind == wirepb.MessageKind_SYSTEM && strings.Contains(string(m.Body), `"admins_only":true`) {
				return true
			}
		}
		return false
	})
	if _, err := pupil.SendText(ctx, client.ToConv(conv), "may I?"); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member's message: %v, want FORBIDDEN", err)
	}
	off := false
	if _, _, err := pupil.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{AdminsOnly: &off}); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member's change: %v, want FORBIDDEN", err)
	}
	posted, err := teacher.SendText(ctx, client.ToConv(conv), "page 12")
	if err != nil {
		t.Fatalf("the owner posts: %v", err)
	}
	// The owner pins it; every member reads the pins, a member may not pin.
	if s, seq, err := teacher.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{PinSeq: posted.Seq}); err != nil || seq == 0 || !slices.Equal(s.PinnedSeqs, []uint64{posted.Seq}) {
		t.Fatalf("pin %d: %+v, seq %d, %v", posted.Seq, s, seq, err)
	}
	if s, err := pupil.GroupSettings(ctx, conv); err != nil || !slices.Equal(s.PinnedSeqs, []uint64{posted.Seq}) {
		t.Fatalf("the pins read by a member: %+v, %v", s, err)
	}
	if _, _, err := pupil.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{UnpinSeq: posted.Seq}); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member's unpin: %v, want FORBIDDEN", err)
	}
	// A direct conversation has pins (either member), not a group's settings.
	see, err := teacher.SendText(ctx, client.ToUser("pupil"), "see me")
	if err != nil {
		t.Fatal(err)
	}
	direct := wirepb.DirectConvID("pupil", "teacher")
	if s, _, err := pupil.ChangeGroupSettings(ctx, direct, client.GroupSettingsChange{PinSeq: see.Seq}); err != nil || !slices.Equal(s.PinnedSeqs, []uint64{see.Seq}) {
		t.Fatalf("a pin in a direct conversation: %+v, %v", s, err)
	}
	if s, err := teacher.GroupSettings(ctx, direct); err != nil || !slices.Equal(s.PinnedSeqs, []uint64{see.Seq}) {
		t.Fatalf("a direct conversation's pins: %+v, %v", s, err)
	}
	yes := true
	if _, _, err := teacher.ChangeGroupSettings(ctx, direct, client.GroupSettingsChange{AdminsOnly: &yes}); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a group's setting in a direct conversation: %v, want FORBIDDEN", err)
	}
}

// Slow mode over the wire: a member reads the setting and its system
// message; the member's second message is refused SLOW_MODE with the wait
// (SlowModeWait), and the SDK does not hold the member's other sends
// behind it; the owner posts freely.
func TestSlowModeOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, pupil := e.dial("teacher", "phone"), e.dial("pupil", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:lecture", "lecture", []string{"pupil"})
	if err != nil {
		t.Fatal(err)
	}
	tooShort := 999 * time.Millisecond
	if _, _, err := teacher.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{SlowMode: &tooShort}); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("slow mode of %v: %v, want INVALID", tooShort, err)
	}
	interval := 30 * time.Second
	s, seq, err := teacher.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{SlowMode: &interval})
	if err != nil || s.SlowMode != interval || seq == 0 {
		t.Fatalf("slow mode: %+v, seq %d, %v", s, seq, err)
	}
	if s, err := pupil.GroupSettings(ctx, conv); err != nil || s.SlowMode != interval {
		t.Fatalf("read by a member: %+v, %v", s, err)
	}
	eventually(t, "the pupil has the change's system message", func() bool {
		for _, m := range pupil.Messages(conv) {
			if m.Seq == seq && m.Kind == wirepb.MessageKind_SYSTEM && strings.Contains(string(m.Body), `"slow_mode_ms":30000`) {
				return true
			}
		}
		return false
	})
	if _, err := pupil.SendText(ctx, client.ToConv(conv), "a question"); err != nil {
		t.Fatalf("the member's first message: %v", err)
	}
	_, err = pupil.SendText(ctx, client.ToConv(conv), "another question")
	if wait, ok := client.SlowModeWait(err); !ok || wait <= 25*time.Second || wait > interval {
		t.Fatalf("the member's second message: %v (wait %v), want SLOW_MODE with a wait of about %v", err, wait, interval)
	}
	if _, ok := client.SlowModeWait(errors.New("other")); ok {
		t.Fatal("SlowModeWait took another error for slow mode")
	}
	// Not a refusal to wait out: the member's next send elsewhere goes now.
	if _, err := pupil.SendText(ctx, client.ToUser("teacher"), "may I ask you directly?"); err != nil {
		t.Fatalf("the member's direct message after the refusal: %v", err)
	}
	for _, text := range []string{"answer one", "answer two"} {
		if _, err := teacher.SendText(ctx, client.ToConv(conv), text); err != nil {
			t.Fatalf("the owner posts %q: %v", text, err)
		}
	}
	off := time.Duration(0)
	if _, _, err := pupil.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{SlowMode: &off}); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member turns slow mode off: %v, want FORBIDDEN", err)
	}
}

// A group's name over the wire: a member's client holds it from the
// start (the membership push of its creation), a rename reaches it by
// itself, the list and the settings say it, and a plain member may not
// rename. Then the owner disbands it.
func TestGroupProfileOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, pupil := e.dial("teacher", "phone"), e.dial("pupil", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:bio", "7B", []string{"pupil"})
	if err != nil {
		t.Fatal(err)
	}
	held := func(title string) func() bool {
		return func() bool { c, ok := pupil.Conversation(conv); return ok && c.Title == title }
	}
	eventually(t, "the pupil's client holds the group's name", held("7B"))
	name, about := "7B — Biology", "Homework and questions"
	s, seq, err := teacher.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Title: &name, Description: &about})
	if err != nil || s.Title != name || s.Description != about || seq == 0 {
		t.Fatalf("rename: %+v, seq %d, %v", s, seq, err)
	}
	eventually(t, "the rename reaches the pupil's client", held(name))
	list, _, err := pupil.ListConversations(ctx, "", 0)
	if err != nil || len(list) != 1 || list[0].Title != name {
		t.Fatalf("the pupil's list: %v, %v", list, err)
	}
	if s, err := pupil.GroupSettings(ctx, conv); err != nil || s.Title != name || s.Description != about {
		t.Fatalf("read by a member: %+v, %v", s, err)
	}
	mine := "best class"
	if _, _, err := pupil.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Title: &mine}); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member renames: %v, want FORBIDDEN", err)
	}
	long := strings.Repeat("x", 257)
	if _, _, err := teacher.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Title: &long}); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a 257-byte name: %v, want INVALID", err)
	}
	// The end of term: the owner disbands the group; the pupil's client
	// learns it left, and its sends are refused.
	if _, err := pupil.Disband(ctx, conv); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member disbands: %v, want FORBIDDEN", err)
	}
	if seq, err := teacher.Disband(ctx, conv); err != nil || seq == 0 {
		t.Fatalf("disband: %d, %v", seq, err)
	}
	eventually(t, "the pupil's client knows the group ended", func() bool { c, ok := pupil.Conversation(conv); return ok && !c.Member })
	if _, err := pupil.SendText(ctx, client.ToConv(conv), "hello?"); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a send after the disband: %v, want NOT_MEMBER", err)
	}
}

// Mark all as read over the wire: every conversation of the user is read
// at once, on the server and in the client's held conversations.
func TestMarkAllReadOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	ann, ben := e.dial("ann", "phone"), e.dial("ben", "phone")
	conv, err := ann.CreateGroup(ctx, "g:flat", "Flat", []string{"ben"})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []client.Target{client.ToConv(conv), client.ToUser("ben")} {
		if _, err := ann.SendText(ctx, to, "rent is due"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "ben's client counts two unread conversations", func() bool {
		n := 0
		for _, c := range ben.Conversations() {
			if c.Unread > 0 {
				n++
			}
		}
		return n == 2
	})
	n, total, err := ben.MarkAllRead(ctx)
	if err != nil || n != 2 || total != 0 {
		t.Fatalf("mark all read: %d conversations, %d unread, %v; want 2, 0", n, total, err)
	}
	for _, c := range ben.Conversations() {
		if c.Unread != 0 {
			t.Errorf("ben's client still counts %d unread in %s", c.Unread, c.ID)
		}
	}
	list, total, err := ben.ListConversations(ctx, "", 0)
	if err != nil || total != 0 || len(list) != 2 {
		t.Fatalf("ben's list after: %v, %d unread, %v", list, total, err)
	}
}

// With contact details masked, the sender's own view of its message is
// the stored one (***), as the recipient's push and history are.
func TestContactDetailsMaskedOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{ContactDetails: actors.PolicyMask}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	m, err := alice.SendText(ctx, client.ToUser("bob"), "call 0151 2345 6789")
	if err != nil || string(m.Body) != "call ***" {
		t.Fatalf("the sender's message: %q %v", m.Body, err)
	}
	ms := alice.Messages(conv)
	if last := ms[len(ms)-1]; string(last.Body) != "call ***" {
		t.Fatalf("the sender's view: %q", last.Body)
	}
	hist, err := bob.History(ctx, conv, client.HistoryOptions{})
	if err != nil || len(hist) != 1 || string(hist[0].Body) != "call ***" {
		t.Fatalf("bob's history: %v %v", hist, err)
	}
}

// Members who left keep their rows, so a page of stored rows may hold
// nobody active: members answers it empty with next set, and readers
// (the SDK's AllMembers, the typing signal's audience) go on from there
// instead of taking the short page for the end.
func TestMembersPagePastLeavers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{TypingMaxMembers: 2}})
	ctx := tctx(t)
	users := []string{"a1", "a2", "a3", "a4", "x", "y"}
	clients := map[string]*client.Client{}
	for _, u := range users {
		clients[u] = e.dial(u, "phone")
	}
	conv, err := clients["x"].CreateGroup(ctx, "g:leavers", "leavers", []string{"a1", "a2", "a3", "a4", "y"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users[:4] { // by user id, their rows come first
		if _, err := clients[u].Leave(ctx, conv); err != nil {
			t.Fatalf("%s leaves: %v", u, err)
		}
	}

	page, next, err := clients["x"].Members(ctx, conv, "", 3)
	if err != nil || len(page) != 0 || next != "a3" {
		t.Fatalf("first page of 3 rows, all of leavers: %v next %q %v; want none, next a3", page, next, err)
	}
	page, next, err = clients["x"].Members(ctx, conv, next, 3)
	if err != nil || len(page) != 2 || page[0].User != "x" || page[1].User != "y" || next != "y" {
		t.Fatalf("second page: %v next %q %v; want x, y, next y", page, next, err)
	}
	if page, next, err = clients["x"].Members(ctx, conv, next, 3); err != nil || len(page) != 0 || next != "" {
		t.Fatalf("past the last row: %v next %q %v; want the end", page, next, err)
	}
	all, err := clients["y"].AllMembers(ctx, conv)
	if err != nil || len(all) != 2 {
		t.Fatalf("all members: %v %v", all, err)
	}

	// Two members, at the typing bound: y's typing reaches x though the
	// first rows typing reads are the leavers'.
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-clients["x"].Events():
			if ev.Kind == client.EventTyping && ev.Conv == conv && ev.User == "y" && ev.Typing {
				return
			}
		case <-tick.C:
			if err := clients["y"].Typing(conv, true); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("no typing signal past the leavers' rows")
		}
	}
}

// A request that asks about many users takes one request token more per
// ten of them: with a burst of 20 and no refill to speak of, a presences
// of 100 users (11 tokens) passes once, a second is refused RATE_LIMITED,
// and one of nine users (1 token) still passes.
func TestManyUsersTakeMoreRequestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{ConnRate: 0.001, ConnBurst: 20, UserRate: 1e6, UserBurst: 1 << 20}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = fmt.Sprintf("u%d", i)
	}
	if _, err := alice.Presences(ctx, "", hundred...); err != nil {
		t.Fatalf("a hundred users, 11 of 20 tokens: %v", err)
	}
	if _, err := alice.Presences(ctx, "", hundred...); codeOf(err) != wirepb.Code_RATE_LIMITED {
		t.Fatalf("a hundred users again, 11 of the 9 left: %v, want RATE_LIMITED", err)
	}
	if _, err := alice.Presences(ctx, "", hundred[:9]...); err != nil {
		t.Fatalf("nine users, one token: %v", err)
	}
}
