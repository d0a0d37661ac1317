package transport

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"

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
