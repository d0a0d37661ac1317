package actors_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestLastSeen: while a user is online presence says so and gives no last
// seen; once their last device disconnects it gives when, and that time
// is stored with the device (a later activation of the grain reads it).
func TestLastSeen(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("is the bike still for sale?")}); err != nil {
		t.Fatal(err)
	}
	if p, err := node.Presence(ctx, "alice", "bob", ""); err != nil || len(p.Devices) != 0 || p.LastSeenMs != 0 {
		t.Fatalf("bob, never connected: %v %v", p, err)
	}
	_, sess := connect(t, node, "bob", "phone")
	if p, err := node.Presence(ctx, "alice", "bob", ""); err != nil || len(p.Devices) != 1 || p.LastSeenMs != 0 {
		t.Fatalf("bob online: %v %v", p, err)
	}
	time.Sleep(20 * time.Millisecond) // the disconnect is later than the connect, in ms
	closed := time.Now().Truncate(time.Millisecond)
	sess.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := node.Presence(ctx, "alice", "bob", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Devices) == 0 {
			if seen := time.UnixMilli(p.LastSeenMs); seen.Before(closed) || seen.After(time.Now()) {
				t.Fatalf("bob offline, last seen %v; disconnected at %v", seen, closed)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob still online after his session closed: %v", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		devs, err := store.ListDevices(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if len(devs) == 1 && !devs[0].LastSeen.Before(closed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored devices %+v: the disconnect's last seen is not stored", devs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
