package transport_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestDisappearingOverTheWire: a timer set over QUIC reaches the other
// member as a system message; a message sent then is pushed with its end,
// and once the end has come the Go SDK shows its held copy expired,
// without asking the node, as history then serves it. Timers out of
// bounds are INVALID.
func TestDisappearingOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{MinDisappearAfter: time.Second, MaxDisappearAfter: time.Hour}})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "hi"); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{-time.Millisecond, 999 * time.Millisecond, time.Hour + time.Millisecond} {
		var we *wirepb.Error
		if _, err := bob.SetDisappearing(ctx, conv, after); !errors.As(err, &we) || we.Code != wirepb.Code_INVALID {
			t.Fatalf("a timer of %v: %v, want INVALID", after, err)
		}
	}
	seq, err := bob.SetDisappearing(ctx, conv, 1500*time.Millisecond)
	if err != nil || seq == 0 {
		t.Fatalf("bob sets 1.5 s: %d %v", seq, err)
	}
	if after, err := alice.Disappearing(ctx, conv); err != nil || after != 1500*time.Millisecond {
		t.Fatalf("alice reads the timer: %v %v", after, err)
	}
	eventually(t, "alice holds the change", func() bool {
		m, ok := held(alice, conv, seq)
		return ok && m.Kind == wirepb.MessageKind_SYSTEM
	})
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "the door code is 4711")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob holds the message with its end", func() bool {
		m, ok := held(bob, conv, sent.Seq)
		return ok && string(m.Body) == "the door code is 4711" && m.ExpiresAt.Equal(sent.ServerTime.Add(1500*time.Millisecond))
	})
	if !sent.ExpiresAt.Equal(sent.ServerTime.Add(1500 * time.Millisecond)) {
		t.Fatalf("the send's answer tells the sender its end: %v, sent %v", sent.ExpiresAt, sent.ServerTime)
	}
	eventually(t, "both copies disappear at their end", func() bool {
		b, ok1 := held(bob, conv, sent.Seq)
		a, ok2 := held(alice, conv, sent.Seq)
		return ok1 && ok2 && b.Expired && len(b.Body) == 0 && a.Expired && len(a.Body) == 0
	})
	hist, err := alice.History(ctx, conv, client.HistoryOptions{Limit: 10})
	if err != nil || len(hist) == 0 || hist[0].Seq != sent.Seq || !hist[0].Expired || len(hist[0].Body) > 0 {
		t.Fatalf("history after the end: %+v %v", hist, err)
	}
}

// held is the message at seq of conv as c's store holds it.
func held(c *client.Client, conv string, seq uint64) (client.Message, bool) {
	for _, m := range c.Messages(conv) {
		if m.Seq == seq {
			return m, true
		}
	}
	return client.Message{}, false
}
