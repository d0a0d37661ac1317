package transport

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// The connection registry answers a user grain that was just activated
// (possibly on another node than before: node loss, drain, partition) and
// does not know where its user's devices are online: every connection of
// that user on this node registers its device again.

func (s *Server) registryReceive(ctx actor.Context) {
	if p, ok := ctx.Message().(*pb.PresenceProbe); ok {
		for _, c := range s.userConnsOf(p.User) {
			go c.reregister()
		}
	}
}

// reregister registers the device with its user grain again and renews
// the read fan-out subscriptions at this node's hub.
func (c *conn) reregister() {
	if c.pid == nil || c.ctx.Err() != nil {
		return
	}
	rt := c.s.rt
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.RequestTimeout)
	defer cancel()
	reg, err := rt.RegisterDevice(ctx, c.id.User, c.id.Device, c.pid)
	if err != nil {
		c.log.Debug("re-register device", "err", err)
		return
	}
	if len(reg.LargeConvs) > 0 {
		rt.System().Root.RequestWithCustomSender(rt.Hub(), &pb.Subscribe{User: c.id.User, Convs: reg.LargeConvs}, c.pid)
	}
}

// watchTopology re-registers, after every change of the cluster's
// membership, the connections whose user grain now maps to another member:
// the grain is about to be activated there, and learns of the device at
// once (a presence probe can miss a node that joined a moment later).
func (s *Server) watchTopology() func() {
	owners := map[string]string{} // user → owner address; only the goroutine below touches it
	changed := make(chan struct{}, 1)
	sub := s.rt.System().EventStream.Subscribe(func(ev any) {
		if _, ok := ev.(*cluster.ClusterTopology); ok {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-changed:
			}
			s.mu.Lock()
			users := make([]string, 0, len(s.users))
			for u := range s.users {
				users = append(users, u)
			}
			s.mu.Unlock()
			seen := make(map[string]bool, len(users))
			for _, u := range users {
				seen[u] = true
				owner := s.rt.Owner(actors.KindUser, u)
				if prev, ok := owners[u]; ok && prev != owner && owner != "" {
					for _, c := range s.userConnsOf(u) {
						go c.reregister()
					}
				}
				owners[u] = owner
			}
			for u := range owners {
				if !seen[u] {
					delete(owners, u)
				}
			}
		}
	}()
	return func() {
		s.rt.System().EventStream.Unsubscribe(sub)
		close(stop)
	}
}

// reregisterLoop registers the device again every cfg.Reregister (±50%,
// so a node's connections spread out) until the connection ends.
func (c *conn) reregisterLoop() {
	every := c.s.cfg.Reregister
	for {
		t := time.NewTimer(every/2 + time.Duration(rand.Int64N(int64(every))))
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
			c.reregister()
		}
	}
}
