package actors_test

import (
	"fmt"
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

// Presence sharing: with ONLINE_ONLY others see whether the user is
// online but never when last seen; with NOBODY always offline; the user
// still sees all of their own, the node's routing lookup all of it; the
// setting is stored and survives the grain; a value out of the enum is
// INVALID.
func TestPresenceSharing(t *testing.T) {
	const idle = 200 * time.Millisecond
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{IdleTimeout: idle})[0]
	ctx := tctx(t)
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("still for sale?")}); err != nil {
		t.Fatal(err)
	}
	share := func(s pb.PresenceSharing) {
		t.Helper()
		if got, err := node.Privacy(ctx, "bob", &s); err != nil || got != s {
			t.Fatalf("set %v: %v, %v", s, got, err)
		}
	}
	seen := func(viewer string) (online bool, lastSeen int64) {
		t.Helper()
		p, err := node.Presence(ctx, viewer, "bob", "")
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Devices) > 0, p.LastSeenMs
	}

	if got, err := node.Privacy(ctx, "bob", nil); err != nil || got != pb.PresenceSharing_PRESENCE_EVERYONE {
		t.Fatalf("the default: %v, %v", got, err)
	}
	share(pb.PresenceSharing_PRESENCE_ONLINE_ONLY)
	_, sess := connect(t, node, "bob", "phone")
	if online, _ := seen("alice"); !online {
		t.Fatal("online only: alice does not see bob online")
	}
	sess.Close()
	eventually(t, func() error {
		if online, last := seen("bob"); online || last == 0 {
			return fmt.Errorf("bob's own view: online %v, last seen %d; want offline with a last seen", online, last)
		}
		return nil
	})
	if online, last := seen("alice"); online || last != 0 {
		t.Fatalf("online only, bob offline: alice sees online %v, last seen %d; want neither", online, last)
	}

	share(pb.PresenceSharing_PRESENCE_NOBODY)
	_, sess = connect(t, node, "bob", "tablet")
	if online, last := seen("alice"); online || last != 0 {
		t.Fatalf("nobody: alice sees online %v, last seen %d", online, last)
	}
	if online, _ := seen("bob"); !online {
		t.Fatal("nobody: bob does not see himself online")
	}
	if p, err := node.OnlineDevices(ctx, "bob"); err != nil || len(p.Devices) != 1 {
		t.Fatalf("the routing lookup: %v, %v; want bob's tablet", p, err)
	}
	sess.Close()

	// Reloaded after the grain passivates.
	deadline := time.Now().Add(20 * idle)
	for node.GrainCounts()[actors.KindUser] > 1 { // alice's first contact keeps hers
		if time.Now().After(deadline) {
			t.Fatalf("%d user grains still active", node.GrainCounts()[actors.KindUser])
		}
		time.Sleep(idle / 4)
	}
	if got, err := node.Privacy(ctx, "bob", nil); err != nil || got != pb.PresenceSharing_PRESENCE_NOBODY {
		t.Fatalf("after passivation: %v, %v", got, err)
	}
	if online, last := seen("alice"); online || last != 0 {
		t.Fatalf("after passivation: alice sees online %v, last seen %d", online, last)
	}
	bad := pb.PresenceSharing(3) // the first past the enum
	if _, err := node.Privacy(ctx, "bob", &bad); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("sharing 3: %v, want INVALID", err)
	}
	share(pb.PresenceSharing_PRESENCE_EVERYONE)
	if _, last := seen("alice"); last == 0 {
		t.Fatal("everyone again: alice does not see when bob was last seen")
	}
}

// TestPresenceReciprocity: what a user sees of another's presence is at
// most what they show themself: with ONLINE_ONLY nobody's last seen, with
// NOBODY nobody's presence; Config.PresenceOneSided turns that off.
func TestPresenceReciprocity(t *testing.T) {
	for _, oneSided := range []bool{false, true} {
		t.Run(fmt.Sprintf("one-sided=%v", oneSided), func(t *testing.T) {
			node := startCluster(t, 1, openStore(t), actors.Config{PresenceOneSided: oneSided})[0]
			ctx := tctx(t)
			if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("hi")}); err != nil {
				t.Fatal(err)
			}
			share := func(s pb.PresenceSharing) {
				t.Helper()
				if _, err := node.Privacy(ctx, "alice", &s); err != nil {
					t.Fatal(err)
				}
			}
			seen := func() (online bool, lastSeen int64) {
				t.Helper()
				p, err := node.Presence(ctx, "alice", "bob", "")
				if err != nil {
					t.Fatal(err)
				}
				return len(p.Devices) > 0, p.LastSeenMs
			}
			cases := []struct {
				own            pb.PresenceSharing
				online, lastOK bool
			}{
				{pb.PresenceSharing_PRESENCE_ONLINE_ONLY, true, oneSided},
				{pb.PresenceSharing_PRESENCE_NOBODY, oneSided, oneSided},
				{pb.PresenceSharing_PRESENCE_EVERYONE, true, true},
			}
			_, sess := connect(t, node, "bob", "phone")
			for _, c := range cases {
				share(c.own)
				if online, _ := seen(); online != c.online {
					t.Errorf("bob online, alice sharing %v sees online %v; want %v", c.own, online, c.online)
				}
			}
			sess.Close()
			eventually(t, func() error {
				if online, last := seen(); online || last == 0 {
					return fmt.Errorf("bob gone: alice sees online %v, last seen %d; want a last seen", online, last)
				}
				return nil
			})
			for _, c := range cases {
				share(c.own)
				if _, last := seen(); (last != 0) != c.lastOK {
					t.Errorf("bob offline, alice sharing %v sees last seen %d; want one: %v", c.own, last, c.lastOK)
				}
			}
		})
	}
}
