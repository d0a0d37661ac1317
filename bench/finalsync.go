package bench

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// finalSyncWorkers bounds the recipients checked at once by the final
// resync, so the check itself does not flood the node.
const finalSyncWorkers = 16

// finalSyncTimeout bounds the history reads of one recipient on one
// connection.
const finalSyncTimeout = 20 * time.Second

var errNoClient = errors.New("bench: the recipient has no client here")

// verdict ends the drain and judges every acked message: missed is how
// many recipients had not seen live, never how many of those the final
// resync did not find either (the rest were late). Nothing that arrives
// from here on counts as a delivery (t.drained).
func (t *traffic) verdict(ctx context.Context, p *pool) (missed, never int64, sample []string) {
	t.drained.Store(true)
	missed, sample = t.lost()
	never = missed
	if missed > 0 && ctx.Err() == nil {
		t.finalResync(ctx, p)
		never, sample = t.lost()
	}
	return missed, never, sample
}

// finalResync looks up, in each conversation's history, every acked
// message a recipient had not seen when the drain ended, the way an app
// catches up on its next sync. What it finds was late (not pushed in
// time); what it does not find was never delivered, which is what lost()
// counts afterwards.
//
// A recipient reads through its own client; when that fails (its
// connection stalled or closed), through a fresh connection of the same
// user. Nothing found here counts as a delivery or takes a latency.
func (t *traffic) finalResync(ctx context.Context, p *pool) {
	convs := map[*recipient]map[string]bool{}
	for _, s := range t.senders {
		s.mu.Lock()
		acked := append([]uint64(nil), s.acked...)
		s.mu.Unlock()
		for _, r := range s.recips {
			if k, _ := r.missing(s.idx, acked); k == 0 {
				continue
			}
			if convs[r] == nil {
				convs[r] = map[string]bool{}
			}
			convs[r][s.convFor(r)] = true
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, finalSyncWorkers)
	for r, cs := range convs {
		for conv := range cs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := t.readHistory(ctx, r, r.c, conv)
				if err != nil && p != nil {
					t.errs.add("final_resync_reconnects")
					err = t.readHistoryFresh(ctx, p, r, conv)
				}
				if err != nil {
					t.errs.add("final_resync_failed")
				}
			}()
		}
	}
	wg.Wait()
}

// convFor is the conversation s's messages reach r in.
func (s *sender) convFor(r *recipient) string {
	if s.to.Conv != "" {
		return s.to.Conv
	}
	return wirepb.DirectConvID(s.c.User(), r.name)
}

// readHistoryFresh reads conv's history as r's user on a new connection.
func (t *traffic) readHistoryFresh(ctx context.Context, p *pool, r *recipient, conv string) error {
	dctx, cancel := context.WithTimeout(ctx, finalSyncTimeout)
	defer cancel()
	c, err := p.dial(dctx, r.name, "bench-final-resync", nil)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	return t.readHistory(ctx, r, c, conv)
}

// readHistory pages through conv oldest first and marks every bench
// message r had missed.
func (t *traffic) readHistory(ctx context.Context, r *recipient, c *client.Client, conv string) error {
	if c == nil {
		return errNoClient
	}
	ctx, cancel := context.WithTimeout(ctx, finalSyncTimeout)
	defer cancel()
	from := uint64(1)
	for {
		// No limit: the node's page size, whatever it is configured to.
		ms, err := c.History(ctx, conv, client.HistoryOptions{FromSeq: from, OldestFirst: true})
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		for _, m := range ms {
			from = max(from, m.Seq+1)
			if m.Sender == r.name {
				continue
			}
			h, err := parseHeader(m.Body)
			if err != nil || int64(h.sender) >= t.ready.Load() {
				continue
			}
			r.found(h.sender, h.n)
		}
	}
}
