package actors

import (
	"errors"
	"slices"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// A request to a grain on another member waits for its answer or its
// time-out (up to RequestTimeout, 5 s by default). When that member dies
// the answer never comes, and every send, deliver and read that was in
// flight to it waited out the whole time-out before being retried on the
// grain's next activation, although the topology had dropped the member
// long before. The runtime therefore tracks its requests in flight by the
// member they went to, and when a topology change drops that member it
// answers them itself with memberLeft, which request retries at once.

// memberLeft is the answer a request gets when the member holding its
// grain left the topology before answering.
type memberLeft struct{ address string }

// errMemberLeft: the grain's member left the topology; retried.
var errMemberLeft = errors.New("the member holding the grain left the cluster")

// inflight is the runtime's requests in flight to other members: the
// futures' PIDs by the address of the member asked. It also remembers the
// addresses of members that left and have not come back: a request made
// after the departure with a PID found before it (a cache, a placement
// not yet updated) would otherwise wait out its whole time-out, as no
// later topology change answers it.
type inflight struct {
	mu       sync.Mutex
	by       map[string]map[*actor.PID]struct{}
	departed map[string]struct{}
}

// add tracks future as waiting on address; it reports false, tracking
// nothing, when the member at address has left.
func (f *inflight) add(address string, future *actor.PID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, gone := f.departed[address]; gone {
		return false
	}
	if f.by == nil {
		f.by = map[string]map[*actor.PID]struct{}{}
	}
	m := f.by[address]
	if m == nil {
		m = map[*actor.PID]struct{}{}
		f.by[address] = m
	}
	m[future] = struct{}{}
	return true
}

// topology records which addresses are members again and which left.
func (f *inflight) topology(members, left []*cluster.Member) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range members {
		delete(f.departed, m.Address())
	}
	for _, m := range left {
		if slices.ContainsFunc(members, func(x *cluster.Member) bool { return x.Address() == m.Address() }) {
			continue // a new member on the same address
		}
		if f.departed == nil {
			f.departed = map[string]struct{}{}
		}
		f.departed[m.Address()] = struct{}{}
	}
}

func (f *inflight) remove(address string, future *actor.PID) {
	f.mu.Lock()
	if m := f.by[address]; m != nil {
		delete(m, future)
		if len(m) == 0 {
			delete(f.by, address)
		}
	}
	f.mu.Unlock()
}

// take removes and returns the futures waiting on address.
func (f *inflight) take(address string) []*actor.PID {
	f.mu.Lock()
	m := f.by[address]
	delete(f.by, address)
	f.mu.Unlock()
	out := make([]*actor.PID, 0, len(m))
	for pid := range m {
		out = append(out, pid)
	}
	return out
}

// watchDepartures answers, whenever a topology change drops members, the
// requests in flight to them, and after a join forgets the cached grain
// PIDs. It returns the function that stops it.
func (n *Runtime) watchDepartures() func() {
	sub := n.system.EventStream.Subscribe(func(ev any) {
		topo, ok := ev.(*cluster.ClusterTopology)
		if !ok {
			return
		}
		if len(topo.Joined) > 0 {
			n.forgetCachedPIDs(topo)
		}
		n.inflight.topology(topo.Members, topo.Left)
		for _, m := range topo.Left {
			address := m.Address()
			futures := n.inflight.take(address)
			if len(futures) > 0 {
				n.log.Info("answering requests in flight to a member that left", "member", m.Id, "address", address, "requests", len(futures))
			}
			for _, pid := range futures {
				n.system.Root.Send(pid, &memberLeft{address: address})
			}
		}
	})
	return func() { n.system.EventStream.Unsubscribe(sub) }
}

// forgetCachedPIDs empties the grain PID cache after members joined.
// protoactor drops the cached PIDs of members that left, not of grains
// whose owner is now a member that joined: requests kept going to the old
// activation. A device's re-registration after the move (the topology
// watch, or the new activation's presence probe) then reached the old
// activation, which the new one soon fenced off, and the new one never
// learned the device was online: its pushes were lost until the next
// sweep or reconnect. Joins are rare; every grain is looked up once again.
func (n *Runtime) forgetCachedPIDs(topo *cluster.ClusterTopology) {
	for _, m := range topo.Members {
		if !slices.ContainsFunc(topo.Joined, func(j *cluster.Member) bool { return j.Id == m.Id }) {
			n.cluster.PidCache.RemoveByMember(m)
		}
	}
}
