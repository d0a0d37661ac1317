package actors_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// onlineDevices lists the devices user's grain knows online.
func onlineDevices(t *testing.T, node *boot.Node, user string) []string {
	t.Helper()
	res, err := node.OnlineDevices(tctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range res.Devices {
		out = append(out, d.Device)
	}
	return out
}

// reregSessions connects users × devices sessions, all registered.
func reregSessions(t *testing.T, node *boot.Node, users, devices int) map[string][]session.Session {
	t.Helper()
	out := map[string][]session.Session{}
	for u := range users {
		user := fmt.Sprintf("rereg-u%d", u)
		for d := range devices {
			_, s := connect(t, node, user, fmt.Sprintf("dev%d", d))
			out[user] = append(out[user], s)
		}
		if got := onlineDevices(t, node, user); len(got) != devices {
			t.Fatalf("%s: %d devices online after connecting, want %d: %v", user, len(got), devices, got)
		}
	}
	// A new user grain's presence probe makes the sessions register once
	// more, possibly after the test made the grain forget them: let those
	// land first.
	time.Sleep(500 * time.Millisecond)
	return out
}

// TestReregisterSweep: with a short Reregister, sessions whose user grain
// forgot them are registered again within about two periods, by the
// node's one sweep with at most ReregisterWorkers requests in flight; a
// closed session is not registered again.
func TestReregisterSweep(t *testing.T) {
	for _, workers := range []int{1, 4} { // 1: the edge, one request at a time
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			const every = 250 * time.Millisecond
			node := startCluster(t, 1, openStore(t), actors.Config{Reregister: every, ReregisterWorkers: workers})[0]
			sessions := reregSessions(t, node, 12, 2)
			closed := sessions["rereg-u0"][1] // dev1 of rereg-u0
			closed.Close()
			if got := onlineDevices(t, node, "rereg-u0"); !slices.Equal(got, []string{"dev0"}) {
				t.Fatalf("after closing dev1, online %v", got)
			}
			start := time.Now()
			for user := range sessions {
				if err := actors.ForgetDevicesForTest(tctx(t), node.Runtime, user); err != nil {
					t.Fatal(err)
				}
			}
			// Two periods and slack for a loaded machine: every slice of
			// the sessions gets its turn within one period.
			deadline := start.Add(2*every + time.Second)
			for user := range sessions {
				want := []string{"dev0", "dev1"}
				if user == "rereg-u0" {
					want = want[:1]
				}
				for got := onlineDevices(t, node, user); !slices.Equal(got, want); got = onlineDevices(t, node, user) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: online %v %v after its grain forgot them, want %v", user, got, time.Since(start), want)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			t.Logf("all registered again within %v", time.Since(start).Round(time.Millisecond))
			time.Sleep(3 * every) // the closed session's slice had turns
			if got := onlineDevices(t, node, "rereg-u0"); !slices.Equal(got, []string{"dev0"}) {
				t.Fatalf("closed session registered again: online %v", got)
			}
			if m := actors.ReregisterMaxInFlightForTest(node.Runtime); m < 1 || m > int64(workers) {
				t.Fatalf("%d re-registrations in flight at once, limit %d", m, workers)
			}
		})
	}
}

// TestReregisterSweepOnly is the control: with a period far longer than
// the test, a forgotten session stays forgotten, so what brings it back
// above is the sweep and nothing else.
func TestReregisterSweepOnly(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: time.Hour})[0]
	sessions := reregSessions(t, node, 3, 1)
	for user := range sessions {
		if err := actors.ForgetDevicesForTest(tctx(t), node.Runtime, user); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	for user := range sessions {
		if got := onlineDevices(t, node, user); len(got) != 0 {
			t.Fatalf("%s: online %v though its grain forgot it and no sweep ran", user, got)
		}
	}
}

// TestRenewalKeepsNewestConnection: a device that connected again while
// its old connection lingers (a phone that changed networks) keeps its
// pushes on the new one. The old session's renewals (the sweep's, made
// here at once) must not take the device back, and its close, when it
// finally times out, must not mark the device offline.
func TestRenewalKeepsNewestConnection(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: time.Hour})[0]
	ctx := tctx(t)
	old, oldSess := connect(t, node, "bob", "phone")
	spare, spareSess := connect(t, node, "bob", "phone")
	fresh, freshSess := connect(t, node, "bob", "phone")
	for i := range 3 {
		actors.RenewForTest(oldSess)
		if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte(fmt.Sprint("m", i))}); err != nil {
			t.Fatal(err)
		}
		fresh.waitMessages(t, i+1)
		actors.RenewForTest(freshSess) // the newest connection's own renewals still count
	}
	if n := len(old.messages()) + len(spare.messages()); n != 0 {
		t.Fatalf("the replaced connections got %d of the pushes", n)
	}
	oldSess.Close()
	if got := onlineDevices(t, node, "bob"); !slices.Equal(got, []string{"phone"}) {
		t.Fatalf("online after the old connection closed: %v, want [phone]", got)
	}
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	fresh.waitMessages(t, 4)
	// Once the newest connection is gone, a renewal from an older one that
	// is still there takes the device again.
	freshSess.Close()
	actors.RenewForTest(spareSess)
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("to the spare")}); err != nil {
		t.Fatal(err)
	}
	spare.waitMessages(t, 1)
}

// TestSupersededRenewalEndsTheConnection: the replaced connection is told
// REPLACED by the new session's notice, and, should that notice be lost,
// by its own next renewal, which the grain answers superseded.
func TestSupersededRenewalEndsTheConnection(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: time.Hour})[0]
	old, oldSess := connect(t, node, "bob", "phone")
	connect(t, node, "bob", "phone")
	ended := func(n int32) func() error {
		return func() error {
			if got := old.ends.Load(); got < n {
				return fmt.Errorf("the replaced connection was ended %d times, want %d", got, n)
			}
			if code := actors.CodeOf(*old.endErr.Load()); code != pb.Code_REPLACED {
				return fmt.Errorf("ended with %v, want REPLACED", code)
			}
			return nil
		}
	}
	eventually(t, ended(1)) // the notice
	// The node's first topology change may renew every session too (the
	// same backstop); let it pass, then renew once more by hand.
	time.Sleep(time.Second)
	before := old.ends.Load()
	actors.RenewForTest(oldSess)
	eventually(t, ended(before+1)) // the backstop (the test device stays open after End)
}

// slowDevices is the real store, whose device list for one user takes a
// while to read: that user's grain activates slowly.
type slowDevices struct {
	storage.Store
	user  string
	delay time.Duration
}

func (s *slowDevices) ListDevices(ctx context.Context, user string) ([]storage.Device, error) {
	if user == s.user {
		time.Sleep(s.delay)
	}
	return s.Store.ListDevices(ctx, user)
}

// TestConnectGivenUpLeavesNoDevice: a connect whose caller gave up before
// the user grain answered (here: the grain is still activating) takes its
// registration back. Otherwise the grain, reaching it later, counted the
// device online at a connection that never was, so no notification went
// to it, until the device connected again.
func TestConnectGivenUpLeavesNoDevice(t *testing.T) {
	node := startCluster(t, 1, &slowDevices{Store: openStore(t), user: "bob", delay: time.Second}, actors.Config{Reregister: time.Hour})[0]
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := node.Connect(ctx, "bob", "phone", &device{got: make(chan struct{}, 1)}); err == nil {
		t.Fatal("connect answered within 200 ms though the grain takes a second to activate")
	}
	time.Sleep(1500 * time.Millisecond) // the grain is up and has read its mailbox
	if got := onlineDevices(t, node, "bob"); len(got) != 0 {
		t.Fatalf("online after a connect given up: %v", got)
	}
}

// TestRenewalOrderSurvivesClockSkew: the grain orders a device's
// connections itself. A fresh connection from a node whose clock is an
// hour behind the old one's still comes after it, and the old one's
// renewal (with the time the grain gave it) is refused.
func TestRenewalOrderSurvivesClockSkew(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: time.Hour})[0]
	grain, err := actors.UserGrainForTest(node.Runtime, "bob")
	if err != nil {
		t.Fatal(err)
	}
	register := func(conn string, at int64, renew bool) *pb.RegisterDeviceResponse {
		t.Helper()
		res, err := node.System().Root.RequestFuture(grain, &pb.RegisterDevice{User: "bob", Device: "phone",
			ConnAddress: node.System().Address(), ConnId: conn, ConnectedAt: at, Renew: renew}, 10*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		r := res.(*pb.RegisterDeviceResponse)
		if r.Error != nil {
			t.Fatalf("register %s: %v", conn, r.Error)
		}
		return r
	}
	now := time.Now().UnixNano()
	old := register("old", now+int64(time.Hour), false) // its node's clock is an hour ahead
	fresh := register("fresh", now, false)
	if fresh.ConnectedAt <= old.ConnectedAt {
		t.Fatalf("the fresh connection is ordered at %d, not after the old one's %d", fresh.ConnectedAt, old.ConnectedAt)
	}
	if r := register("old", old.ConnectedAt, true); !r.Superseded {
		t.Fatal("the old connection's renewal took the device from the fresh one")
	}
	if r := register("fresh", fresh.ConnectedAt, true); r.Superseded {
		t.Fatal("the fresh connection's own renewal was refused")
	}
}
