package transport

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Signals (typing, delivered) are best effort and never stored: QUIC
// datagrams to and from clients, and between nodes a Route message to the
// router actor of each node where the target user has devices (found with
// the user grain's presence).

// routerName is the router actor's name on every node.
const routerName = "switchboard-signals"

// membersTTL is how long a connection trusts its cached member list of a
// conversation for typing signals.
const membersTTL = 30 * time.Second

func (s *Server) routerReceive(ctx actor.Context) {
	if r, ok := ctx.Message().(*wirepb.Route); ok && r.Signal != nil {
		s.deliverLocal(r.User, r.Signal)
	}
}

// deliverLocal sends a signal to the user's connections on this node.
func (s *Server) deliverLocal(user string, sig *wirepb.Signal) {
	b, err := proto.Marshal(sig)
	if err != nil {
		return
	}
	for _, c := range s.userConnsOf(user) {
		if c.qc.SendDatagram(b) == nil {
			metricFrames.WithLabelValues("out", "datagram").Inc()
		}
	}
}

// route sends a signal to every node where user has a connection.
func (s *Server) route(ctx context.Context, user string, sig *wirepb.Signal) {
	pres, err := s.rt.OnlineDevices(ctx, user)
	if err != nil {
		return
	}
	self := s.rt.System().Address()
	seen := map[string]bool{}
	for _, d := range pres.Devices {
		addr := d.ConnAddress
		if seen[addr] {
			continue
		}
		seen[addr] = true
		if addr == self {
			s.deliverLocal(user, sig)
		} else {
			s.rt.System().Root.Send(actor.NewPID(addr, routerName), &wirepb.Route{User: user, Signal: sig})
		}
	}
}

// datagrams reads the client's signals.
func (c *conn) datagrams() {
	for {
		b, err := c.qc.ReceiveDatagram(c.ctx)
		if err != nil {
			return
		}
		metricFrames.WithLabelValues("in", "datagram").Inc()
		if !c.sigLimiter.Allow() {
			metricErrors.WithLabelValues(wirepb.Code_RATE_LIMITED.String()).Inc()
			continue
		}
		sig, err := decodeSignal(b)
		if err != nil {
			metricErrors.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
			continue
		}
		go c.typing(sig)
	}
}

// typing forwards a typing signal to the other members, in conversations
// small enough for it to matter.
func (c *conn) typing(sig *wirepb.Signal) {
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.RequestTimeout)
	defer cancel()
	users, ok := c.memberList(ctx, sig.Conv)
	if !ok || len(users) > c.s.cfg.TypingMaxMembers {
		return
	}
	out := &wirepb.Signal{Kind: sig.Kind, Conv: sig.Conv, User: c.id.User}
	for _, u := range users {
		if u != c.id.User {
			c.s.route(ctx, u, out)
		}
	}
}

// memberList returns the active members of conv if the connection's user
// is one, from a short-lived cache.
func (c *conn) memberList(ctx context.Context, conv string) ([]string, bool) {
	c.membersMu.Lock()
	e, ok := c.members[conv]
	c.membersMu.Unlock()
	if ok && time.Since(e.at) < membersTTL {
		return e.users, true
	}
	ms, err := c.s.rt.Members(ctx, conv, c.id.User, "", c.s.cfg.TypingMaxMembers+1)
	if err != nil {
		return nil, false
	}
	users := make([]string, len(ms))
	for i, m := range ms {
		users[i] = m.User
	}
	c.membersMu.Lock()
	if len(c.members) >= 64 {
		clear(c.members) // bounded; refilled on demand
	}
	c.members[conv] = cachedMembers{users: users, at: time.Now()}
	c.membersMu.Unlock()
	return users, true
}

// signalDelivered tells senders that this device received their messages
// (direct conversations: one signal per sender and conversation, the
// highest seq).
func (c *conn) signalDelivered(refs []msgRef) {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.RequestTimeout)
	defer cancel()
	type key struct{ conv, sender string }
	top := map[key]uint64{}
	for _, r := range refs {
		k := key{r.conv, r.sender}
		top[k] = max(top[k], r.seq)
	}
	for k, seq := range top {
		c.s.route(ctx, k.sender, &wirepb.Signal{Kind: wirepb.Signal_DELIVERED, Conv: k.conv, User: c.id.User, Seq: seq})
	}
}
