package transport_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestStarReminders: over real QUIC, a seller stars a buyer's message
// with a reminder. When it comes, their connected devices hear it (the
// message named) and the message stays starred without it; a reminder
// taken away (starring again) never comes; with no device online the
// phone is notified, with the message's text; a reminder in the past or
// past the schedule's reach is INVALID; reminders do not count against
// the scheduled messages' bound, nor show among them.
func TestStarReminders(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	e := newEnv(t, envOptions{actors: actors.Config{
		ScheduleInterval:     50 * time.Millisecond,
		MaxScheduledMessages: 1,
		MaxScheduleAhead:     time.Hour,
		Push:                 actors.PushConfig{Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1}},
	}})
	ctx := tctx(t)
	buyer, seller, laptop := e.dial("buyer", "phone"), e.dial("seller", "phone"), e.dial("seller", "laptop")
	ask, err := buyer.SendText(ctx, client.ToUser("seller"), "is the bike still for sale?")
	if err != nil {
		t.Fatal(err)
	}
	offer, err := buyer.SendText(ctx, client.ToUser("seller"), "I can pay 80")
	if err != nil {
		t.Fatal(err)
	}
	conv := ask.Conv

	// The bounds.
	if _, err := seller.Remind(ctx, conv, ask.Seq, time.Now().Add(-time.Second)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a reminder in the past: %v, want INVALID", err)
	}
	if _, err := seller.Remind(ctx, conv, ask.Seq, time.Now().Add(time.Hour+time.Minute)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a reminder past the schedule's reach: %v, want INVALID", err)
	}

	// A reminder taken away never comes; another, on the other message,
	// does: to both devices, naming the message.
	if _, err := seller.Remind(ctx, conv, offer.Seq, time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := seller.Star(ctx, conv, offer.Seq, true); err != nil || n != 1 {
		t.Fatalf("starring again to take the reminder away: %d, %v", n, err)
	}
	due := time.Now().Add(600 * time.Millisecond)
	if n, err := seller.Remind(ctx, conv, ask.Seq, due); err != nil || n != 2 {
		t.Fatalf("remind: %d starred, %v; want 2", n, err)
	}
	starred, err := laptop.Starred(ctx)
	if err != nil || len(starred) != 2 || starred[0].Message.Seq != ask.Seq || starred[0].RemindAt.UnixMilli() != due.UnixMilli() || !starred[1].RemindAt.IsZero() {
		t.Fatalf("starred with a reminder: %+v, %v", starred, err)
	}
	// The reminder is no scheduled message: one still fits the bound of 1.
	if _, err := seller.ScheduleText(ctx, client.ToUser("buyer"), "still there?", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("a scheduled message beside a reminder, at a bound of 1: %v", err)
	}
	if list, err := seller.ScheduledMessages(ctx); err != nil || len(list) != 1 {
		t.Fatalf("scheduled: %+v, %v; want the one message, not the reminder", list, err)
	}
	for _, c := range []*client.Client{seller, laptop} {
		waitEvent(t, c, "no reminder of the buyer's question", func(ev client.Event) bool {
			if ev.Kind == client.EventReminder && (ev.Conv != conv || ev.Seq != ask.Seq) {
				t.Fatalf("a reminder of %s#%d, want %s#%d (the other was taken away)", ev.Conv, ev.Seq, conv, ask.Seq)
			}
			return ev.Kind == client.EventReminder
		})
	}
	if time.Now().Before(due) {
		t.Fatalf("the reminder came before its time %v", due)
	}
	starred, err = laptop.Starred(ctx)
	if err != nil || len(starred) != 2 || !starred[0].RemindAt.IsZero() {
		t.Fatalf("after the reminder: %+v, %v; want both starred, no reminder left", starred, err)
	}

	// Offline: the phone is notified.
	if err := seller.RegisterPush(ctx, "webhook", "seller-tok"); err != nil {
		t.Fatal(err)
	}
	if _, err := seller.Remind(ctx, conv, offer.Seq, time.Now().Add(800*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, _ = seller.Close(), laptop.Close()
	e.offline(t, "seller")
	eventually(t, "the seller's reminder notification", func() bool { return len(gw.notes("seller")) > 0 })
	ns := gw.notes("seller")
	if len(ns) != 1 || ns[0].Kind != "reminder" || ns[0].Conv != conv || ns[0].Seq != offer.Seq || ns[0].Text != "I can pay 80" {
		t.Fatalf("the seller's notifications: %+v, want one reminder of the offer, with its text", ns)
	}

	// Previews hidden: the reminder says so in the node's words, keyed
	// for the app to translate (before: "0 new messages").
	seller = e.dial("seller", "phone")
	if err := seller.SetPreviews(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := seller.Remind(ctx, conv, ask.Seq, time.Now().Add(800*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_ = seller.Close()
	e.offline(t, "seller")
	eventually(t, "the seller's second reminder notification", func() bool { return len(gw.notes("seller")) > 1 })
	if n := gw.notes("seller")[1]; n.Kind != "reminder" || n.Seq != ask.Seq || n.Text != "Reminder" || n.LocKey != push.KeyReminder {
		t.Fatalf("the reminder with previews hidden: %+v", n)
	}
}
