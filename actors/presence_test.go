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

// Presences answers several users at once, as Presence does each: in the
// order asked, a repeat once, the viewer's own devices, and those the
// viewer may not see left out (a stranger, a user who blocked the viewer,
// a group's non-member); through a group the viewer reads, its members;
// the viewer's own sharing cuts what it sees; MaxPresenceUsers at its edge.
func TestPresences(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxPresenceUsers: 4})[0]
	ctx := tctx(t)
	for _, u := range []string{"bob", "carol", "erin"} {
		if _, err := node.SendDirect(ctx, u, &pb.SendMessage{Sender: "alice", Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := node.Block(ctx, "erin", "alice", true); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:team", "alice", "dan")
	connect(t, node, "bob", "phone") // online until the test ends
	_, carol := connect(t, node, "carol", "phone")
	carol.Close()
	type seen struct {
		user     string
		online   bool
		lastSeen bool
	}
	look := func(conv string, users ...string) ([]seen, error) {
		t.Helper()
		ps, err := node.Presences(ctx, "alice", conv, users)
		out := make([]seen, len(ps))
		for i, p := range ps {
			out[i] = seen{p.User, len(p.Devices) > 0, p.LastSeenMs > 0}
		}
		return out, err
	}
	want := []seen{{"carol", false, true}, {"bob", true, false}}
	eventually(t, func() error {
		got, err := look("", "carol", "bob", "dan", "carol") // dan: no direct conversation with alice
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("through direct conversations: %v %v, want %v", got, err, want)
		}
		return nil
	})
	if got, err := look("", "erin", "bob"); err != nil || len(got) != 1 || got[0].user != "bob" {
		t.Fatalf("erin blocked alice: %v %v, want bob alone", got, err)
	}
	if got, err := look("g:team", "dan", "bob", "alice"); err != nil || fmt.Sprint(got) != fmt.Sprint([]seen{{"dan", false, false}, {"alice", false, false}}) {
		t.Fatalf("through the group: %v %v, want dan and alice (bob is no member)", got, err)
	}
	if _, err := node.Presences(ctx, "bob", "g:team", []string{"dan"}); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("through a group the viewer is not in: %v, want NOT_MEMBER", err)
	}
	if _, err := look("", "bob", "carol", "dan", "erin"); err != nil {
		t.Fatalf("four users, the bound: %v", err)
	}
	if _, err := look("", "bob", "carol", "dan", "erin", "zed"); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("five users, one past the bound: %v, want INVALID", err)
	}
	onlineOnly := pb.PresenceSharing_PRESENCE_ONLINE_ONLY
	if _, err := node.Privacy(ctx, "alice", &onlineOnly); err != nil {
		t.Fatal(err)
	}
	if got, err := look("", "carol", "bob"); err != nil || fmt.Sprint(got) != fmt.Sprint([]seen{{"carol", false, false}, {"bob", true, false}}) {
		t.Fatalf("alice hides her last seen, so sees none: %v %v", got, err)
	}
}
