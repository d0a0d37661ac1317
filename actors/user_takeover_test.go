package actors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestUserTwoActivations forces a second activation of a user grain beside
// the cluster's (as after a node kill, before membership settles): the
// second takes the inbox epoch, the first's next flush is refused and it
// stops, the retried deliveries reach a fresh activation, and the inbox
// ends up numbered by one writer: every message is in it, in order.
func TestUserTwoActivations(t *testing.T) { userTwoActivations(t, openStore(t), 0) }

// TestUserTwoActivationsCQL is the same on Cassandra.
func TestUserTwoActivationsCQL(t *testing.T) { userTwoActivations(t, openCQLStore(t), 0) }

// TestUserInboxReserveEdge runs it with the smallest reservation, one
// inbox seq: every flush reserves, so the fenced-off activation meets its
// lost epoch at the reservation as well as at the write.
func TestUserInboxReserveEdge(t *testing.T) { userTwoActivations(t, openStore(t), 1) }

func userTwoActivations(t *testing.T, store storage.Store, reserve uint64) {
	node := startCluster(t, 1, store, actors.Config{RequestTimeout: 2 * time.Second, InboxReserve: reserve})[0]
	const conv = "g:takeover"
	mustCreateGroup(t, node, conv, "alice", "bob")
	var last uint64
	for i := range 5 {
		last = mustSend(t, node, conv, "alice", fmt.Sprint("before-", i)).Seq
	}
	inboxHas := func(seq uint64) func() error {
		return func() error {
			entries, err := store.ListInbox(context.Background(), "bob", 0, 1000)
			if err != nil {
				return err
			}
			var top uint64
			for i, e := range entries {
				if i > 0 && e.Seq != entries[i-1].Seq+1 {
					return fmt.Errorf("inbox seq %d after %d", e.Seq, entries[i-1].Seq)
				}
				if e.Kind == storage.InboxMessage && e.ConvID == conv {
					if e.ConvSeq < top {
						return fmt.Errorf("inbox entry %d says seq %d after %d: two writers numbered the inbox", e.Seq, e.ConvSeq, top)
					}
					top = e.ConvSeq
				}
			}
			if top < seq {
				return fmt.Errorf("bob's inbox reaches seq %d of %d", top, seq)
			}
			return nil
		}
	}
	eventually(t, inboxHas(last))

	stray := actors.SpawnUserForTest(node.Runtime, "bob")
	// Answered only once its activation (and so the epoch take) is done.
	if _, err := node.System().Root.RequestFuture(stray, &pb.Presence{}, 10*time.Second).Result(); err != nil {
		t.Fatalf("second activation: %v", err)
	}
	for i := range 5 {
		last = mustSend(t, node, conv, "alice", fmt.Sprint("after-", i)).Seq
	}
	eventually(t, inboxHas(last))
	lease, err := store.AcquireInbox(tctx(t), "bob") // a third writer: none of the others may write now
	if err != nil {
		t.Fatal(err)
	}
	// 1: the cluster's first activation; 2: the stray; 3: the fresh one the
	// refused flush made room for; 4: this.
	if lease.Epoch < 4 {
		t.Fatalf("inbox epoch %d: the first activation was not fenced off and replaced", lease.Epoch)
	}
}

// TestUserFencedFlushAnswersRetry: an activation whose inbox epoch was
// taken by a newer one answers the Deliver it was about to write with
// RETRY as soon as its flush is refused, rather than stopping silently and
// leaving the conversation's fan-out to wait out its attempt time-out
// before trying the newer activation (what delayed pushes after a node
// rejoined and user grains moved back to it).
func TestUserFencedFlushAnswersRetry(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{RequestTimeout: 2 * time.Second})[0]
	const conv = "g:fenced"
	mustCreateGroup(t, node, conv, "alice", "bob")
	seq := mustSend(t, node, conv, "alice", "hello").Seq
	root := node.System().Root
	activate := func() *actor.PID {
		pid := actors.SpawnUserForTest(node.Runtime, "bob")
		if _, err := root.RequestFuture(pid, &pb.Presence{}, 10*time.Second).Result(); err != nil {
			t.Fatalf("activation: %v", err)
		}
		return pid
	}
	old := activate()
	activate() // takes the inbox epoch from old
	res, err := root.RequestFuture(old, &pb.Deliver{User: "bob", Conv: conv, Messages: []*pb.Message{
		{Conv: conv, Seq: seq, Sender: "alice", Body: []byte("hello"), Kind: pb.MessageKind_NORMAL},
	}}, 10*time.Second).Result()
	if err != nil {
		t.Fatalf("the fenced-off activation did not answer the Deliver: %v", err)
	}
	if ack, ok := res.(*pb.Ack); !ok || ack.GetError().GetCode() != pb.Code_RETRY {
		t.Fatalf("fenced-off activation answered %v, want an Ack with RETRY", res)
	}
}

// TestDeviceOnALeftMemberIsOffline: a device registered at an address
// that is not a member of the cluster (its node died or was cut off) is
// not online: presence leaves it out and pushes skip it, so nothing dials
// a dead address (which stalls the restarted node's connection).
func TestDeviceOnALeftMemberIsOffline(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{RequestTimeout: 2 * time.Second})[0]
	root := node.System().Root
	pid := actors.SpawnUserForTest(node.Runtime, "carol")
	ask := func(m any) any {
		t.Helper()
		res, err := root.RequestFuture(pid, m, 10*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, d := range []struct{ device, addr string }{{"phone", node.System().Address()}, {"tablet", "127.0.0.1:9"}} {
		if r := ask(&pb.RegisterDevice{User: "carol", Device: d.device, ConnAddress: d.addr, ConnId: "conn-" + d.device}).(*pb.RegisterDeviceResponse); r.Error != nil {
			t.Fatalf("register %s: %v", d.device, r.Error)
		}
	}
	pres := ask(&pb.Presence{}).(*pb.PresenceResponse)
	if len(pres.Devices) != 1 || pres.Devices[0].Device != "phone" {
		t.Fatalf("online devices %v, want only the phone (the tablet's node is not a member)", pres.Devices)
	}
}

// TestUserGrainStopHandsOffDevices: a user grain that stops while devices
// are online (it moved, or lost its inbox epoch) has their sessions
// register again, with the activation that replaces it, at once: without
// that, a registration that reached the stopping activation after the new
// one's presence probe left the device unknown to the new one until the
// re-registration sweep (here an hour), and its pushes went nowhere.
func TestUserGrainStopHandsOffDevices(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: time.Hour})[0]
	const conv = "g:handoff"
	mustCreateGroup(t, node, conv, "alice", "bob")
	phone, _ := connect(t, node, "bob", "phone")
	time.Sleep(500 * time.Millisecond) // the activation's own probe re-registers once more: let it land
	before := phone.resyncs.Load()
	old, err := actors.UserGrainForTest(node.Runtime, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := node.System().Root.PoisonFuture(old).Wait(); err != nil {
		t.Fatal(err)
	}
	// Nothing else asks for bob's grain: only the hand-off starts a new
	// activation and registers the phone with it.
	deadline := time.Now().Add(5 * time.Second)
	for phone.resyncs.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the phone's session did not register again after its user grain stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if now, err := actors.UserGrainForTest(node.Runtime, "bob"); err != nil || now.Equal(old) {
		t.Fatalf("bob's grain after the hand-off: %v, %v (the stopped one was %v)", now, err, old)
	}
	seq := mustSend(t, node, conv, "alice", "after the hand-off").Seq
	for _, m := range phone.waitMessages(t, 1) {
		if m.Seq == seq {
			return
		}
	}
	t.Fatalf("the phone got %v, not seq %d", phone.messages(), seq)
}

// TestRegisterAtANonOwnerIsRetried: an activation whose member does not
// own the user (its placement is about to stop it) refuses a device's
// registration with RETRY, so the caller finds the owner's activation; the
// owner's activation takes it.
func TestRegisterAtANonOwnerIsRetried(t *testing.T) {
	nodes := startCluster(t, 2, openStore(t), actors.Config{RequestTimeout: 2 * time.Second})
	user := ""
	for i := 0; user == ""; i++ {
		if id := fmt.Sprintf("owned-%d", i); nodes[0].Runtime.Owner(actors.KindUser, id) == nodes[0].System().Address() {
			user = id
		}
	}
	for i, want := range []pb.Code{pb.Code_OK, pb.Code_RETRY} {
		node := nodes[i]
		pid := actors.SpawnUserForTest(node.Runtime, user)
		res, err := node.System().Root.RequestFuture(pid, &pb.RegisterDevice{User: user, Device: "phone", ConnAddress: node.System().Address(), ConnId: "conn"}, 10*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := res.(*pb.RegisterDeviceResponse).GetError().GetCode(); got != want {
			t.Fatalf("registration at node %d (owner: node 0): %v, want %v", i, res, want)
		}
	}
}
