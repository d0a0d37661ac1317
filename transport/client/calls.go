package client

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Calls: the node rings, relays the two devices' WebRTC signalling (the
// SDP offer and answer, ICE candidates: opaque bytes to the node and this
// SDK) and records how each call ended; the media flow between the
// devices. docs/PROTOCOL.md, "Calls".

// Call is a call in a direct or a service conversation, ringing
// (Answered zero) or answered.
type Call struct {
	ID, Conv               string
	Caller, CallerDevice   string
	Callee, AnsweredDevice string
	Video                  bool
	Started, Answered      time.Time
	// Offer: CallState's, to the callee while the call rings: the
	// caller's offer, to answer on a device that connected after the ring.
	Offer []byte
}

// CallEventKind says which step of a call a CallEvent reports.
type CallEventKind int

const (
	// CallRinging: the call rings on this device; Payload is the caller's
	// offer. Answer with AcceptCall or DeclineCall.
	CallRinging CallEventKind = iota + 1
	// CallAccepted: to the caller, the callee answered (Payload: the
	// answer); to the callee's devices, one of them answered
	// (Call.AnsweredDevice): the others stop ringing.
	CallAccepted
	// CallSignal: Payload from the other side's device (ICE candidates).
	CallSignal
	// CallEnded: the call is over (Outcome, Reason, Duration; Seq is the
	// system message recording it, 0 if none was written). A call that
	// ended while this device was away is reported by the SDK itself once
	// it finds the call gone: Outcome empty, Call only its ID and Conv.
	// The node's own end may still follow such a report: treat a second
	// end of a call as the first.
	CallEnded
)

// CallEvent is one step of a call, the Call of an EventCall.
type CallEvent struct {
	Kind    CallEventKind
	Call    Call
	Payload []byte
	// Outcome of a CallEnded: missed, declined, cancelled, ended or dropped.
	Outcome  string
	Reason   string
	Duration time.Duration // from the answer to the end
	Seq      uint64
}

// CallAliveEvery is how often the SDK tells the node that this device is
// still in a call it started or answered (the node's
// --call-alive-timeout, 45 s by default, ends a silent one, dropped).
const CallAliveEvery = 15 * time.Second

// StartCall rings the other member of the direct conversation conv. id is
// the caller's own (1-64 of A-Z, a-z, 0-9, _ and -): a StartCall retried
// after a lost answer is the same call. offer is the WebRTC offer the
// callee's devices get with the ring. Another call in conv: IN_CALL.
func (c *Client) StartCall(ctx context.Context, conv, id string, video bool, offer []byte) (Call, error) {
	call, err := c.callStep(ctx, &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_START, CallId: id, Video: video, Payload: offer})
	if err == nil {
		c.keepCallAlive(conv, id)
	}
	return call, err
}

// AcceptCall answers the ringing call id on this device, with the WebRTC
// answer for the caller's device. Answered on another device already:
// IN_CALL.
func (c *Client) AcceptCall(ctx context.Context, conv, id string, answer []byte) (Call, error) {
	call, err := c.callStep(ctx, &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_ACCEPT, CallId: id, Payload: answer})
	if err == nil {
		c.keepCallAlive(conv, id)
	}
	return call, err
}

// DeclineCall refuses the ringing call id, saying why ("busy"; may be
// empty).
func (c *Client) DeclineCall(ctx context.Context, conv, id, reason string) error {
	_, err := c.callStep(ctx, &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_DECLINE, CallId: id, Reason: reason})
	return err
}

// EndCall hangs up call id (or cancels it while it rings). A call that
// ended already: NOT_FOUND.
func (c *Client) EndCall(ctx context.Context, conv, id, reason string) error {
	c.stopCallAlive(conv, id)
	_, err := c.callStep(ctx, &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_END, CallId: id, Reason: reason})
	return err
}

// SendCallSignal relays payload (ICE candidates, a renegotiation) to the
// other side's device in call id, in order.
func (c *Client) SendCallSignal(ctx context.Context, conv, id string, payload []byte) error {
	_, err := c.callStep(ctx, &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_SIGNAL, CallId: id, Payload: payload})
	return err
}

// CallState reads conv's call (nil: none), as a phone woken by a call's
// push does once it connected.
func (c *Client) CallState(ctx context.Context, conv string) (*Call, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Call{Call: &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_STATE}}})
	if err != nil {
		return nil, err
	}
	w := res.GetCall().GetCall()
	if w == nil {
		return nil, nil
	}
	call := callOf(w)
	call.Offer = res.GetCall().GetOffer()
	return &call, nil
}

// ICEServer is one STUN or TURN server for a call's peer connection
// (RTCIceServer), with the TURN credentials the node signed for this user.
type ICEServer struct {
	URLs                 []string
	Username, Credential string
}

// ICEServers reads the STUN and TURN servers to make or answer a call in
// conv with (the node's --ice-servers; none: host candidates only). Ask
// before each call: TURN credentials expire.
func (c *Client) ICEServers(ctx context.Context, conv string) ([]ICEServer, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Call{Call: &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_STATE}}})
	if err != nil {
		return nil, err
	}
	var out []ICEServer
	for _, s := range res.GetCall().GetIceServers() {
		out = append(out, ICEServer{URLs: s.Urls, Username: s.Username, Credential: s.Credential})
	}
	return out, nil
}

func (c *Client) callStep(ctx context.Context, req *wirepb.CallRequest) (Call, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Call{Call: req}})
	if err != nil {
		return Call{}, err
	}
	return callOf(res.GetCall().GetCall()), nil
}

// keptCall is a call this device is in, kept alive.
type keptCall struct {
	cancel context.CancelFunc
	wake   chan struct{} // a reconnect: say it now
}

// keepCallAlive says every CallAliveEvery, and right after each
// reconnect, that this device is in call id, until the call ends (its
// CallEnded, EndCall) or the client closes. A call the node no longer
// knows ended while this device was away, and its CallEnded with it: the
// SDK emits one itself, without an outcome (the conversation's record
// has it).
func (c *Client) keepCallAlive(conv, id string) {
	key := conv + "\x00" + id
	ctx, cancel := context.WithCancel(c.ctx)
	k := &keptCall{cancel: cancel, wake: make(chan struct{}, 1)}
	c.callsMu.Lock()
	if c.calls == nil {
		c.calls = map[string]*keptCall{}
	}
	if _, ok := c.calls[key]; ok {
		c.callsMu.Unlock()
		cancel()
		return // a retried start or answer
	}
	c.calls[key] = k
	c.callsMu.Unlock()
	go func() {
		defer c.stopCallAlive(conv, id)
		t := time.NewTicker(CallAliveEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-k.wake:
			}
			_, err := c.callStep(ctx, &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_ALIVE, CallId: id})
			switch code := wirepb.CodeOf(err); {
			case code == wirepb.Code_NOT_FOUND && ctx.Err() == nil:
				c.emit(Event{Kind: EventCall, Conv: conv, Call: &CallEvent{Kind: CallEnded, Call: Call{ID: id, Conv: conv}}})
				return
			case code == wirepb.Code_NOT_FOUND, code == wirepb.Code_FORBIDDEN, errors.Is(err, ErrClosed):
				return
			}
		}
	}()
}

// CallRecheck is how long after a reconnect the SDK says once more that
// this device is in its calls (it says so at once too): a call step sent
// while the node was still registering the new connection reached no
// device.
const CallRecheck = 2 * time.Second

// recheckCalls has every kept call say it is alive now and again
// CallRecheck later: after a reconnect, a call that ended meanwhile is
// found at once, and one that ended while the node registered the new
// connection a moment later.
func (c *Client) recheckCalls() {
	c.wakeCalls()
	c.callsMu.Lock()
	kept := len(c.calls)
	c.callsMu.Unlock()
	if kept > 0 {
		time.AfterFunc(CallRecheck, c.wakeCalls)
	}
}

// wakeCalls has every kept call say it is alive now.
func (c *Client) wakeCalls() {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	for _, k := range c.calls {
		select {
		case k.wake <- struct{}{}:
		default:
		}
	}
}

func (c *Client) stopCallAlive(conv, id string) {
	key := conv + "\x00" + id
	c.callsMu.Lock()
	k := c.calls[key]
	delete(c.calls, key)
	c.callsMu.Unlock()
	if k != nil {
		k.cancel()
	}
}

// onCall turns a CALL signal into an EventCall.
func (c *Client) onCall(s *wirepb.Signal) {
	e := s.GetCall()
	if e == nil || e.Call == nil || e.Kind > wirepb.CallEvent_ENDED {
		return // a step this SDK does not know
	}
	ev := &CallEvent{Kind: CallEventKind(e.Kind + 1), Call: callOf(e.Call), Payload: e.Payload, Outcome: e.Outcome,
		Reason: e.Reason, Duration: time.Duration(e.DurationMs) * time.Millisecond, Seq: e.Seq}
	if ev.Kind == CallEnded {
		c.stopCallAlive(e.Call.Conv, e.Call.Id)
	}
	c.emit(Event{Kind: EventCall, Conv: s.Conv, User: s.User, Call: ev})
}

func callOf(w *wirepb.Call) Call {
	if w == nil {
		return Call{}
	}
	call := Call{ID: w.Id, Conv: w.Conv, Caller: w.Caller, CallerDevice: w.CallerDevice, Callee: w.Callee,
		AnsweredDevice: w.AnsweredDevice, Video: w.Video, Started: time.UnixMilli(w.StartedMs)}
	if w.AnsweredMs != 0 {
		call.Answered = time.UnixMilli(w.AnsweredMs)
	}
	return call
}
