package boot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

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
// provider's own, and whether this member is counted in by a majority of
// the members memberlist sees alive (ErrCutOff otherwise). A peer counts
// this member in when its last topology view (membership.SeenBy) holds
// this member's id, or, without a fresh view, when this member's own
// topology holds the peer. On an even split, the side holding the lowest
// live member id stays healthy. A member is also cut off when a live peer
// it counts in has dropped it (one-way): that peer never re-admits it.
func (n *Node) Health() error {
	if err := n.provider.GetHealthStatus(); err != nil {
		return err
	}
	alive := n.provider.Members()
	if len(alive) <= 1 {
		return nil
	}
	self := n.system.ID
	topology := map[string]bool{}
	for _, m := range n.provider.Topology() {
		topology[m.Id] = true
	}
	seen := n.provider.SeenBy(self)
	countsMe := func(id string) bool {
		if id == self {
			return true
		}
		if in, ok := seen[id]; ok {
			return in
		}
		return topology[id]
	}
	support, lowest := 0, alive[0].Id
	for _, m := range alive {
		if countsMe(m.Id) {
			support++
		}
		lowest = min(lowest, m.Id)
		// A peer this member counts in but that dropped it (a false
		// failure suspicion, a slow detector on one side) will never take
		// this member id back, whatever the majority says.
		if in, ok := seen[m.Id]; ok && !in && m.Id != self && topology[m.Id] {
			return fmt.Errorf("%w: member %s dropped this member while this member still counts it in", ErrCutOff, m.Id)
		}
	}
	if support*2 > len(alive) || (support*2 == len(alive) && countsMe(lowest)) {
		return nil
	}
	return fmt.Errorf("%w: only %d of %d live members count this member in (its own cluster has %d), the others will not take it back",
		ErrCutOff, support, len(alive), len(topology))
}

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
