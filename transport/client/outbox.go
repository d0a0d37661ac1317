package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// outgoing is one queued send. Sends to one conversation go out one at a
// time, in order; different conversations do not wait for each other.
type outgoing struct {
	msg    Message // the pending view: Seq 0, State sending or failed
	to     string  // a direct send: the other user
	done   chan struct{}
	result Message
	err    error
}

// Pending is a queued send.
type Pending struct{ o *outgoing }

// ClientMsgID is the send's idempotency key.
func (p *Pending) ClientMsgID() string { return p.o.msg.ClientMsgID }

// Conv is the conversation the message goes to.
func (p *Pending) Conv() string { return p.o.msg.Conv }

// Done is closed once the send is acknowledged or has failed.
func (p *Pending) Done() <-chan struct{} { return p.o.done }

// Wait waits for the outcome: the message with its seq, or the reason it
// failed (a *wirepb.Error for a refusal).
func (p *Pending) Wait(ctx context.Context) (Message, error) {
	select {
	case <-p.o.done:
		return p.o.result, p.o.err
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// NewClientMsgID returns a random client message id.
func NewClientMsgID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// enqueue queues o behind the other sends to its conversation.
func (c *Client) enqueue(o *outgoing) {
	c.store.addPending(o)
	c.outMu.Lock()
	q := c.outbox[o.msg.Conv]
	c.outbox[o.msg.Conv] = append(q, o)
	start := len(q) == 0
	c.outMu.Unlock()
	if start {
		c.wg.Add(1)
		go c.sendLoop(o.msg.Conv)
	}
}

// sendLoop delivers a conversation's queue in order. The send being
// delivered stays at the head of the queue until it is done, and the last
// one is popped together with deleting the queue, under one lock: enqueue
// starts a new loop exactly when no loop owns the conversation.
func (c *Client) sendLoop(conv string) {
	defer c.wg.Done()
	for {
		c.outMu.Lock()
		o := c.outbox[conv][0]
		c.outMu.Unlock()
		c.deliver(o)
		c.outMu.Lock()
		q := c.outbox[conv][1:]
		if len(q) == 0 {
			delete(c.outbox, conv)
			c.outMu.Unlock()
			return
		}
		c.outbox[conv] = q
		c.outMu.Unlock()
	}
}

// deliver sends o until the server answers it, retrying transient
// failures with the same client_msg_id (so it is stored once), until
// Config.SendTimeout.
func (c *Client) deliver(o *outgoing) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.SendTimeout)
	defer cancel()
	req := &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{
		ClientMsgId: o.msg.ClientMsgID, Body: o.msg.Body, ClientTsMs: o.msg.ClientTime.UnixMilli(), Kind: o.msg.Kind}}}
	if o.to != "" {
		req.GetSend().To = o.to
	} else {
		req.GetSend().Conv = o.msg.Conv
	}
	b := newBackoff(c.cfg.MinBackoff, c.cfg.MaxBackoff)
	for {
		res, err := c.do(ctx, req)
		if err == nil {
			c.finish(o, c.store.confirm(o, res.GetSend()), nil)
			return
		}
		transient := errors.Is(err, ErrDisconnected) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
		var we *wirepb.Error
		if errors.As(err, &we) {
			transient = wirepb.Transient(we.Code)
		}
		if we != nil && we.Code == wirepb.Code_BUSY {
			c.busy.Add(1)
			if c.cfg.FailOnBusy {
				transient = false
			}
		}
		if !transient || ctx.Err() != nil {
			if ctx.Err() != nil && c.ctx.Err() == nil {
				err = wirepb.Errorf(wirepb.Code_TIMEOUT, "not sent within %s: %v", c.cfg.SendTimeout, err)
			}
			c.finish(o, c.store.fail(o, err), err)
			return
		}
		c.log.Debug("send failed; retrying", "conv", o.msg.Conv, "client_msg_id", o.msg.ClientMsgID, "err", err)
		wait := b.next()
		if we != nil && we.RetryAfterMs > 0 {
			// The server said when (BUSY, STORAGE_UNAVAILABLE): not before;
			// the backoff's jitter still spreads the retries.
			wait = max(wait, time.Duration(we.RetryAfterMs)*time.Millisecond)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
}

// probe checks a connection that let a request time out; a connection
// that does not answer a ping either is dropped, so the client reconnects
// now rather than at the idle timeout (a server restarted without a
// stateless reset key, a NAT that forgot the path).
func (c *Client) probe(ctx context.Context) {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := cn.request(pctx, &wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}}); err != nil && ctx.Err() == nil {
		c.log.Info("connection does not answer; reconnecting", "err", err)
		cn.close()
	}
}

// probeTimeout bounds the ping of a suspect connection.
const probeTimeout = 3 * time.Second

func (c *Client) finish(o *outgoing, m Message, err error) {
	o.result, o.err = m, err
	close(o.done)
	c.emit(Event{Kind: EventMessageState, Conv: m.Conv, Seq: m.Seq, Message: &m, Err: err})
}
