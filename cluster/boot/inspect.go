package boot

import (
	"context"
	"fmt"
	"sort"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/metricsactor"
	"github.com/switchboard-im/switchboard/analytics"
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
	for _, m := range n.cluster.MemberList.Members().Members() {
		out = append(out, MemberInfo{ID: m.Id, Address: m.Address(), Kinds: append([]string(nil), m.Kinds...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// Health reports the node's health (nil when healthy): the membership
// provider's own, and whether this node is on the majority side of the
// actor cluster. After a partition heals, memberlist sees every node alive
// again, but protoactor never lets a member it saw leave rejoin (its block
// list has no unblock): the nodes that were cut off stay a cluster of their
// own beside the others. Fencing keeps that safe, but the minority side
// must restart (a fresh process gets a fresh member id) — /healthz turning
// 503 tells the orchestrator so. On an even split, the side holding the
// lowest live member id stays healthy.
func (n *Node) Health() error {
	if err := n.provider.GetHealthStatus(); err != nil {
		return err
	}
	alive := n.provider.Members()
	topology := n.cluster.MemberList.Members()
	if len(alive) <= 1 || topology.Len()*2 > len(alive) {
		return nil
	}
	if topology.Len()*2 == len(alive) {
		lowest := alive[0].Id
		for _, m := range alive[1:] {
			lowest = min(lowest, m.Id)
		}
		if topology.ContainsID(lowest) {
			return nil
		}
	}
	return fmt.Errorf("only %d of %d live members form this node's cluster: it was cut off and the others will not take it back; restart it", topology.Len(), len(alive))
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
