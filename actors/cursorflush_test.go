package actors_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A device's cursor ack with nothing else to write waits for the next
// flush (here: the inbox entry of a message) up to CursorFlushDelay, and
// is durable when answered; a negative delay writes it at once.
func TestCursorFlushDelay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		held  bool
	}{{"held until a message", time.Hour, true}, {"at once", -1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t)
			node := startCluster(t, 1, store, actors.Config{CursorFlushDelay: tc.delay})[0]
			ctx := tctx(t)
			phone, _ := connect(t, node, "bob", "phone")
			send := func() {
				if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("hi")}); err != nil {
					t.Fatal(err)
				}
			}
			send()                   // bob's inbox entry 1,
			phone.waitMessages(t, 1) // pushed once durable: nothing left to write
			acked := make(chan error, 1)
			go func() { acked <- node.AckCursor(ctx, "bob", "phone", 1) }()
			select {
			case err := <-acked:
				if tc.held {
					t.Fatalf("cursor ack answered (%v) before anything else was written", err)
				}
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(500 * time.Millisecond):
				if !tc.held {
					t.Fatal("cursor ack not answered within 500 ms with the delay off")
				}
				send()
				if err := <-acked; err != nil {
					t.Fatalf("cursor ack after a message: %v", err)
				}
			}
			devs, err := store.ListDevices(ctx, "bob")
			if err != nil || len(devs) != 1 || devs[0].Cursor != 1 {
				t.Fatalf("bob's devices after the ack was answered: %+v %v", devs, err)
			}
		})
	}
}
