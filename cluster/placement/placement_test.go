package placement_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/switchboard-im/switchboard/cluster/membership"
	"github.com/switchboard-im/switchboard/cluster/placement"
)

const kind = "echo"

// echo answers with the identity it read from its own PID.
type echo struct{ id string }

func (e *echo) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		_, e.id, _ = placement.Identity(ctx.Self())
	case *wrapperspb.StringValue:
		ctx.Respond(wrapperspb.String(e.id + "|" + m.GetValue()))
	}
}

type member struct {
	system  *actor.ActorSystem
	cluster *cluster.Cluster
	mp      *membership.Provider
}

func startMember(t *testing.T, seeds ...string) *member {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	cfg := membership.DefaultConfig()
	cfg.BindAddr, cfg.BindPort, cfg.Seeds, cfg.JoinTimeout, cfg.Logger = "127.0.0.1", 0, seeds, 5*time.Second, logger
	mp, err := membership.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.New(system, cluster.Configure("placement-test", mp, placement.New(), remote.Configure("127.0.0.1", 0),
		cluster.WithKinds(placement.NewKind(kind, func() actor.Actor { return &echo{} })), cluster.WithRequestTimeout(2*time.Second)))
	c.StartMember()
	m := &member{system: system, cluster: c, mp: mp}
	t.Cleanup(func() { c.Shutdown(false); _ = mp.Shutdown(false) })
	return m
}

func (m *member) count() int32 {
	k, _ := m.cluster.TryGetClusterKind(kind)
	return k.Count()
}

// ask finds identity's grain through m and checks it answers as itself.
func (m *member) ask(t *testing.T, identity string) *actor.PID {
	t.Helper()
	pid := m.cluster.Get(identity, kind)
	if pid == nil {
		t.Fatalf("no activation of %s", identity)
	}
	res, err := m.system.Root.RequestFuture(pid, wrapperspb.String("hi"), 5*time.Second).Result()
	if err != nil {
		t.Fatalf("%s at %s: %v", identity, pid, err)
	}
	if got := res.(*wrapperspb.StringValue).GetValue(); got != identity+"|hi" {
		t.Fatalf("%s answered %q", identity, got)
	}
	return pid
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNameCarriesTheIdentity(t *testing.T) {
	for _, id := range []string{"alice", "d:alice:bob", "a/b$c", "$", ""} {
		pid := actor.NewPID("127.0.0.1:1", placement.Name("user", id, 7))
		k, got, ok := placement.Identity(pid)
		if !ok || k != "user" || got != id {
			t.Errorf("Identity(Name(user, %q)) = %q, %q, %v", id, k, got, ok)
		}
	}
	for _, name := range []string{"partition-activator", "placement/user", "placement/user/alice", "other/user/a$1"} {
		if _, _, ok := placement.Identity(actor.NewPID("127.0.0.1:1", name)); ok {
			t.Errorf("Identity(%q) claims a grain", name)
		}
	}
}

// Every grain has one activation, on the member the rendezvous hash names,
// whoever asks; one that stops is forgotten and the next request starts a
// new one; grains a joining member now owns stop where they were.
func TestPlacement(t *testing.T) {
	a := startMember(t)
	ids := make([]string, 40)
	first := map[string]*actor.PID{}
	for i := range ids {
		ids[i] = fmt.Sprintf("grain-%d", i)
		first[ids[i]] = a.ask(t, ids[i])
	}
	if n := a.count(); n != int32(len(ids)) {
		t.Fatalf("%d activations on the only member, want %d", n, len(ids))
	}

	// A stopped grain is forgotten: a new activation, a new name.
	if err := a.system.Root.PoisonFuture(first[ids[0]]).Wait(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stop to be counted", func() bool { return a.count() == int32(len(ids)-1) })
	again := a.ask(t, ids[0])
	if again.Equal(first[ids[0]]) {
		t.Fatalf("the stopped activation %s was handed out again", again)
	}
	first[ids[0]] = again

	// A second member joins: the grains it now owns stop on the first one,
	// and both members find each grain at the same PID on its owner.
	b := startMember(t, a.mp.Addr())
	eventually(t, "both members in both topologies", func() bool {
		return len(a.cluster.MemberList.Members().Members()) == 2 && len(b.cluster.MemberList.Members().Members()) == 2
	})
	moved := 0
	for _, id := range ids {
		owner := ownerOf(a, id)
		if owner == b.system.Address() {
			moved++
		}
	}
	if moved == 0 || moved == len(ids) {
		t.Fatalf("%d of %d grains moved: the test needs some of each", moved, len(ids))
	}
	eventually(t, "moved grains to stop on the first member", func() bool { return a.count() == int32(len(ids)-moved) })
	for _, id := range ids {
		pa, pb := a.ask(t, id), b.ask(t, id)
		if !pa.Equal(pb) {
			t.Fatalf("%s: member a finds %s, member b %s", id, pa, pb)
		}
		if pa.Address != ownerOf(a, id) {
			t.Fatalf("%s runs at %s, its owner is %s", id, pa.Address, ownerOf(a, id))
		}
	}
	if na, nb := a.count(), b.count(); na+nb != int32(len(ids)) || nb != int32(moved) {
		t.Fatalf("activations: %d on a, %d on b; want %d in all, %d on b", na, nb, len(ids), moved)
	}

	// A grain that stops on its owner leaves no PID in the other member's
	// cache: a message sent through it would be lost.
	var onA string
	for _, id := range ids {
		if ownerOf(a, id) == a.system.Address() {
			onA = id
			break
		}
	}
	pid := a.ask(t, onA)
	b.cluster.PidCache.Set(onA, kind, pid)
	if err := a.system.Root.PoisonFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "member b to forget the stopped grain's PID", func() bool {
		_, cached := b.cluster.PidCache.Get(onA, kind)
		return !cached
	})
}

func ownerOf(m *member, id string) string {
	r := cluster.NewRendezvous()
	r.UpdateMembers(m.cluster.MemberList.Members().Members())
	return r.GetByClusterIdentity(cluster.NewClusterIdentity(id, kind))
}
