package client

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// onPush applies one push to the local state, then queues its ack.
func (c *Client) onPush(ctx context.Context, cn *conn, p *wirepb.Push) {
	switch e := p.Event.(type) {
	case *wirepb.Push_Message:
		m := e.Message
		added, _ := c.store.addMessages([]*wirepb.Message{m}, true)
		for i := range added {
			c.emit(Event{Kind: EventMessage, Conv: added[i].Conv, Seq: added[i].Seq, User: added[i].Sender, Message: &added[i]})
		}
		if from, to := c.store.gap(m.Conv); from <= to && to < m.Seq {
			go c.fillGaps(ctx, cn, m.Conv)
		}
	case *wirepb.Push_Read:
		c.store.readUpdate(e.Read.Conv, e.Read.ReadSeq, e.Read.Unread, e.Read.UnreadMentions)
		c.emit(Event{Kind: EventRead, Conv: e.Read.Conv, Seq: e.Read.ReadSeq})
	case *wirepb.Push_Membership:
		shown := c.store.membership(e.Membership)
		c.emit(Event{Kind: EventMembership, Conv: e.Membership.Conv, Seq: e.Membership.LastSeq})
		if len(shown) > 0 {
			go c.fetchShown(ctx, cn, e.Membership.Conv, shown)
		}
	case *wirepb.Push_Flags:
		c.store.setFlags(e.Flags)
		c.emit(Event{Kind: EventFlags, Conv: e.Flags.Conv})
	case *wirepb.Push_Lists:
		switch e.Lists.List {
		case wirepb.ListsUpdate_STARRED:
			c.emit(Event{Kind: EventStarred})
		case wirepb.ListsUpdate_SCHEDULED:
			c.emit(Event{Kind: EventScheduled})
		case wirepb.ListsUpdate_DRAFTS:
			c.emit(Event{Kind: EventDrafts})
		case wirepb.ListsUpdate_PROFILE:
			c.emit(Event{Kind: EventProfile})
		case wirepb.ListsUpdate_AWAY:
			c.emit(Event{Kind: EventAway})
		case wirepb.ListsUpdate_JOIN_REQUESTS:
			c.emit(Event{Kind: EventJoinRequests, Conv: e.Lists.Conv})
		case wirepb.ListsUpdate_REMINDER:
			c.emit(Event{Kind: EventReminder, Conv: e.Lists.Conv, Seq: e.Lists.Seq})
		}
	case *wirepb.Push_Receipt:
		r := e.Receipt
		changed := c.store.receipt(r.Conv, r.Seq)
		c.emit(Event{Kind: EventReceipt, Conv: r.Conv, User: r.Reader, Seq: r.Seq})
		for i := range changed {
			c.emit(Event{Kind: EventMessageState, Conv: r.Conv, Seq: changed[i].Seq, Message: &changed[i]})
		}
	}
	if p.InboxSeq > 0 {
		c.queueAck(p.InboxSeq, 0)
	}
}

// readStream reads the server's frames until the stream ends: answers go
// to their requests, pushes are applied, Resync and GoAway acted on.
func (c *Client) readStream(ctx context.Context, cn *conn, goAway *atomic.Int64) {
	for {
		var sf wirepb.ServerFrame
		if err := wirepb.ReadMsg(cn.rd, &sf, cn.readMax); err != nil {
			if ctx.Err() == nil && (errors.Is(err, wirepb.ErrBadFrame) || errors.Is(err, wirepb.ErrFrameTooLarge)) {
				c.log.Debug("bad frame from the server", "err", err)
				cn.lk.closeWith(wirepb.Code_BAD_FRAME, "bad frame")
			}
			cn.ended(err)
			return
		}
		cn.lastRead.Store(time.Now().UnixNano())
		switch m := sf.Msg.(type) {
		case *wirepb.ServerFrame_Response:
			cn.answer(m.Response)
		case *wirepb.ServerFrame_Signal:
			c.onSignal(m.Signal)
		case *wirepb.ServerFrame_Push:
			c.onPush(ctx, cn, m.Push)
		case *wirepb.ServerFrame_Resync:
			c.log.Info("server asked to resync", "cursor", m.Resync.Cursor)
			go func() {
				if err := c.resyncFrom(ctx, cn, m.Resync.Cursor); err != nil && ctx.Err() == nil {
					c.log.Warn("resync failed; reconnecting", "err", err)
					cn.close()
				}
			}()
		case *wirepb.ServerFrame_GoAway:
			c.log.Info("server going away", "reason", m.GoAway.Reason, "reconnect_to", m.GoAway.ReconnectTo)
			var wait time.Duration
			if w := m.GoAway.ReconnectWithinMs; w > 0 {
				wait = time.Duration(rand64(int64(w))) * time.Millisecond
			}
			goAway.Store(int64(wait))
			if m.GoAway.ReconnectTo != "" {
				c.mu.Lock()
				c.addrOverride = m.GoAway.ReconnectTo
				c.mu.Unlock()
			}
			// Requests in flight are answered or fail with the close;
			// sends are retried on the next connection.
			cn.close()
		case *wirepb.ServerFrame_Error:
			c.log.Info("server closing the connection", "code", m.Error.Code, "reason", m.Error.Message)
			cn.ended(m.Error)
			// The server waits for us to have read its last frame: close
			// now rather than keep it waiting out its linger.
			cn.lk.closeWith(m.Error.Code, "")
		}
	}
}

// readDatagrams reads signals sent as datagrams (QUIC).
func (c *Client) readDatagrams(ctx context.Context, cn *conn) {
	for {
		b, err := cn.lk.receiveDatagram(ctx)
		if err != nil {
			return
		}
		var s wirepb.Signal
		if proto.Unmarshal(b, &s) != nil {
			continue
		}
		c.onSignal(&s)
	}
}

// onSignal handles a signal, from a datagram or in band (WebSocket).
func (c *Client) onSignal(s *wirepb.Signal) {
	switch s.Kind {
	case wirepb.Signal_TYPING, wirepb.Signal_STOP_TYPING:
		c.emit(Event{Kind: EventTyping, Conv: s.Conv, User: s.User, Typing: s.Kind == wirepb.Signal_TYPING})
	case wirepb.Signal_DELIVERED:
		for _, m := range c.store.delivered(s.Conv, s.Seq) {
			m := m
			c.emit(Event{Kind: EventMessageState, Conv: s.Conv, Seq: m.Seq, User: s.User, Message: &m})
		}
	case wirepb.Signal_QUEUE_POSITION:
		c.emit(Event{Kind: EventQueuePosition, Conv: s.Conv, Seq: s.Seq, Wait: time.Duration(s.WaitMs) * time.Millisecond})
	case wirepb.Signal_DESK_NOTE:
		c.emit(Event{Kind: EventDeskNote, Conv: s.Conv, User: s.User, Seq: s.Seq})
	case wirepb.Signal_DESK_AGENT:
		c.emit(Event{Kind: EventDeskAgent, User: s.User})
	case wirepb.Signal_CALL:
		c.onCall(s)
	}
}

// queueAck records a processed push (inboxSeq) or sync (syncCursor) for
// the next ack.
func (c *Client) queueAck(inboxSeq, syncCursor uint64) {
	if c.cfg.ManualAck {
		return
	}
	c.ackMu.Lock()
	if inboxSeq > 0 {
		c.ackSeqs = append(c.ackSeqs, inboxSeq)
	}
	c.ackSync = max(c.ackSync, syncCursor)
	c.ackMu.Unlock()
	select {
	case c.ackWake <- struct{}{}:
	default:
	}
}

// maxRidingAcks bounds the acks one rider carries (a small frame); a
// larger backlog goes with the ack loop.
const maxRidingAcks = 1024

// ackRider hands the pending acks to a request that rides along with
// another (conn.withRider). Unridden, they go Config.AckDelay after the
// first of them (ackLoop).
type ackRider struct{ c *Client }

func (a ackRider) ride() *wirepb.Request {
	c := a.c
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	if len(c.ackSeqs) == 0 && c.ackSync == 0 || len(c.ackSeqs) > maxRidingAcks {
		return nil
	}
	r := &wirepb.Request{Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: c.ackSeqs, SyncCursor: c.ackSync}}}
	c.ackSeqs, c.ackSync = nil, 0
	return r
}

// unride takes back the acks of a request that was not written.
func (a ackRider) unride(r *wirepb.Request) {
	ack := r.GetAck()
	a.c.ackMu.Lock()
	a.c.ackSeqs = append(a.c.ackSeqs, ack.GetInboxSeqs()...)
	a.c.ackSync = max(a.c.ackSync, ack.GetSyncCursor())
	a.c.ackMu.Unlock()
	select {
	case a.c.ackWake <- struct{}{}:
	default:
	}
}

func (c *Client) ackLoop(ctx context.Context, cn *conn) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.ackWake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.cfg.AckDelay):
		}
		c.flushAcks(ctx, cn)
	}
}

func (c *Client) flushAcks(ctx context.Context, cn *conn) {
	c.ackMu.Lock()
	seqs, sc := c.ackSeqs, c.ackSync
	c.ackSeqs, c.ackSync = nil, 0
	c.ackMu.Unlock()
	if len(seqs) == 0 && sc == 0 {
		return
	}
	for len(seqs) > 0 || sc > 0 {
		n := min(len(seqs), 8192)
		rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		_, err := cn.request(rctx, &wirepb.Request{Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: seqs[:n], SyncCursor: sc}}})
		cancel()
		if err != nil {
			// The server keeps what was not acknowledged and resends it
			// by sync after a reconnect: nothing is lost, only repeated.
			c.log.Debug("ack failed", "err", err)
			return
		}
		seqs, sc = seqs[n:], 0
	}
}

// Ack sends the pending acknowledgements now (tests, tools).
func (c *Client) Ack(ctx context.Context) error {
	cn, err := c.waitConn(ctx)
	if err != nil {
		return err
	}
	c.flushAcks(ctx, cn)
	return nil
}
