package transport_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestScheduledOverTheWire: over real QUIC, a user schedules a message,
// sees it listed on another device, replaces one (the same client message
// id) and cancels it, and the other goes out
// at its time: the recipient gets it pushed, carrying the scheduled
// message's client id; a time not ahead is INVALID, an unknown id
// NOT_FOUND.
func TestScheduledOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	phone, laptop, bob := e.dial("alice", "phone"), e.dial("alice", "laptop"), e.dial("bob", "phone")
	at := time.Now().Add(1500 * time.Millisecond)
	s, err := phone.ScheduleText(ctx, client.ToUser("bob"), "good morning", at)
	if err != nil || s.ID == "" || s.To != "bob" || !s.At.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("scheduled: %+v, %v", s, err)
	}
	first, err := phone.ScheduleText(ctx, client.ToUser("bob"), "never", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The same client message id again replaces it.
	other, err := phone.Schedule(ctx, client.ToUser("bob"), client.Message{ClientMsgID: first.ClientMsgID, Body: []byte("never, really")}, time.Now().Add(2*time.Hour))
	if err != nil || other.ID != first.ID {
		t.Fatalf("scheduled again: %+v, %v; want the id %s", other, err, first.ID)
	}
	// The first may be out already on a slow machine; the second is not.
	list, err := laptop.ScheduledMessages(ctx)
	if n := len(list); err != nil || n == 0 || n > 2 || list[n-1].ID != other.ID || string(list[n-1].Body) != "never, really" || list[n-1].ClientMsgID == "" {
		t.Fatalf("the laptop's list: %+v, %v", list, err)
	}
	if err := laptop.Unschedule(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if err := laptop.Unschedule(ctx, other.ID); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("cancelling twice: %v, want NOT_FOUND", err)
	}
	if _, err := phone.ScheduleText(ctx, client.ToUser("bob"), "late", time.Now().Add(-time.Second)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a time gone: %v, want INVALID", err)
	}
	conv := wirepb.DirectConvID("alice", "bob")
	eventually(t, "bob gets the scheduled message", func() bool {
		ms := bob.Messages(conv)
		return len(ms) == 1 && string(ms[0].Body) == "good morning" && ms[0].ClientMsgID == s.ClientMsgID && !ms[0].ServerTime.Before(at.Truncate(time.Millisecond))
	})
	if list, err := phone.ScheduledMessages(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after it went out: %+v, %v", list, err)
	}
}
