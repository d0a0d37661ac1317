package actors

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Calls: a buyer calls the seller about a listing without either giving
// away a phone number; a service desk's agent calls the customer whose
// chat it handles. The conversation grain rings the callee's devices (the
// other member of a direct conversation; a service conversation's
// customer, called by its agent), relays the two devices' WebRTC
// signalling (SDP offer and answer, ICE candidates) and records how the
// call ended as a system message; the media flow between the devices (or
// through the app's TURN server), never through the node.
//
// A call lives in the grain's memory only: it is seconds of ringing and
// minutes of talk, and a grain that stops (its node drains or dies) ends
// it, dropped, which the devices learn from the ENDED event or from their
// next ALIVE (NOT_FOUND). Its steps reach the devices as CALL signals,
// in band and in order through one relay goroutine per call, so an answer
// never overtakes its offer; a callee with no device online is woken by
// an offline push of kind "call" (RingOffline).

// callIDPattern is what a caller's call id looks like: its own, so that a
// START retried after a lost answer is the same call.
var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxCallReasonBytes bounds a decline's or a hang-up's reason ("busy").
const maxCallReasonBytes = 200

// Call outcomes, recorded in the system message and the ENDED event.
const (
	callMissed    = "missed"    // nobody answered in Config.CallRingTimeout
	callDeclined  = "declined"  // the callee refused it
	callCancelled = "cancelled" // the caller hung up while it rang
	callEnded     = "ended"     // hung up after an answer
	callDropped   = "dropped"   // a side went silent, or the grain stopped
)

// relayRoom: signals queued for a call's relay beyond this are refused
// RATE_LIMITED; the rest of the queue is kept for the call's own steps.
const (
	relayQueue = 256
	relayRoom  = 192
)

var (
	callsStarted = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_calls_started_total",
		Help: "Calls rung in direct conversations.",
	})
	callsAnswered = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_calls_answered_total",
		Help: "Calls answered by the callee.",
	})
	callsActive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_calls_active",
		Help: "Calls ringing or under way in this node's conversation grains.",
	})
	callsEnded = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_calls_ended_total",
		Help: "Calls ended, by outcome: missed, declined, cancelled, ended, dropped.",
	}, []string{"outcome"})
)

// activeCall is a conversation's call, ringing or answered.
type activeCall struct {
	call                   *pb.Call
	offer                  []byte // the caller's, for a callee's device that connects while it rings
	relay                  *callRelay
	timer                  *time.Timer
	callerSeen, calleeSeen time.Time // the last word from each side's device
}

// callTick wakes the grain to check a call's deadlines.
type callTick struct{ id string }

// CallStep runs one step of a call in conv as device of user (pb.CallOp)
// and answers the conversation's call after it (nil: none).
func (n *Runtime) CallStep(ctx context.Context, op *pb.CallOp) (*pb.Call, error) {
	r, err := n.callStep(ctx, op)
	return r.GetCall(), err
}

// CallState reads conv's call as user sees it: the call (nil: none) and,
// for the callee while it rings, the caller's offer.
func (n *Runtime) CallState(ctx context.Context, conv, user string) (*pb.Call, []byte, error) {
	r, err := n.callStep(ctx, &pb.CallOp{Conv: conv, User: user, Op: pb.CallOp_STATE})
	return r.GetCall(), r.GetOffer(), err
}

func (n *Runtime) callStep(ctx context.Context, op *pb.CallOp) (*pb.CallOpResponse, error) {
	if err := errors.Join(checkConv(op.Conv), checkUser(op.User)); err != nil {
		return nil, err
	}
	if _, ok := pb.CallOp_Op_name[int32(op.Op)]; !ok {
		return nil, invalid("call op %d: no such step", op.Op)
	}
	switch {
	case op.Op != pb.CallOp_STATE && !callIDPattern.MatchString(op.CallId):
		return nil, invalid("a call id is 1-64 of A-Z, a-z, 0-9, _ and -")
	case op.Op != pb.CallOp_STATE && op.Device == "":
		return nil, invalid("a call's step names the device it is taken on")
	case len(op.Payload) > n.cfg.MaxCallSignalBytes:
		return nil, &Error{Code: pb.Code_TOO_LARGE, Message: fmt.Sprintf("a call signal of %d bytes, limit %d", len(op.Payload), n.cfg.MaxCallSignalBytes)}
	case len(op.Reason) > maxCallReasonBytes:
		return nil, &Error{Code: pb.Code_TOO_LARGE, Message: fmt.Sprintf("a call's reason of %d bytes, limit %d", len(op.Reason), maxCallReasonBytes)}
	case !utf8.ValidString(op.Reason):
		return nil, invalid("a call's reason is not UTF-8")
	case op.Reason != "" && op.Op != pb.CallOp_DECLINE && op.Op != pb.CallOp_END:
		return nil, invalid("a reason goes with a decline or a hang-up")
	case op.Video && op.Op != pb.CallOp_START:
		return nil, invalid("video is chosen when the call starts")
	case len(op.Payload) > 0 && op.Op != pb.CallOp_START && op.Op != pb.CallOp_ACCEPT && op.Op != pb.CallOp_SIGNAL:
		return nil, invalid("a payload goes with a start, an accept or a signal")
	case op.Op == pb.CallOp_SIGNAL && len(op.Payload) == 0:
		return nil, invalid("a signal carries a payload")
	}
	res, err := n.request(ctx, KindConversation, op.Conv, op)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.CallOpResponse)
	return r, fromPB(r.Error)
}

func (c *conversation) callOp(ctx actor.Context, m *pb.CallOp) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) {
		var cur *pb.Call
		if c.call != nil {
			cur = cloneCall(c.call.call) // the grain changes its own later
		}
		respond(ctx, sender, &pb.CallOpResponse{Error: e, Call: cur})
	}
	if !c.ready(reply) {
		return
	}
	mem := c.members[m.User]
	action := ActCall
	if m.Op == pb.CallOp_STATE {
		action = ActHistory
	}
	if e := authorize(c.kind, c.id, m.User, mem, action); e != nil {
		if c.kind == storage.KindGroup && mem != nil && mem.Active() {
			e.Message = fmt.Sprintf("a call is one-to-one, in a direct or a service conversation; %s is a group", c.id)
		}
		reply(e)
		return
	}
	if m.Op == pb.CallOp_STATE {
		res := &pb.CallOpResponse{}
		if cur := c.call; cur != nil {
			res.Call = cloneCall(cur.call)
			if cur.call.AnsweredMs == 0 && m.User == cur.call.Callee {
				res.Offer = cur.offer
			}
		}
		respond(ctx, sender, res)
		return
	}
	cur := c.call
	if cur != nil && cur.call.Id != m.CallId {
		if m.Op == pb.CallOp_START {
			reply(pbErr(pb.Code_IN_CALL, "another call rings or is under way in %s", c.id))
		} else {
			reply(pbErr(pb.Code_NOT_FOUND, "no call %s in %s: it ended", m.CallId, c.id))
		}
		return
	}
	if cur == nil && m.Op != pb.CallOp_START {
		reply(pbErr(pb.Code_NOT_FOUND, "no call %s in %s: it ended", m.CallId, c.id))
		return
	}
	now := c.rt.cfg.Now()
	switch m.Op {
	case pb.CallOp_START:
		c.startCall(ctx, m, now, reply)
	case pb.CallOp_ACCEPT:
		c.acceptCall(m, now, reply)
	case pb.CallOp_DECLINE:
		if e := c.calleeStep(m, "decline"); e != nil || cur.call.AnsweredMs != 0 {
			if e == nil {
				e = pbErr(pb.Code_IN_CALL, "call %s was answered: hang up instead", m.CallId)
			}
			reply(e)
			return
		}
		c.endCall(ctx, callDeclined, m.User, m.Reason, now, true)
		reply(nil)
	case pb.CallOp_END:
		outcome, e := c.hangUp(m)
		if e != nil {
			reply(e)
			return
		}
		c.endCall(ctx, outcome, m.User, m.Reason, now, true)
		reply(nil)
	case pb.CallOp_SIGNAL, pb.CallOp_ALIVE:
		to, device, e := c.otherSide(m, now)
		if e != nil {
			reply(e)
			return
		}
		if m.Op == pb.CallOp_SIGNAL && !cur.relay.offer(callDelivery{user: to, device: device, from: m.User,
			ev: &pb.CallEvent{Kind: pb.CallEvent_SIGNAL, Call: cloneCall(cur.call), Payload: m.Payload}}) {
			reply(pbErr(pb.Code_RATE_LIMITED, "call %s has %d signals waiting to be relayed", m.CallId, relayRoom))
			return
		}
		reply(nil)
	default:
		reply(pbErr(pb.Code_INVALID, "call op %d: no such step", m.Op))
	}
}

// startCall rings the other member, or answers a START retried after its
// answer was lost with the call it started.
func (c *conversation) startCall(ctx actor.Context, m *pb.CallOp, now time.Time, reply func(*pb.Error)) {
	if cur := c.call; cur != nil {
		if cur.call.Caller == m.User && cur.call.CallerDevice == m.Device {
			reply(nil) // a retry: the same call
			return
		}
		reply(pbErr(pb.Code_IN_CALL, "call %s is %s's in %s", m.CallId, cur.call.Caller, c.id))
		return
	}
	mem := c.members[m.User]
	if e := c.blockRefusal(m.User, "call"); e != nil {
		reply(e)
		return
	}
	if e := c.checkFrozen(); e != nil {
		reply(e)
		return
	}
	if c.kind == storage.KindService && mem.Role != storage.RoleAgent {
		reply(pbErr(pb.Code_FORBIDDEN, "in %s the desk's agent calls the customer", c.id))
		return
	}
	callee := c.calleeOf(m.User)
	if callee == "" {
		reply(pbErr(pb.Code_INVALID, "%s has nobody to call", c.id))
		return
	}
	call := &pb.Call{Id: m.CallId, Conv: c.id, Caller: m.User, CallerDevice: m.Device, Callee: callee,
		Video: m.Video, StartedMs: now.UnixMilli()}
	c.call = &activeCall{call: call, offer: m.Payload, relay: newCallRelay(c.rt, c.id), callerSeen: now}
	c.armCall(ctx, c.rt.cfg.CallRingTimeout)
	c.call.relay.offer(callDelivery{user: callee, from: m.User, must: true,
		ev:   &pb.CallEvent{Kind: pb.CallEvent_RINGING, Call: cloneCall(call), Payload: m.Payload},
		ring: &pb.RingOffline{Call: cloneCall(call), UntilMs: now.Add(c.rt.cfg.CallRingTimeout).UnixMilli()}})
	callsStarted.Inc()
	callsActive.Inc()
	reply(nil)
}

// acceptCall answers a ringing call on the callee's device: the caller's
// device gets the answer, and the callee's other devices stop ringing.
func (c *conversation) acceptCall(m *pb.CallOp, now time.Time, reply func(*pb.Error)) {
	cur := c.call
	if e := c.calleeStep(m, "answer"); e != nil {
		reply(e)
		return
	}
	if cur.call.AnsweredMs != 0 {
		if cur.call.AnsweredDevice == m.Device {
			reply(nil) // a retry
			return
		}
		reply(pbErr(pb.Code_IN_CALL, "call %s was answered on another device", m.CallId))
		return
	}
	cur.call.AnsweredMs = now.UnixMilli()
	cur.call.AnsweredDevice = m.Device
	cur.calleeSeen, cur.callerSeen = now, now
	call := cloneCall(cur.call)
	cur.relay.offer(callDelivery{user: call.Caller, device: call.CallerDevice, from: m.User, must: true,
		ev: &pb.CallEvent{Kind: pb.CallEvent_ACCEPTED, Call: call, Payload: m.Payload}})
	cur.relay.offer(callDelivery{user: call.Callee, from: m.User, must: true,
		ev: &pb.CallEvent{Kind: pb.CallEvent_ACCEPTED, Call: cloneCall(call)}})
	callsAnswered.Inc()
	reply(nil)
}

// calleeStep refuses an answer or a decline by anyone but the callee.
func (c *conversation) calleeStep(m *pb.CallOp, what string) *pb.Error {
	if m.User != c.call.call.Callee {
		return pbErr(pb.Code_FORBIDDEN, "only %s may %s call %s", c.call.call.Callee, what, m.CallId)
	}
	return nil
}

// hangUp is the outcome of an END by m's device: the caller's cancels a
// call that rings, the callee's declines it; after an answer either of
// the two devices in the call ends it. Nobody else hangs up (another
// agent of a service conversation).
func (c *conversation) hangUp(m *pb.CallOp) (string, *pb.Error) {
	call := c.call.call
	ringing := call.AnsweredMs == 0 && (m.User == call.Caller || m.User == call.Callee)
	talking := m.User == call.Caller && m.Device == call.CallerDevice || m.User == call.Callee && m.Device == call.AnsweredDevice
	if !ringing && !talking {
		return "", pbErr(pb.Code_FORBIDDEN, "device %s of %s is not in call %s", m.Device, m.User, m.CallId)
	}
	return c.call.outcomeOf(m.User), nil
}

// outcomeOf is how user's hang-up ends the call: cancelled by the caller
// or declined by the callee while it rings, ended once answered.
func (a *activeCall) outcomeOf(user string) string {
	switch {
	case a.call.AnsweredMs != 0:
		return callEnded
	case user == a.call.Caller:
		return callCancelled
	}
	return callDeclined
}

// otherSide is where a signal of m's device goes, and notes that the
// device is alive: from the caller's device to the answering device (to
// every device of the callee while it rings), and back.
func (c *conversation) otherSide(m *pb.CallOp, now time.Time) (user, device string, e *pb.Error) {
	cur := c.call
	call := cur.call
	switch {
	case m.User == call.Caller && m.Device == call.CallerDevice:
		cur.callerSeen = now
		return call.Callee, call.AnsweredDevice, nil
	case call.AnsweredMs != 0 && m.User == call.Callee && m.Device == call.AnsweredDevice:
		cur.calleeSeen = now
		return call.Caller, call.CallerDevice, nil
	}
	return "", "", pbErr(pb.Code_FORBIDDEN, "device %s of %s is not in call %s", m.Device, m.User, m.CallId)
}

// calleeOf is whom user calls: the other member of a direct
// conversation, a service conversation's customer (the first by id, were
// there several; "" for none).
func (c *conversation) calleeOf(user string) string {
	callee := ""
	for u, mem := range c.members {
		if u != user && mem.Active() && (c.kind == storage.KindDirect || mem.Role == storage.RoleCustomer) && (callee == "" || u < callee) {
			callee = u
		}
	}
	return callee
}

// armCall wakes the grain after d to check the call's deadlines.
func (c *conversation) armCall(ctx actor.Context, d time.Duration) {
	cur, self, root := c.call, ctx.Self(), c.rt.system.Root
	if cur.timer != nil {
		cur.timer.Stop()
	}
	id := cur.call.Id
	cur.timer = time.AfterFunc(d, func() { root.Send(self, callTick{id: id}) })
}

// callDeadlines ends a call that rang too long (missed) or whose side
// went silent (dropped), else sleeps until the next deadline.
func (c *conversation) callDeadlines(ctx actor.Context, t callTick) {
	cur := c.call
	if cur == nil || cur.call.Id != t.id {
		return
	}
	now := c.rt.cfg.Now()
	if cur.call.AnsweredMs == 0 {
		left := time.UnixMilli(cur.call.StartedMs).Add(c.rt.cfg.CallRingTimeout).Sub(now)
		if left > 0 {
			c.armCall(ctx, left)
			return
		}
		c.endCall(ctx, callMissed, "", "", now, true)
		return
	}
	oldest := cur.callerSeen
	if cur.calleeSeen.Before(oldest) {
		oldest = cur.calleeSeen
	}
	if left := oldest.Add(c.rt.cfg.CallAliveTimeout).Sub(now); left > 0 {
		c.armCall(ctx, left)
		return
	}
	c.endCall(ctx, callDropped, "", "", now, true)
}

// endCall ends the conversation's call: a new one may start at once. With
// record, the system message recording it is written, then both sides'
// devices get ENDED with its seq (0 if it could not be written: they end
// the call all the same).
func (c *conversation) endCall(ctx actor.Context, outcome, by, reason string, now time.Time, record bool) {
	cur := c.call
	c.call = nil
	if cur.timer != nil {
		cur.timer.Stop()
	}
	call := cur.call
	ev := &pb.CallEvent{Kind: pb.CallEvent_ENDED, Call: cloneCall(call), Outcome: outcome, Reason: reason}
	if call.AnsweredMs != 0 {
		ev.DurationMs = max(0, now.UnixMilli()-call.AnsweredMs)
	}
	callsEnded.WithLabelValues(outcome).Inc()
	callsActive.Dec()
	detail := map[string]any{"op": "call", "call": call.Id, "actor": call.Caller, "callee": call.Callee,
		"video": call.Video, "outcome": outcome}
	if ev.DurationMs != 0 {
		detail["duration_ms"] = ev.DurationMs
	}
	if by != "" {
		detail["by"] = by
	}
	if reason != "" {
		detail["reason"] = reason
	}
	notify := func() {
		for _, u := range []string{call.Caller, call.Callee} {
			cur.relay.offer(callDelivery{user: u, from: by, must: true, ev: ev})
		}
		cur.relay.close()
	}
	if !record || c.fenced {
		notify() // stopping: nothing more is written by this activation
		return
	}
	c.settingsEvent(ctx, call.Caller, detail, func(e *pb.Error, seq uint64) {
		if e != nil {
			c.log.Warn("call's end not recorded", "call", call.Id, "outcome", outcome, "err", e.Message)
		}
		ev.Seq = seq
		notify()
	})
}

// dropCall ends a call as the grain stops, unrecorded: the devices hear
// of it, the log does not.
func (c *conversation) dropCall(ctx actor.Context) {
	if c.call != nil {
		c.endCall(ctx, callDropped, "", "", c.rt.cfg.Now(), false)
	}
}

// cloneCall is a copy for a message that leaves the grain: the grain goes
// on changing its own (an answer).
func cloneCall(c *pb.Call) *pb.Call { return proto.Clone(c).(*pb.Call) }

// callDelivery is one step of a call for the devices of user (device:
// only that one).
type callDelivery struct {
	user, device, from string
	ev                 *pb.CallEvent
	ring               *pb.RingOffline // with no device of user online: notify their phones
	must               bool            // a step of the call itself, never refused for room
}

// callRelay hands a call's steps to the devices, one at a time and in the
// order the grain took them.
type callRelay struct {
	rt   *Runtime
	conv string
	ch   chan callDelivery
	// rang: the ring went to the callee's phones by push (ring, its
	// RingOffline), which are told once it stops ringing. The relay's
	// goroutine alone uses it.
	rang *pb.RingOffline
}

func newCallRelay(rt *Runtime, conv string) *callRelay {
	r := &callRelay{rt: rt, conv: conv, ch: make(chan callDelivery, relayQueue)}
	go r.run()
	return r
}

// offer queues d; false when it is a signal and the queue has no room
// for it (a step of the call itself always has).
func (r *callRelay) offer(d callDelivery) bool {
	if !d.must && len(r.ch) >= relayRoom {
		return false
	}
	select {
	case r.ch <- d:
		return true
	default:
		r.rt.log.Warn("call step dropped: relay full", "conv", r.conv, "call", d.ev.Call.GetId())
		return false
	}
}

func (r *callRelay) close() { close(r.ch) }

func (r *callRelay) run() {
	for d := range r.ch {
		ctx, cancel := context.WithTimeout(context.Background(), r.rt.cfg.RequestTimeout)
		sig := &pb.Signal{Kind: pb.Signal_CALL, Conv: r.conv, User: d.from, Device: d.device, Call: d.ev}
		if r.rt.routeSignal(ctx, d.user, sig) == 0 && d.ring != nil && r.rt.ringOffline(d.user, d.ring) {
			r.rang = d.ring
		}
		cancel()
		r.stopRinging(d)
	}
}

// stopRinging tells the callee's phones that rang by push that the call
// stopped ringing, once: answered (on whichever device) or ended. Its
// devices online heard it in the signal; a phone that rings while its
// app is not connected has only the push.
func (r *callRelay) stopRinging(d callDelivery) {
	if r.rang == nil || d.user != r.rang.Call.Callee || d.device != "" {
		return
	}
	outcome := ""
	switch d.ev.Kind {
	case pb.CallEvent_ACCEPTED:
		outcome = "answered"
	case pb.CallEvent_ENDED:
		outcome = d.ev.Outcome
	default:
		return
	}
	r.rt.ringOffline(d.user, &pb.RingOffline{Call: r.rang.Call, UntilMs: r.rang.UntilMs, Ended: true, Outcome: outcome})
	r.rang = nil
}

// ringOffline asks user's grain to wake its phones for a ringing call,
// or to stop them ringing (m.Ended); false on a node without push.
func (n *Runtime) ringOffline(user string, m *pb.RingOffline) bool {
	if n.push == nil {
		return false
	}
	n.tell(KindUser, user, m)
	return true
}
