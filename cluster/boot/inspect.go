package boot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/metricsactor"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/membership"
)

// GrainCounts returns how many grains of each kind are active on this node.
func (n *Node) GrainCounts() map[string]int64 {
	out := map[string]int64{}
	for _, kind := range []string{actors.KindConversation, actors.KindUser} {
		if k, ok := n.cluster.TryGetClusterKind(kind); ok {
			out[kind] = int64(k.Count())
		}
	}
	return out
}

// Where returns the actor address of the member that hosts (or would
// host) the grain kind/identity, without activating it: the same
// rendezvous hash the identity lookup uses.
func (n *Node) Where(kind, identity string) string { return n.Owner(kind, identity) }

// MemberInfo is one cluster member as this node sees it.
type MemberInfo struct {
	ID      string
	Address string
	Kinds   []string
}

// ClusterMemberInfo lists the members of the cluster, ordered by address.
func (n *Node) ClusterMemberInfo() []MemberInfo {
	var out []MemberInfo
	for _, m := range n.provider.Topology() {
		out = append(out, MemberInfo{ID: m.Id, Address: m.Address(), Kinds: append([]string(nil), m.Kinds...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// ErrCutOff is Health's error when this node's protoactor cluster holds
// only a minority of the members memberlist sees alive: it was cut off and
// the others went on without it. After a partition heals memberlist sees
// every node alive again, but protoactor never lets a member it saw leave
// rejoin (its block list has no unblock), so the nodes that were cut off
// stay a cluster of their own beside the others. Fencing keeps that safe;
// WatchCutOff tells the process to restart its member with a new id.
var ErrCutOff = errors.New("cut off from the cluster")

// Health reports the node's health (nil when healthy): the membership
// provider's own, and whether this member should restart with a new id
// (ErrCutOff, see cutOff).
func (n *Node) Health() error {
	if err := n.provider.GetHealthStatus(); err != nil {
		return err
	}
	alive := n.provider.Members()
	ids := make([]string, len(alive))
	for i, m := range alive {
		ids[i] = m.Id
	}
	topology := map[string]bool{}
	for _, m := range n.provider.Topology() {
		topology[m.Id] = true
	}
	return cutOff(n.system.ID, ids, topology, n.provider.Views())
}

// cutOff decides, from this member's protoactor topology and the last
// topology views of its peers, whether member self is cut off from the
// members memberlist sees alive, so that only a restart with a new member
// id brings it back (protoactor never re-admits a member id it dropped).
//
// A member counts another in when its view holds it; a peer without a
// fresh view is taken to count self in when self's own topology holds it.
// Self is cut off when
//   - fewer than a majority of the live members count it in (on an even
//     split the side holding the lowest live member id stays), or
//   - a live peer that self counts in has dropped it (one-way: a false
//     suspicion, a slow failure detector on one side), or
//   - self and a live peer have dropped each other while each is counted in
//     by a majority (a heal where both sides kept the third nodes): neither
//     will take the other back, so the larger member id of the two restarts.
func cutOff(self string, alive []string, topology map[string]bool, views map[string]map[string]bool) error {
	if len(alive) <= 1 {
		return nil
	}
	// holds says whether member m counts member id in, and whether that is known.
	holds := func(m, id string) (in, known bool) {
		switch {
		case m == id:
			return true, true
		case m == self:
			return topology[id], true
		}
		v, ok := views[m]
		if !ok {
			return false, false
		}
		return v[id], true
	}
	countsSelf := func(m string) bool {
		if in, known := holds(m, self); known {
			return in
		}
		return topology[m]
	}
	// majority says whether the members counts says yes to are a majority.
	majority := func(counts func(m string) bool) bool {
		support, lowest := 0, alive[0]
		for _, m := range alive {
			if counts(m) {
				support++
			}
			lowest = min(lowest, m)
		}
		return support*2 > len(alive) || (support*2 == len(alive) && counts(lowest))
	}
	for _, m := range alive {
		if m == self {
			continue
		}
		in, known := holds(m, self)
		if !known || in {
			continue
		}
		if topology[m] {
			return fmt.Errorf("%w: member %s dropped this member while this member still counts it in", ErrCutOff, m)
		}
		peerCounted := func(o string) bool { in, _ := holds(o, m); return in }
		if self > m && majority(countsSelf) && majority(peerCounted) {
			return fmt.Errorf("%w: this member and member %s dropped each other while the others count both in; the larger id restarts", ErrCutOff, m)
		}
	}
	if majority(countsSelf) {
		return nil
	}
	support := 0
	for _, m := range alive {
		if countsSelf(m) {
			support++
		}
	}
	return fmt.Errorf("%w: only %d of %d live members count this member in (its own cluster has %d), the others will not take it back",
		ErrCutOff, support, len(alive), len(topology))
}

// rejoins counts the times a cut-off member was told to rejoin.
var rejoins = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_cluster_rejoins_total",
	Help: "Times this process's member, cut off from the cluster after a partition, restarted to rejoin it (--rejoin-after).",
})

// cutOffGrace is how long after its start a member is not restarted for
// being cut off: views of it are still on their way (membership.ViewMaxAge).
const cutOffGrace = membership.ViewMaxAge + time.Second

// WatchCutOff calls onCutOff once, with the memberlist addresses of the
// peers to rejoin, when Health has said ErrCutOff continuously for `after`
// (checked every `after`/8): the others are reachable again (memberlist
// sees them alive) but will not take this member back. It starts counting
// once the node has run for cutOffGrace: the peers' views of a member that
// just joined take a moment to hold it. The watch ends then, or with ctx.
func (n *Node) WatchCutOff(ctx context.Context, after time.Duration, onCutOff func(peers []string)) {
	go func() {
		t := time.NewTicker(max(after/8, 10*time.Millisecond))
		defer t.Stop()
		var since time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n.Uptime() < cutOffGrace || !errors.Is(n.Health(), ErrCutOff) {
				since = time.Time{}
				continue
			}
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= after {
				rejoins.Inc()
				onCutOff(n.KnownPeers())
				return
			}
		}
	}()
}

// ID is the node's actor-system id (also its memberlist name).
func (n *Node) ID() string { return n.system.ID }

// Address is the node's actor remote address.
func (n *Node) Address() string { return n.system.Address() }

// Metrics asks the metrics grain for a report: the streaming state caught
// up with the log, or (q.Recompute) a batch recomputation over the log.
func (n *Node) Metrics(ctx context.Context, q *pb.MetricsQuery) (analytics.Report, error) {
	return metricsactor.Query(ctx, n.cluster, q)
}
