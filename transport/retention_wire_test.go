package transport_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestRetentionOverTheWire: once the node's retention passes a message,
// the Go SDK reads it as expired (and recalled, without its text) from
// history, replacing the copy it held, and from the conversation list.
func TestRetentionOverTheWire(t *testing.T) {
	t.Parallel()
	clock, setNow := testenv.SettableClock()
	e := newEnv(t, envOptions{actors: actors.Config{Retention: time.Hour, Now: clock}})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "the door code is 4711")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob holds the message", func() bool {
		ms := bob.Messages(conv)
		return len(ms) == 1 && string(ms[0].Body) == "the door code is 4711"
	})

	at := sent.ServerTime.Add(time.Hour + time.Millisecond)
	setNow(at)
	hist, err := bob.History(ctx, conv, client.HistoryOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || !hist[0].Expired || !hist[0].Recalled || len(hist[0].Body) > 0 {
		t.Fatalf("history once expired: %+v", hist)
	}
	if ms := bob.Messages(conv); len(ms) != 1 || !ms[0].Expired || len(ms[0].Body) > 0 {
		t.Fatalf("bob's held copy once expired: %+v", ms)
	}
	if _, _, err := bob.ListConversations(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(bob.Conversations(), func(c client.Conversation) bool { return c.ID == conv })
	if i < 0 {
		t.Fatalf("bob's list has no %s", conv)
	}
	if m := bob.Conversations()[i].LastMessage; m == nil || !m.Expired || len(m.Body) > 0 {
		t.Fatalf("bob's list shows the last message as %+v", m)
	}
}
