package actors

import (
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// clusterMembers is the members this node sees: nodes that disagree on it
// are split (a partition the membership has not healed yet).
var clusterMembers = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "switchboard_cluster_members",
	Help: "Cluster members this node sees itself among (the last topology event).",
})

// memberView is the cluster's membership as of the last topology event,
// with the rendezvous hash Owner places grains by. protoactor replaces its
// MemberList's member set under a lock but hands it out (Members()) without
// one, so a grain reading it while the topology changes races with the
// update. The topology event carries the same set; the runtime keeps it in
// one atomic pointer that grains read freely.
type memberView struct {
	addresses []string
	owners    *cluster.Rendezvous
}

func newMemberView(members []*cluster.Member) *memberView {
	v := &memberView{addresses: make([]string, len(members)), owners: cluster.NewRendezvous()}
	for i, m := range members {
		v.addresses[i] = m.Address()
	}
	v.owners.UpdateMembers(members)
	return v
}

// watchMembers keeps n.members current from the topology events (the first
// comes from StartMember, so Attach calls it before). It returns the
// function that stops it.
func (n *Runtime) watchMembers() func() {
	sub := n.system.EventStream.Subscribe(func(ev any) {
		if topo, ok := ev.(*cluster.ClusterTopology); ok {
			n.members.Store(newMemberView(topo.Members))
			clusterMembers.Set(float64(len(topo.Members)))
		}
	})
	return func() { n.system.EventStream.Unsubscribe(sub) }
}

// memberView returns the membership in force; before the first topology
// event (the member is not started yet) it reads protoactor's own list,
// which nothing updates yet.
func (n *Runtime) memberView() *memberView {
	if v := n.members.Load(); v != nil {
		return v
	}
	return newMemberView(n.cluster.MemberList.Members().Members())
}

// isMember reports whether addr is this node's or a current member's
// actor address.
func (n *Runtime) isMember(addr string) bool {
	if addr == n.system.Address() {
		return true
	}
	for _, a := range n.memberView().addresses {
		if a == addr {
			return true
		}
	}
	return false
}

// ClusterMembers lists the actor addresses of the cluster's members. The
// slice is shared: callers must not change it.
func (n *Runtime) ClusterMembers() []string { return n.memberView().addresses }

// Owner returns the actor address of the member that hosts (or would host)
// the grain kind/identity, without activating it: the rendezvous hash the
// identity lookup places grains with.
func (n *Runtime) Owner(kind, identity string) string {
	return n.memberView().owners.GetByClusterIdentity(cluster.NewClusterIdentity(identity, kind))
}
