package actors_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestNewDirectPerHour: a user opens at most NewDirectPerHour new direct
// conversations in an hour; the next is refused RATE_LIMITED with the
// wait, while conversations that exist take messages as before, blocking
// a stranger is not counted, and another user has a budget of their own;
// an idle pause does not refill it. A negative bound turns it off.
func TestNewDirectPerHour(t *testing.T) {
	const perHour, idle = 3, 100 * time.Millisecond
	node := startCluster(t, 1, openStore(t), actors.Config{NewDirectPerHour: perHour, IdleTimeout: idle})[0]
	ctx := tctx(t)
	send := func(from, to string) error {
		_, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, ClientMsgId: fmt.Sprint(time.Now().UnixNano()), Body: []byte("hi")})
		return err
	}
	for i := range perHour {
		if err := send("spammer", fmt.Sprintf("buyer%d", i)); err != nil {
			t.Fatalf("new direct conversation %d of %d: %v", i+1, perHour, err)
		}
	}
	err := send("spammer", "buyer9")
	wantCode(t, err, pb.Code_RATE_LIMITED, "one new direct conversation past the bound")
	var e *actors.Error
	if !errors.As(err, &e) || e.RetryAfterMs < 19*60*1000 || e.RetryAfterMs > 20*60*1000+1 || !strings.Contains(e.Message, "buyer9") {
		t.Fatalf("refusal %v: want a retry-after of about 20 min (an hour / %d)", err, perHour)
	}
	if err := send("spammer", "buyer0"); err != nil {
		t.Fatalf("a conversation that exists: %v", err)
	}
	if err := send("buyer9", "spammer"); err != nil {
		t.Fatalf("the other side opens it: %v", err)
	}
	if err := send("spammer", "buyer9"); err != nil {
		t.Fatalf("once it exists: %v", err)
	}
	if err := node.Block(ctx, "spammer", "stranger", true); err != nil {
		t.Fatalf("blocking a stranger is not opening a conversation: %v", err)
	}
	// Idle past the idle timeout, the grain stays (a passivated one would
	// come back with a full budget).
	time.Sleep(10 * idle)
	wantCode(t, send("spammer", "buyer8"), pb.Code_RATE_LIMITED, "a new direct conversation after an idle pause")

	// One node at a time: two protoactor members live in one process race
	// on gRPC's global logger (see startCluster), which -race reports.
	node.Stop(true)
	off := startCluster(t, 1, openStore(t), actors.Config{NewDirectPerHour: -1})[0]
	for i := range perHour + 2 {
		if _, err := off.SendDirect(ctx, fmt.Sprintf("b%d", i), &pb.SendMessage{Sender: "seller", ClientMsgId: "x", Body: []byte("hi")}); err != nil {
			t.Fatalf("no bound: %v", err)
		}
	}
}
