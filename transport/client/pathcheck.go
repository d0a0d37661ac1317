package client

import (
	"context"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The path check finds a dead server while requests wait for it, without
// waiting for RequestTimeout or the idle timeout.
//
// When a node dies, a load balancer sends its clients' packets to another
// node. That node answers a packet of a connection it does not know with a
// QUIC stateless reset (nodes behind one address share the reset key), and
// the client's connection ends at once: but only for packets longer than
// 42 bytes. A request the dead node had taken (acknowledged at the QUIC
// level, never answered) leaves QUIC nothing to resend, and the client's
// keep-alive PINGs are shorter than that, so it would learn nothing until
// the request timed out. So while requests wait and the server has sent
// nothing for PathCheckAfter, the client sends a ping padded past that
// size, once per PathCheckAfter.

// pathCheckPadding makes a ping's packet longer than the 42 bytes below
// which a server sends no stateless reset, whatever the connection id
// length.
const pathCheckPadding = 64

// armCheckLocked starts the path check's timer if it is not running.
// Called with c.mu held, after adding a pending request.
func (c *conn) armCheckLocked() {
	if c.checkAfter <= 0 || c.checkArmed {
		return
	}
	c.checkArmed = true
	if c.check == nil {
		c.check = time.AfterFunc(c.checkAfter, c.checkPath)
		return
	}
	c.check.Reset(c.checkAfter)
}

// checkPath runs when the timer fires: it pings when requests have waited
// on a silent server for checkAfter, and re-arms while requests wait.
func (c *conn) checkPath() {
	c.mu.Lock()
	select {
	case <-c.done:
		c.checkArmed = false
		c.mu.Unlock()
		return
	default:
	}
	if len(c.pending) == 0 {
		c.checkArmed = false
		c.mu.Unlock()
		return
	}
	since := c.pendingSince
	if last := time.Unix(0, c.lastRead.Load()); last.After(since) {
		since = last
	}
	quiet := time.Since(since)
	ping := quiet >= c.checkAfter
	next := c.checkAfter - quiet
	if ping {
		next = c.checkAfter
		c.pendingSince = time.Now() // the next ping after another checkAfter of silence
	}
	c.check.Reset(next)
	c.mu.Unlock()
	if ping {
		go c.pingPadded()
	}
}

// pingPadded sends a padded ping and lets its answer go: a stateless reset
// ends the connection by itself, and the client reconnects.
func (c *conn) pingPadded() {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	_, _ = c.request(ctx, &wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{Padding: make([]byte, pathCheckPadding)}}})
}
