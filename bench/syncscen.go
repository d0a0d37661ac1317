package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// SyncReport is the sync scenario's result.
type SyncReport struct {
	Users      int `json:"users"`
	Convs      int `json:"convs"`
	Incomplete int `json:"incomplete"`
	// ListMs: from starting to reconnect to holding the complete list
	// (QUIC and TLS handshake, Hello, Welcome with the first sync page,
	// further pages). ListWireBytes: both directions, per user.
	ListMs        Percentiles `json:"list_ms"`
	ListWireBytes float64     `json:"list_wire_bytes"`
	// SyncMs: the same list asked again with sync requests alone (round
	// trips on loopback: close to the server's time). SyncBytes: the
	// encoded answers, per user.
	SyncMs    Percentiles `json:"sync_ms"`
	SyncBytes float64     `json:"sync_bytes"`
	SyncPages int         `json:"sync_pages"`
	// PagesMs: then the latest page (20 messages) of every conversation,
	// paced under the server's per-connection request limit (50/s, burst
	// 100), which bounds it. PagesWireBytes per user.
	PagesMs        Percentiles `json:"pages_ms"`
	PagesWireBytes float64     `json:"pages_wire_bytes"`
}

// runSync: SyncUsers users connect once (so their device cursor is
// stored), go offline while Convs groups with all of them change (created,
// then one message each), and reconnect.
func runSync(ctx context.Context, p *pool, o Options, res *Result) ([]*client.Client, error) {
	res.Params["users"], res.Params["convs"] = o.SyncUsers, o.Convs
	errs := newErrCount()
	sr := &SyncReport{Users: o.SyncUsers, Convs: o.Convs}
	res.Sync = sr
	users := make([]string, o.SyncUsers)
	for i := range users {
		users[i] = fmt.Sprintf("%s-s%d", o.RunID, i)
	}
	// 1. Online once, cursor acknowledged, offline.
	first, err := connectMany(ctx, p, o, users, nil)
	if err != nil {
		return nil, err
	}
	for _, c := range first {
		_ = c.Ack(ctx)
	}
	closeAll(first)

	// 2. Changes while they are away: creators make the groups (40 each:
	// a create and a send per group stay within the request burst).
	const perCreator = 40
	creators := make([]string, (o.Convs+perCreator-1)/perCreator)
	for i := range creators {
		creators[i] = fmt.Sprintf("%s-o%d", o.RunID, i)
	}
	cc, err := connectMany(ctx, p, o, creators, nil)
	if err != nil {
		return nil, err
	}
	setupStart := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var setupErr error
	for ci, c := range cc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := ci * perCreator; g < min(o.Convs, (ci+1)*perCreator); g++ {
				conv, err := c.CreateGroup(ctx, "", fmt.Sprintf("sync %d", g), users)
				if err == nil {
					_, err = c.SendText(ctx, client.ToConv(conv), fmt.Sprintf("change %d", g))
				}
				if err != nil {
					mu.Lock()
					setupErr = errors.Join(setupErr, fmt.Errorf("group %d: %w", g, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	closeAll(cc)
	if setupErr != nil {
		return nil, setupErr
	}
	res.Notes = append(res.Notes, fmt.Sprintf("setup: %d groups created and written in %.1f s", o.Convs, time.Since(setupStart).Seconds()))

	// 3. Reconnect, one user at a time so each is timed alone.
	smp := newSampler("sync", o.Progress, p.t.AdminURL, nil, nil, nil, errs)
	smp.begin(ctx)
	start := time.Now()
	listLat, syncLat, pageLat := newLatency(), newLatency(), newLatency()
	var clients []*client.Client
	for i, u := range users {
		t0 := time.Now()
		c, err := p.dial(ctx, u, "bench", nil)
		if err != nil {
			errs.addErr(err)
			sr.Incomplete++
			continue
		}
		listLat.record(i, time.Since(t0))
		clients = append(clients, c)
		if st, ok := c.ConnStats(); ok {
			sr.ListWireBytes += float64(st.BytesReceived + st.BytesSent)
		}
		var convs []string
		for _, cv := range c.Conversations() {
			convs = append(convs, cv.ID)
		}
		if len(convs) < o.Convs {
			sr.Incomplete++
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d of %d conversations after reconnect", u, len(convs), o.Convs))
		}
		// The same list again, by sync requests only.
		t1 := time.Now()
		cursor := c.Welcome().Cursor
		for {
			page, err := c.SyncFrom(ctx, cursor, 0)
			if err != nil {
				errs.addErr(err)
				break
			}
			sr.SyncBytes += float64(proto.Size(page))
			sr.SyncPages++
			if !page.More {
				break
			}
			cursor = page.Cursor
		}
		syncLat.record(i, time.Since(t1))
		// The latest page of each.
		before, _ := c.ConnStats()
		t2 := time.Now()
		if err := latestPages(ctx, c, convs, errs); err != nil {
			return clients, err
		}
		pageLat.record(i, time.Since(t2))
		after, _ := c.ConnStats()
		sr.PagesWireBytes += float64(after.BytesReceived + after.BytesSent - before.BytesReceived - before.BytesSent)
	}
	elapsed := time.Since(start)
	smp.end(context.WithoutCancel(ctx))
	if n := float64(len(clients)); n > 0 {
		sr.ListWireBytes /= n
		sr.SyncBytes /= n
		sr.PagesWireBytes /= n
	}
	sr.ListMs, sr.SyncMs, sr.PagesMs = percentiles(listLat.total()), percentiles(syncLat.total()), percentiles(pageLat.total())
	fillCommon(res, smp, elapsed, errs)
	return clients, ctx.Err()
}

// latestPages fetches the newest page of each conversation, eight at a
// time, paced just under the server's per-connection request limit so no
// request is refused (refusals in a row close the connection).
func latestPages(ctx context.Context, c *client.Client, convs []string, errs *errCount) error {
	lim := rate.NewLimiter(45, 90)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, conv := range convs {
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for try := 0; ; try++ {
				_, err := c.History(ctx, conv, client.HistoryOptions{Limit: 20})
				if err == nil {
					return
				}
				if wirepb.CodeOf(err) != wirepb.Code_RATE_LIMITED || try == 5 {
					errs.addErr(err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return nil
}
