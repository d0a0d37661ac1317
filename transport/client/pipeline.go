package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A conversation's sends are pipelined: up to Config.SendPipeline are
// written before the first is answered, in queue order, on one
// connection, each naming the send ahead of it (after_client_msg_id). The
// server runs them in the order written and refuses a send written behind
// one it refused transiently, so a refusal never lets a later message be
// sequenced first. On a transient refusal or a lost connection the
// pipeline stops writing, waits for every send of it to be answered,
// backs off, and starts again from the oldest unacknowledged send.
//
// The window is a congestion window, as TCP's: a BUSY shrinks it to one
// send and every acknowledged send widens it by one, up to SendPipeline.
// A node that is shedding load would otherwise refuse a whole pipeline
// behind the send it refused (each refusal a round trip it pays for),
// every time the client comes back.

// convQueue is the hand-off between enqueue and a conversation's
// pipeline goroutine.
type convQueue struct {
	add  []*outgoing   // queued and not yet taken by the pipeline (under Client.outMu)
	wake chan struct{} // something was added
}

// enqueue queues o behind the other sends to its conversation.
func (c *Client) enqueue(o *outgoing) {
	c.store.addPending(o)
	conv := o.msg.Conv
	c.outMu.Lock()
	q := c.outbox[conv]
	start := q == nil
	if start {
		q = &convQueue{wake: make(chan struct{}, 1)}
		c.outbox[conv] = q
	}
	q.add = append(q.add, o)
	c.outMu.Unlock()
	if start {
		c.wg.Add(1)
		go c.sendLoop(conv, q)
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// sendResult is how one written send fared.
type sendResult struct {
	o   *outgoing
	res *wirepb.Response
	err error
}

// pipeline is one conversation's sends in flight; owned by its sendLoop.
type pipeline struct {
	c    *Client
	conv string
	q    *convQueue

	// list is the conversation's unanswered sends in queue order; while
	// not paused its first inflight ones are written and unanswered.
	list     []*outgoing
	inflight int
	cn       *conn // the connection of the sends in flight

	// paused: a send was refused or lost; nothing is written until every
	// send in flight is answered, then (when backoff) after a delay.
	paused     bool
	backoff    bool
	retryAfter time.Duration
	b          *backoff
	results    chan sendResult
	cwnd       int // sends that may be in flight now: 1 after a BUSY, +1 per ack, at most SendPipeline
}

// sendLoop delivers a conversation's queue in order. It exits, deleting
// the queue under the same lock, exactly when nothing is left: enqueue
// starts a new loop when no loop owns the conversation.
func (c *Client) sendLoop(conv string, q *convQueue) {
	defer c.wg.Done()
	p := &pipeline{c: c, conv: conv, q: q, b: newBackoff(c.cfg.MinBackoff, c.cfg.MaxBackoff),
		results: make(chan sendResult, c.cfg.SendPipeline), cwnd: c.cfg.SendPipeline}
	for {
		c.outMu.Lock()
		p.list = append(p.list, q.add...)
		q.add = nil
		if len(p.list) == 0 {
			delete(c.outbox, conv)
			c.outMu.Unlock()
			return
		}
		c.outMu.Unlock()
		if p.paused && p.inflight == 0 {
			p.pause()
			continue
		}
		if !p.paused {
			p.fill()
		}
		if p.inflight == 0 {
			continue // progress was made: a send failed, or the pipeline paused
		}
		select {
		case r := <-p.results:
			p.inflight--
			p.outcome(r.o, r.res, r.err)
		case <-q.wake:
		}
	}
}

// pause waits before writing again after a refusal or a lost connection:
// the backoff (jittered, growing), at least the server's retry-after, at
// most until the oldest send's deadline.
func (p *pipeline) pause() {
	if p.backoff && p.c.ctx.Err() == nil {
		wait := max(p.b.next(), p.retryAfter)
		if dl := p.list[0].deadline; !dl.IsZero() {
			wait = min(wait, time.Until(dl))
		}
		select {
		case <-time.After(wait):
		case <-p.c.ctx.Done():
		}
	}
	p.paused, p.backoff, p.retryAfter, p.cn = false, false, 0, nil
}

// window is how many sends may be in flight on p.cn.
func (p *pipeline) window() int { return min(p.cwnd, p.c.cfg.SendPipeline, cap(p.cn.slots)) }

// fill writes sends until the window is full or none is left.
func (p *pipeline) fill() {
	for !p.paused && p.inflight < len(p.list) {
		if p.inflight > 0 && (p.inflight >= p.window() || !p.c.current(p.cn)) {
			// Full, or the connection changed: what follows must not be
			// written on another connection while sends ahead of it are
			// unanswered on this one, whose server knows their refusals.
			return
		}
		o := p.list[p.inflight]
		if o.deadline.IsZero() {
			o.deadline = time.Now().Add(p.c.cfg.SendTimeout)
		}
		if p.c.ctx.Err() != nil {
			p.outcome(o, nil, ErrClosed)
			continue
		}
		if !time.Now().Before(o.deadline) {
			p.outcome(o, nil, context.DeadlineExceeded)
			continue
		}
		// The client-wide back-off after a BUSY (busy.go): nothing is
		// written while it runs; with FailOnBusy the send fails unsent.
		if time.Now().Before(p.c.hold.heldUntil()) {
			if !p.c.cfg.FailOnBusy && p.inflight > 0 {
				return // written once the sends ahead are answered and the hold ended
			}
			err := p.holdFor(o)
			if err != nil {
				p.outcome(o, nil, err)
				continue
			}
		}
		if p.inflight == 0 {
			ctx, cancel := context.WithDeadline(p.c.ctx, o.deadline)
			cn, err := p.c.waitConn(ctx)
			cancel()
			if err != nil {
				p.outcome(o, nil, err)
				continue
			}
			p.cn = cn
		}
		after := ""
		if p.inflight > 0 {
			after = p.list[p.inflight-1].msg.ClientMsgID
		}
		if err := p.start(o, after); err != nil {
			// Not written (or cut off with its connection): nothing
			// behind it is written before it is sent again.
			p.outcome(o, nil, err)
			continue
		}
		p.inflight++
	}
}

// holdFor waits out the client-wide BUSY hold for o (until its deadline),
// or with FailOnBusy refuses it at once, without a timer.
func (p *pipeline) holdFor(o *outgoing) error {
	if p.c.cfg.FailOnBusy {
		return p.c.hold.wait(p.c.ctx, p.c.ctx.Done(), true)
	}
	ctx, cancel := context.WithDeadline(p.c.ctx, o.deadline)
	defer cancel()
	return p.c.hold.wait(ctx, p.c.ctx.Done(), false)
}

// start writes o's send on p.cn; a goroutine waits for its answer.
func (p *pipeline) start(o *outgoing, after string) error {
	c := p.c
	send := &wirepb.SendRequest{
		ClientMsgId: o.msg.ClientMsgID, Body: o.msg.Body, ClientTsMs: o.msg.ClientTime.UnixMilli(), Kind: o.msg.Kind,
		RefSeq: o.msg.RefSeq, ReplyTo: o.msg.ReplyTo, Mentions: o.msg.Mentions, MentionAll: o.msg.MentionAll, MediaId: o.msg.Media.GetId(), AfterClientMsgId: after,
		Location: o.msg.Location, Meta: o.msg.Meta}
	if o.forward.conv != "" {
		// The pending view shows the copied message as held; the node
		// copies it itself.
		send.Body, send.MediaId, send.Location, send.Meta, send.ForwardConv, send.ForwardSeq = nil, "", nil, nil, o.forward.conv, o.forward.seq
	}
	req := &wirepb.Request{Op: &wirepb.Request_Send{Send: send}}
	if o.to != "" {
		req.GetSend().To, req.GetSend().Topic = o.to, o.topic
	} else {
		req.GetSend().Conv = o.msg.Conv
	}
	// One request never waits longer than RequestTimeout, as in do: one
	// context (one timer) for whichever ends first.
	requestEnd, end := time.Now().Add(c.cfg.RequestTimeout), o.deadline
	if requestEnd.Before(end) {
		end = requestEnd
	}
	rctx, rcancel := context.WithDeadline(c.ctx, end)
	k, err := p.cn.start(rctx, req)
	if err != nil {
		rcancel()
		return err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		res, err := k.wait(rctx)
		if err != nil && rctx.Err() != nil && c.ctx.Err() == nil && requestEnd.Before(o.deadline) {
			err = fmt.Errorf("%w: no answer within %s", ErrDisconnected, c.cfg.RequestTimeout)
			go c.probe(c.ctx)
		}
		rcancel()
		p.results <- sendResult{o, res, err} // never blocks: room for every send in flight
	}()
	return nil
}

// outcome settles o's answer: acknowledged, failed for good, or to be sent
// again (the pipeline pauses).
func (p *pipeline) outcome(o *outgoing, res *wirepb.Response, err error) {
	c := p.c
	if err == nil {
		p.remove(o)
		p.b.reset()
		p.cwnd = min(p.cwnd+1, c.cfg.SendPipeline)
		c.finish(o, c.store.confirm(o, res.GetSend()), nil)
		return
	}
	c.hold.note(err)
	var we *wirepb.Error
	errors.As(err, &we)
	transient := errors.Is(err, ErrDisconnected) || we != nil && wirepb.Transient(we.Code)
	if we != nil && we.Code == wirepb.Code_BUSY {
		c.busy.Add(1)
		p.cwnd = 1
		if c.cfg.FailOnBusy {
			// Final; the sends written behind it come back BUSY too.
			// Drain them before writing more, so later sends do not
			// follow them into the refusal.
			transient = false
			p.paused = true
		}
	}
	expired := !o.deadline.IsZero() && !time.Now().Before(o.deadline)
	if transient && we != nil && we.RetryAfterMs > 0 && !o.deadline.IsZero() &&
		time.Now().Add(time.Duration(we.RetryAfterMs)*time.Millisecond).After(o.deadline) {
		// The server asks to wait past the send's deadline (a new direct
		// conversation past the user's hourly bound): say so now rather
		// than time out later.
		transient = false
	}
	if !transient || expired || c.ctx.Err() != nil {
		if expired && c.ctx.Err() == nil {
			err = wirepb.Errorf(wirepb.Code_TIMEOUT, "not sent within %s: %v", c.cfg.SendTimeout, err)
		}
		p.remove(o)
		c.finish(o, c.store.fail(o, err), err)
		return
	}
	c.log.Debug("send failed; retrying", "conv", o.msg.Conv, "client_msg_id", o.msg.ClientMsgID, "err", err)
	p.paused, p.backoff = true, true
	if we != nil && we.RetryAfterMs > 0 {
		// The server said when (BUSY, STORAGE_UNAVAILABLE): not before;
		// the backoff's jitter still spreads the retries.
		p.retryAfter = max(p.retryAfter, time.Duration(we.RetryAfterMs)*time.Millisecond)
	}
}

func (p *pipeline) remove(o *outgoing) {
	for i, x := range p.list {
		if x == o {
			p.list = append(p.list[:i], p.list[i+1:]...)
			return
		}
	}
}

// current reports whether cn is the live current connection.
func (c *Client) current(cn *conn) bool {
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur != cn {
		return false
	}
	select {
	case <-cn.done:
		return false
	default:
		return true
	}
}
