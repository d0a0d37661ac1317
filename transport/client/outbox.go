package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// outgoing is one queued send. A conversation's sends are written in
// order, up to Config.SendPipeline at once; different conversations do
// not wait for each other.
type outgoing struct {
	msg Message // the pending view: Seq 0, State sending or failed
	to  string  // a direct send: the other user
	// topic: with to, the pair's conversation about it ("": the plain one)
	topic string
	// forward: the message a forward copies (Client.Forward); zero: none
	forward struct {
		conv string
		seq  uint64
	}
	done   chan struct{}
	result Message
	err    error

	deadline time.Time // Config.SendTimeout after it was first due to go out (its pipeline's)
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
	// Padded, like the path check's: a server that forgot the connection
	// resets it at once.
	if _, err := cn.request(pctx, &wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{Padding: make([]byte, pathCheckPadding)}}}); err != nil && ctx.Err() == nil {
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
