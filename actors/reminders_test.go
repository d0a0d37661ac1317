package actors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/storage"
)

// reminderSink is the operator's server: a real HTTP endpoint that checks
// each reminder's signature and hands it to the test.
func reminderSink(t *testing.T, secret []byte) (*push.Webhook, <-chan push.Notification) {
	got := make(chan push.Notification, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !push.Verify(secret, r.Header.Get("X-Switchboard-Timestamp"), body, r.Header.Get("X-Switchboard-Signature")) {
			t.Errorf("a reminder with a bad signature: %s", body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n push.Notification
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("reminder %s: %v", body, err)
		}
		got <- n
	}))
	t.Cleanup(srv.Close)
	return &push.Webhook{URL: srv.URL, Secret: secret, Client: srv.Client(), MaxAttempts: 1}, got
}

// TestUnreadReminders: a message left unread After, while the user has
// no device online, makes one signed reminder for its conversation, with
// the unread count and the newest message; none again for it until the
// user reads; none for what is read in time, for a user online at the
// time, or in a muted conversation unless the message mentions the user.
func TestUnreadReminders(t *testing.T) {
	// Long enough that a read right after a send (two requests) comes
	// before the reminder is due even on a loaded machine.
	const after = 500 * time.Millisecond
	hook, got := reminderSink(t, []byte("0123456789abcdef"))
	node := startCluster(t, 1, openStore(t), actors.Config{Reminders: actors.ReminderConfig{After: after, Gateway: hook}})[0]
	ctx := tctx(t)
	expect := func(what string) push.Notification {
		t.Helper()
		select {
		case n := <-got:
			return n
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no reminder", what)
		}
		return push.Notification{}
	}
	none := func(what string) {
		t.Helper()
		select {
		case n := <-got:
			t.Fatalf("%s: a reminder %+v", what, n)
		case <-time.After(3 * after):
		}
	}
	say := func(from, to, text string) uint64 {
		t.Helper()
		res, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, Body: []byte(text)})
		if err != nil {
			t.Fatal(err)
		}
		return res.Seq
	}
	buyer := actors.DirectConvID("seller", "buyer")

	first := say("buyer", "seller", "is the bike still for sale?")
	newest := say("buyer", "seller", "I could pick it up today")
	n := expect("two unread questions")
	if n.Kind != "unread_reminder" || n.User != "seller" || n.Conv != buyer || n.Seq != newest || n.Count != 2 || n.Badge != 2 ||
		n.From != "buyer" || n.Text != "I could pick it up today" || n.ID == "" {
		t.Fatalf("reminder %+v; want seller's two unread of %s, the newest (seq %d) shown", n, buyer, newest)
	}
	say("buyer", "seller", "hello?")
	none("a third message before the seller read")
	if _, err := node.MarkRead(ctx, "seller", "", buyer, first); err != nil {
		t.Fatal(err)
	}
	none("a read of the first only") // the reminder covered up to the newest then
	seller, sess := connect(t, node, "seller", "phone")
	_ = seller
	if _, err := sess.MarkRead(ctx, buyer, newest+1); err != nil {
		t.Fatal(err)
	}
	sess.Close()
	again := say("buyer", "seller", "still there?")
	if n := expect("a message after the seller read"); n.Seq != again || n.Count != 1 || n.ID == "" {
		t.Fatalf("second reminder %+v, want seq %d, one unread", n, again)
	}

	// Read in time: none.
	c := say("buyer2", "seller", "do you ship?")
	if _, err := node.MarkRead(ctx, "seller", "", actors.DirectConvID("seller", "buyer2"), c); err != nil {
		t.Fatal(err)
	}
	none("a message read in time")

	// Online when it is due: none.
	_, online := connect(t, node, "seller", "laptop")
	say("buyer3", "seller", "price?")
	none("a message while a device is online")
	online.Close()

	// Muted: none, unless the message mentions the user.
	mustCreateGroup(t, node, "g:club", "owner", "seller")
	if _, err := node.SetMuted(ctx, "seller", "g:club", true, 0); err != nil {
		t.Fatal(err)
	}
	mustSend(t, node, "g:club", "owner", "meeting at 5")
	none("a muted conversation")
	keys, err := node.Send(ctx, &pb.SendMessage{Conv: "g:club", Sender: "owner", Body: []byte("@seller bring the keys"), Mentions: []string{"seller"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := expect("a mention in a muted conversation"); n.Conv != "g:club" || n.Text != "@seller bring the keys" {
		t.Fatalf("reminder %+v", n)
	}
	// Read; then the owner mentions everyone: that reaches the muted too.
	if _, err := node.MarkRead(ctx, "seller", "", "g:club", keys.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:club", Sender: "owner", Body: []byte("@all the club closes early"), Mentions: []string{storage.MentionAll}}); err != nil {
		t.Fatal(err)
	}
	if n := expect("@all in a muted conversation"); n.Conv != "g:club" || n.Text != "@all the club closes early" {
		t.Fatalf("reminder %+v", n)
	}
}

// TestUnreadRemindersBound: at MaxPending conversations with a reminder
// scheduled, no new one is scheduled; with one reminded and not read, it
// is forgotten for the new one.
func TestUnreadRemindersBound(t *testing.T) {
	const after = time.Second // both sends reach the grain before the first is due
	hook, got := reminderSink(t, []byte("0123456789abcdef"))
	node := startCluster(t, 1, openStore(t), actors.Config{Reminders: actors.ReminderConfig{After: after, Gateway: hook, MaxPending: 1}})[0]
	ctx := tctx(t)
	for _, from := range []string{"b1", "b2"} {
		if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: from, Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-got:
		if n.Conv != actors.DirectConvID("seller", "b1") {
			t.Fatalf("reminder %+v, want the first conversation's", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reminder")
	}
	select {
	case n := <-got:
		t.Fatalf("a second reminder past the bound: %+v", n)
	case <-time.After(2 * after):
	}
	// At the bound with one reminded and not read, that one is forgotten
	// for a new one.
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "b3", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n.Conv != actors.DirectConvID("seller", "b3") {
			t.Fatalf("reminder %+v, want the third conversation's", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reminder once the reminded one was forgotten")
	}
	if _, err := actors.NewRuntime(actors.Config{Reminders: actors.ReminderConfig{After: -time.Second}}, openStore(t)); err == nil {
		t.Error("a negative reminder delay accepted")
	}
}

// blockedGateway holds every reminder until released.
type blockedGateway struct {
	got     chan push.Notification
	release chan struct{}
}

func (g *blockedGateway) Send(ctx context.Context, n push.Notification) (push.Result, error) {
	g.got <- n
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return push.Result{}, nil
}

// TestUnreadRemindersQueue: with the sender busy, QueueSize reminders
// wait and the next is dropped (counted), not blocking the node.
func TestUnreadRemindersQueue(t *testing.T) {
	const after = 300 * time.Millisecond
	g := &blockedGateway{got: make(chan push.Notification, 8), release: make(chan struct{})}
	node := startCluster(t, 1, openStore(t), actors.Config{Reminders: actors.ReminderConfig{After: after, Gateway: g, QueueSize: 1}})[0]
	t.Cleanup(func() { close(g.release) })
	ctx := tctx(t)
	dropped := promtest.Value(t, "switchboard_unread_reminders_total", "result", "dropped")
	// One at a time: two senders hold one reminder each, the third waits
	// in the queue of 1, the fourth finds it full.
	for i, from := range []string{"b1", "b2", "b3", "b4"} {
		if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: from, Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() error {
			want := [...]float64{0, 0, 0, 1}[i]
			if i < 2 && len(g.got) != i+1 {
				return fmt.Errorf("%d reminders with the senders, want %d", len(g.got), i+1)
			}
			if got := promtest.Value(t, "switchboard_unread_reminders_total", "result", "dropped") - dropped; got != want {
				return fmt.Errorf("%v reminders dropped, want %v", got, want)
			}
			return nil
		})
		if i == 2 {
			time.Sleep(2 * after) // due, and queued
		}
	}
	if n := len(g.got); n != 2 {
		t.Fatalf("%d reminders with the senders, want 2 (the third waits in the queue)", n)
	}
	if got := promtest.Value(t, "switchboard_unread_reminders_total", "result", "dropped") - dropped; got != 1 {
		t.Fatalf("%v reminders dropped, want only the fourth", got)
	}
}
