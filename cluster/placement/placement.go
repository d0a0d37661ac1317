// Package placement activates grains on the member that owns them: a
// protoactor cluster.IdentityLookup, and the kind props it spawns.
//
// It takes the place of protoactor's disthash, with the same protocol (an
// ActivationRequest to the owner's "partition-activator", owner chosen by
// protoactor's rendezvous hash, so members of either kind agree), but an
// activation costs less memory, which matters for a node holding a
// hundred thousand mostly idle user grains:
//   - disthash clones the kind's props for every activation, to carry the
//     identity into the actor's context, which then also allocates its
//     extensions for it. Here a grain's name carries its identity
//     ("placement/<kind>/<identity>$<n>"), the grain reads it from its PID,
//     and all activations of a kind share its props.
//   - disthash spawns grains as children of its placement actor (a child
//     set entry each) and, on every passivation, scans all of its
//     activations for the one that stopped and broadcasts the stop to
//     every member, where nothing listens for it. Here grains are spawned
//     from the root and tell the placement actor when they stop, which
//     finds them by name and tells the other members, whose lookups drop
//     the PID from their caches.
package placement

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"
)

// ActivatorName is the placement actor's name on every member (disthash's,
// so that a rolling upgrade from it keeps finding grains).
const ActivatorName = "partition-activator"

// namePrefix starts every grain's actor name.
const namePrefix = "placement/"

// NewKind is cluster.NewKind for grains placed by this package. A grain
// learns its identity from its PID (Identity(ctx.Self()), in its Started);
// there is no cluster.ClusterInit. The grain's stop is reported to the
// placement actor after the grain has handled it.
func NewKind(kind string, produce func() actor.Actor, opts ...actor.PropsOption) *cluster.Kind {
	return &cluster.Kind{Kind: kind, Props: actor.PropsFromProducer(func() actor.Actor { return &grain{produce()} }, opts...)}
}

// grain wraps a placed actor. (A receiver middleware would do the same at
// the price of protoactor's per-actor context extras: ~175 bytes a grain.)
type grain struct{ actor.Actor }

func (g *grain) Receive(ctx actor.Context) {
	g.Actor.Receive(ctx)
	if _, ok := ctx.Message().(*actor.Stopped); !ok {
		return
	}
	if kind, identity, ok := Identity(ctx.Self()); ok {
		system := ctx.ActorSystem()
		cluster.GetCluster(system).PidCache.RemoveByValue(identity, kind, ctx.Self())
		system.Root.Send(actor.NewPID(system.Address(), ActivatorName), &stopped{pid: ctx.Self()})
	}
}

// Identity is the grain kind and identity of a grain's PID; ok is false
// for an actor this package did not name.
func Identity(pid *actor.PID) (kind, identity string, ok bool) {
	rest, found := strings.CutPrefix(pid.GetId(), namePrefix)
	if !found {
		return "", "", false
	}
	kind, rest, found = strings.Cut(rest, "/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '$')
	if i < 0 {
		return "", "", false
	}
	return kind, rest[:i], true
}

// Name is the actor name of activation n of a grain on its member; n keeps
// a new activation's name apart from an old one still stopping.
func Name(kind, identity string, n uint64) string {
	return namePrefix + kind + "/" + identity + "$" + strconv.FormatUint(n, 10)
}

// stopped is a grain's last word to its member's placement actor.
type stopped struct{ pid *actor.PID }

// Lookup is the cluster.IdentityLookup. New returns one per member.
type Lookup struct {
	cluster   *cluster.Cluster
	activator *actor.PID
	sub       *eventstream.Subscription
	owners    atomic.Pointer[cluster.Rendezvous] // of the last topology; nil before the first
	stopping  atomic.Bool                        // Shutdown began: the placement actor activates nothing more
}

// Stopping reports whether the member's placement actor is stopping: it
// answers no activation request any more (it waits for its grains to
// stop), so a lookup of a grain this member owns should not wait for it.
func (l *Lookup) Stopping() bool { return l.stopping.Load() }

// New returns a Lookup for cluster.Configure.
func New() *Lookup { return &Lookup{} }

var _ cluster.IdentityLookup = (*Lookup)(nil)

// Setup spawns the placement actor and follows the topology.
func (l *Lookup) Setup(c *cluster.Cluster, _ []string, _ bool) {
	l.cluster = c
	system := c.ActorSystem
	// One placer for the member's life: should it ever panic, protoactor
	// restarts it with the same table and counter, so it neither starts a
	// second activation of a live grain nor reuses a live grain's name.
	p := &placer{cluster: c, grains: map[grainKey]*actor.PID{}}
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return p }), ActivatorName)
	if err != nil {
		panic(fmt.Errorf("placement: spawn %s: %w", ActivatorName, err))
	}
	l.activator = pid
	l.sub = system.EventStream.Subscribe(func(ev any) {
		switch ev := ev.(type) {
		case *cluster.ClusterTopology:
			l.owners.Store(rendezvousOf(ev.Members))
			system.Root.Send(pid, ev)
		case *cluster.ActivationTerminated:
			// Another member's grain stopped: a message sent to it through
			// a cached PID would be lost, the next lookup activates it anew.
			c.PidCache.RemoveByValue(ev.GetClusterIdentity().GetIdentity(), ev.GetClusterIdentity().GetKind(), ev.GetPid())
		}
	})
}

// Shutdown stops every grain of this member, then the placement actor.
func (l *Lookup) Shutdown() {
	if l.cluster == nil {
		return // never set up
	}
	system := l.cluster.ActorSystem
	system.EventStream.Unsubscribe(l.sub)
	l.stopping.Store(true)
	if err := system.Root.PoisonFuture(l.activator).Wait(); err != nil {
		l.cluster.Logger().Error("placement: stopping the placement actor", slog.Any("error", err))
	}
}

// Get asks the owner of ci for its activation (starting it), waiting at
// most the cluster's request time-out; nil when there is no answer.
func (l *Lookup) Get(ci *cluster.ClusterIdentity) *actor.PID {
	owners := l.owners.Load()
	if owners == nil {
		return nil
	}
	owner := owners.GetByClusterIdentity(ci)
	if owner == "" {
		return nil
	}
	res, err := l.cluster.ActorSystem.Root.RequestFuture(actor.NewPID(owner, ActivatorName),
		&cluster.ActivationRequest{ClusterIdentity: ci}, l.cluster.Config.RequestTimeoutTime).Result()
	if err != nil {
		return nil
	}
	if r, ok := res.(*cluster.ActivationResponse); ok && !r.Failed {
		return r.Pid
	}
	return nil
}

// RemovePid forgets a PID found not to answer.
func (l *Lookup) RemovePid(ci *cluster.ClusterIdentity, pid *actor.PID) {
	l.cluster.PidCache.RemoveByValue(ci.Identity, ci.Kind, pid)
}

// grainKey names an activation in the placement actor's table.
type grainKey struct{ kind, identity string }

// placer is the placement actor: this member's activations.
type placer struct {
	cluster *cluster.Cluster
	grains  map[grainKey]*actor.PID
	spawned uint64
	others  []string // the other members' addresses, told of every stop
}

func (p *placer) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ActivationRequest:
		p.activate(ctx, m)
	case *stopped:
		kind, identity, _ := Identity(m.pid)
		k := grainKey{kind, identity}
		if pid, ok := p.grains[k]; ok && pid.Equal(m.pid) {
			delete(p.grains, k)
			if ak, ok := p.cluster.TryGetClusterKind(kind); ok {
				ak.Dec()
			}
			// The other members may hold its PID in their caches.
			gone := &cluster.ActivationTerminated{Pid: m.pid, ClusterIdentity: cluster.NewClusterIdentity(identity, kind)}
			for _, addr := range p.others {
				ctx.Send(actor.NewPID(addr, "eventstream"), gone)
			}
		}
	case *cluster.ClusterTopology:
		// Grains this member no longer owns stop; their next request
		// activates them on the new owner.
		owners := rendezvousOf(m.Members)
		me := p.cluster.ActorSystem.Address()
		p.others = p.others[:0]
		for _, member := range m.Members {
			if member.Address() != me {
				p.others = append(p.others, member.Address())
			}
		}
		for k, pid := range p.grains {
			if owners.GetByClusterIdentity(cluster.NewClusterIdentity(k.identity, k.kind)) != me {
				ctx.Poison(pid)
			}
		}
	case *actor.Stopping:
		futures := make([]*actor.Future, 0, len(p.grains))
		for _, pid := range p.grains {
			futures = append(futures, ctx.PoisonFuture(pid))
		}
		for _, f := range futures {
			_ = f.Wait()
		}
	}
}

func (p *placer) activate(ctx actor.Context, m *cluster.ActivationRequest) {
	ci := m.GetClusterIdentity()
	k := grainKey{ci.GetKind(), ci.GetIdentity()}
	if pid, ok := p.grains[k]; ok {
		ctx.Respond(&cluster.ActivationResponse{Pid: pid})
		return
	}
	ak, ok := p.cluster.TryGetClusterKind(k.kind)
	if !ok {
		ctx.Respond(&cluster.ActivationResponse{Failed: true})
		return
	}
	p.spawned++
	pid, err := ctx.ActorSystem().Root.SpawnNamed(ak.Props, Name(k.kind, k.identity, p.spawned))
	if err != nil {
		p.cluster.Logger().Error("placement: spawn failed", slog.String("kind", k.kind), slog.String("identity", k.identity), slog.Any("error", err))
		ctx.Respond(&cluster.ActivationResponse{Failed: true})
		return
	}
	ak.Inc()
	p.grains[k] = pid
	ctx.Respond(&cluster.ActivationResponse{Pid: pid})
}

// rendezvousOf is protoactor's rendezvous hash over members.
func rendezvousOf(members []*cluster.Member) *cluster.Rendezvous {
	r := cluster.NewRendezvous()
	r.UpdateMembers(members)
	return r
}
