package client

import (
	"context"
	"math/rand/v2"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func rand64(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

// resyncFrom asks for the changes since cursor and applies them.
func (c *Client) resyncFrom(ctx context.Context, cn *conn, cursor uint64) error {
	res, err := cn.request(ctx, &wirepb.Request{Op: &wirepb.Request_Sync{Sync: &wirepb.SyncRequest{Cursor: cursor}}})
	if err != nil {
		return err
	}
	return c.resync(ctx, cn, res.GetSync())
}

// resync applies a sync answer and its further pages: summaries, and for
// conversations this client holds messages of, the messages it lacks.
// Then it acknowledges the sync cursor.
func (c *Client) resync(ctx context.Context, cn *conn, first *wirepb.SyncResult) error {
	page := first
	for page != nil {
		for _, s := range page.Conversations {
			from, to, news := c.store.applySummary(s)
			if from <= to {
				c.fetch(ctx, cn, s.Conv, from, to, false)
			}
			c.closeGaps(ctx, cn, s.Conv)
			// After the fetch, so the conversation's events stay in seq order.
			for i := range news {
				c.emit(Event{Kind: EventMessage, Conv: news[i].Conv, Seq: news[i].Seq, User: news[i].Sender, Message: &news[i]})
			}
		}
		if !page.More {
			break
		}
		res, err := cn.request(ctx, &wirepb.Request{Op: &wirepb.Request_Sync{Sync: &wirepb.SyncRequest{Cursor: page.Cursor}}})
		if err != nil {
			return err
		}
		page = res.GetSync()
	}
	// Holes can also sit in conversations the sync did not name (pushes
	// lost while their inbox entries lie below the cursor): close them too.
	for _, cv := range c.store.conversations() {
		c.closeGaps(ctx, cn, cv.ID)
	}
	if page != nil {
		c.queueAck(0, page.Cursor)
	}
	c.emit(Event{Kind: EventSynced})
	return nil
}

// closeGaps fetches the holes below the newest message held (pushes lost
// while the connection or the server was down), not only the range above
// it; a hole the server cannot fill (nothing visible there) ends the loop.
func (c *Client) closeGaps(ctx context.Context, cn *conn, conv string) {
	prevFrom, prevTo := uint64(1), uint64(0)
	for range 100 {
		from, to := c.store.gap(conv)
		if from > to || (from == prevFrom && to == prevTo) {
			return
		}
		c.fetch(ctx, cn, conv, from, to, false)
		prevFrom, prevTo = from, to
	}
}

// fetch pulls messages from..to of conv, oldest first, at most FetchLimit
// of them (the newest, when there are more); live: they count as unread
// (a gap under a push, which no sync summary covered).
func (c *Client) fetch(ctx context.Context, cn *conn, conv string, from, to uint64, live bool) {
	if to-from+1 > uint64(c.cfg.FetchLimit) {
		from = to - uint64(c.cfg.FetchLimit) + 1
	}
	for from <= to {
		res, err := cn.request(ctx, &wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{
			Conv: conv, FromSeq: from, ToSeq: to, OldestFirst: true, Limit: 200}}})
		if err != nil {
			c.log.Debug("fetch failed", "conv", conv, "err", err)
			return
		}
		ms := res.GetHistory().GetMessages()
		if len(ms) == 0 {
			return
		}
		added, _ := c.store.addMessages(ms, live)
		for i := range added {
			c.emit(Event{Kind: EventMessage, Conv: conv, Seq: added[i].Seq, User: added[i].Sender, Message: &added[i]})
		}
		from = ms[len(ms)-1].Seq + 1
	}
}

// fetchShown fetches the messages at seqs again (shown again after a
// hide); the edits and reactions held for them apply as they come.
func (c *Client) fetchShown(ctx context.Context, cn *conn, conv string, seqs []uint64) {
	for _, seq := range seqs {
		c.fetch(ctx, cn, conv, seq, seq, false)
	}
}

// fillGaps fetches the missing ranges of conv until none is left (one
// fetcher per conversation at a time).
func (c *Client) fillGaps(ctx context.Context, cn *conn, conv string) {
	if !c.store.startFetch(conv) {
		return
	}
	defer c.store.endFetch(conv)
	for range 16 {
		from, to := c.store.gap(conv)
		if from > to || ctx.Err() != nil {
			return
		}
		before := len(c.store.messages(conv))
		c.fetch(ctx, cn, conv, from, to, true)
		if len(c.store.messages(conv)) == before {
			return // nothing came back (recalled range or not visible)
		}
	}
}
