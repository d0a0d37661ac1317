package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Retention: with Config.Retention set, a message's content is kept that
// long after the node stored it. Each row is judged by its own server
// time: a text, a card, an edit or a card's update written before the
// cutoff has expired. Readers never see expired content (readable masks
// it at every read path, from the first moment past the cutoff), and a
// sweep takes it out of the store: the row is tombstoned (body and file
// gone) and a desk step loses the words a user typed into it (a rating's
// comment). The rows, their seqs, unread counts and cursors stay, so sync
// and gap filling work as before; a client reads an expired row as
// recalled with expired set.
//
// The sweep walks every conversation. A cheap look at the conversation's
// stored progress (ExpiredThrough in its settings) and its next row
// decides whether its grain is asked at all; the grain then tombstones a
// bounded batch per request, in seq order, and stops at the first row not
// yet expired. One checkpoint (retentionSweepKey) holds the walk's
// position, so a sweep that stops goes on from there, on any node.

// retentionSweepKey is the checkpoint of the walk over all conversations.
const retentionSweepKey = "retention-sweep"

// expireBatch bounds the rows one ExpireMessages request reads: the
// conversation's sends wait behind at most one batch of tombstones.
const expireBatch = 64

// retentionStall is how long a sweep that stopped half-way (its node
// died, its context ended) is left alone before another node takes it up.
const retentionStall = 5 * time.Minute

var (
	metricExpired = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_retention_expired_total",
		Help: "Message rows whose content the retention sweep took out of the store.",
	})
	metricRetentionSwept = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_retention_last_sweep_timestamp_seconds",
		Help: "When the last retention sweep of every conversation that this node knows of finished, or this node's sweeps started (Unix seconds; 0: retention off).",
	})
)

func init() { prometheus.MustRegister(metricExpired, metricRetentionSwept) }

// contentClock judges whether a row's content can still be read: it has
// expired once it is older than retention keeps (cutoff), or once its own
// end (a disappearing message's ExpiresAt) is not after now.
type contentClock struct {
	cutoff time.Time // retention: content stored before it has expired (zero: kept for ever)
	now    time.Time
}

// contentClock is the clock of conversation conv's rows, read now.
func (n *Runtime) contentClock(conv string) contentClock {
	now := n.cfg.Now()
	kind, _ := KindOfID(conv)
	if r := n.cfg.retentionOf(kind); r > 0 {
		return contentClock{cutoff: now.Add(-r), now: now}
	}
	return contentClock{now: now}
}

// gone reports whether content stored at ts, ending at end (zero: no
// end of its own), has expired.
func (k contentClock) gone(ts, end time.Time) bool {
	return !k.cutoff.IsZero() && ts.Before(k.cutoff) || !end.IsZero() && !k.now.Before(end)
}

// holdsContent: the rows whose content retention takes (texts, cards,
// polls, their edits and updates). Reactions, votes, recall events and
// system messages keep theirs; a desk step loses the user's words only.
func holdsContent(m *storage.Message) bool {
	return m.Kind.Content()
}

// expiredAt reports whether m's content has expired by clock k.
func expiredAt(m *storage.Message, k contentClock) bool {
	return holdsContent(m) && k.gone(m.ServerTS, m.ExpiresAt)
}

// asOf is m as a reader sees it by clock k: an expired row recalled,
// without body or file (expired true); an old desk step without the words
// a user typed into it.
func asOf(m storage.Message, k contentClock) (_ storage.Message, expired bool) {
	switch {
	case !k.gone(m.ServerTS, m.ExpiresAt):
	case holdsContent(&m):
		m.Flags |= storage.FlagRecalled // as TombstoneMessage leaves it
		m.Body, m.Media, m.Location, m.Meta = nil, storage.MediaRef{}, nil, nil
		return m, true
	case m.Kind == storage.MsgSystem: // gone by retention: system messages have no end of their own
		if body, found := redactDeskBody(m.Body); found {
			m.Body = body
		}
	}
	return m, false
}

// readable is asOf for the wire.
func readable(m *storage.Message, k contentClock) *pb.Message {
	seen, expired := asOf(*m, k)
	out := toPBMessage(&seen)
	out.Expired = expired
	return out
}

// unexpired is m (a conversation list's last message, which a user grain
// keeps), or a copy without its content once it expired by clock k.
func unexpired(m *pb.Message, k contentClock) *pb.Message {
	if m == nil || !k.gone(time.UnixMilli(m.ServerTsMs), fromMillis(m.ExpiresAtMs)) {
		return m
	}
	switch m.Kind {
	case pb.MessageKind_NORMAL, pb.MessageKind_CARD, pb.MessageKind_POLL:
		c := cloneRecalled(m)
		c.Expired = true
		return c
	case pb.MessageKind_SYSTEM:
		if body, found := redactDeskBody(m.Body); found {
			c := proto.CloneOf(m)
			c.Body = body
			return c
		}
	}
	return m
}

// ErrRetentionOff: SweepRetention on a node that keeps every kind of
// conversation for ever.
var ErrRetentionOff = errors.New("retention is off (serve --retention)")

// retentionProgress is the sweep's checkpoint.
type retentionProgress struct {
	Cursor string `json:"cursor,omitempty"` // ListConversations' cursor of the next page
	Done   bool   `json:"done,omitempty"`   // the last sweep went through every conversation
}

// RetentionSweep says what one sweep did.
type RetentionSweep struct {
	Ran           bool // false: another node swept within the interval
	Conversations int  // conversations whose grain was asked to expire rows
	Expired       int  // rows whose content was taken out
	Failed        int  // conversations left for the next sweep after an error (logged)
}

// SweepRetention takes expired content out of the store (above), going on
// from where the last sweep stopped. It does nothing while another node's
// sweep finished within RetentionSweepInterval or is still making
// progress, unless force.
func (n *Runtime) SweepRetention(ctx context.Context, force bool) (RetentionSweep, error) {
	var res RetentionSweep
	if !n.cfg.retains() {
		return res, ErrRetentionOff
	}
	now := n.cfg.Now()
	var prog retentionProgress
	cp, err := n.store.LoadCheckpoint(ctx, retentionSweepKey)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return res, fmt.Errorf("read the retention sweep's checkpoint: %w", err)
	default:
		if err := json.Unmarshal(cp.State, &prog); err != nil {
			return res, fmt.Errorf("retention sweep's checkpoint: %w", err)
		}
		if prog.Done {
			metricRetentionSwept.Set(float64(cp.At.Unix())) // this node's or another's
		}
		since := now.Sub(cp.At)
		if !force && (prog.Done && since < n.cfg.RetentionSweepInterval || !prog.Done && since < retentionStall) {
			return res, nil
		}
	}
	if prog.Done {
		prog = retentionProgress{}
	}
	res.Ran = true
	for {
		const page = 100
		convs, next, err := n.store.ListConversations(ctx, prog.Cursor, page)
		if err != nil {
			return res, fmt.Errorf("list conversations: %w", err)
		}
		for i, out := range n.expirePage(ctx, convs, now) {
			res.Expired += out.expired
			if out.asked {
				res.Conversations++
			}
			if out.err != nil && ctx.Err() == nil {
				// One conversation's trouble (its node going away, a
				// damaged row) does not hold up the others': its progress
				// stays where it is, and the next sweep tries it again.
				res.Failed++
				n.log.Warn("retention sweep: conversation left for the next sweep", "conv", convs[i].ID, "err", out.err)
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		prog = retentionProgress{Cursor: next, Done: next == ""}
		state, _ := json.Marshal(prog)
		at := n.cfg.Now()
		if err := n.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: retentionSweepKey, State: state, At: at}); err != nil {
			return res, fmt.Errorf("save the retention sweep's checkpoint: %w", err)
		}
		if prog.Done {
			metricRetentionSwept.Set(float64(at.Unix()))
			return res, nil
		}
	}
}

// retentionWorkers is how many conversations of a page a sweep looks at
// at once: each look is two store reads in series (~7 ms on Cassandra),
// so a walk over many quiet conversations waits on round trips, not on
// work.
const retentionWorkers = 16

// expiredConv is what expireConversation did for one conversation.
type expiredConv struct {
	expired int
	asked   bool
	err     error
}

// expirePage runs expireConversation for each conversation of a page
// whose kind has a retention, retentionWorkers at a time.
func (n *Runtime) expirePage(ctx context.Context, convs []storage.Conversation, now time.Time) []expiredConv {
	outs := make([]expiredConv, len(convs))
	slots := make(chan struct{}, retentionWorkers)
	var wg sync.WaitGroup
	for i, c := range convs {
		r := n.cfg.retentionOf(c.Kind)
		if r <= 0 {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			o := &outs[i]
			o.expired, o.asked, o.err = n.expireConversation(ctx, c.ID, now.Add(-r))
		})
	}
	wg.Wait()
	return outs
}

// expireConversation asks conv's grain to expire its rows written before
// before, batch by batch, when its next row not yet done is that old.
func (n *Runtime) expireConversation(ctx context.Context, conv string, before time.Time) (expired int, asked bool, err error) {
	s, err := readSettings(ctx, n.store, conv)
	if err != nil {
		return 0, false, fmt.Errorf("settings of %s: %w", conv, err)
	}
	next, err := n.store.ListMessages(ctx, conv, s.ExpiredThrough+1, 0, storage.OldestFirst, 1)
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", conv, err)
	}
	if len(next) == 0 || !next[0].ServerTS.Before(before) {
		return 0, false, nil
	}
	for {
		res, err := n.request(ctx, KindConversation, conv, &pb.ExpireMessages{Conv: conv, BeforeMs: before.UnixMilli()})
		if err == nil {
			err = fromPB(res.(*pb.ExpireMessagesResponse).Error)
		}
		if err != nil {
			return expired, true, fmt.Errorf("expire the messages of %s: %w", conv, err)
		}
		r := res.(*pb.ExpireMessagesResponse)
		expired += int(r.Expired)
		if !r.More {
			return expired, true, nil
		}
	}
}

// startRetentionSweep runs SweepRetention about every
// RetentionSweepInterval (jittered, so the nodes of a cluster take turns)
// until stop.
func (n *Runtime) startRetentionSweep() (stop func()) {
	if !n.cfg.retains() {
		return func() {}
	}
	metricRetentionSwept.SetToCurrentTime() // the alert counts from here until a sweep finishes
	// Every node of a cluster must be given the same retention: say it, so
	// a node started with others can be told from the logs.
	c := &n.cfg
	n.log.Info("retention on: older message content reads as expired and is swept out of the store",
		"direct", c.retentionOf(storage.KindDirect), "group", c.retentionOf(storage.KindGroup),
		"service", c.retentionOf(storage.KindService), "sweep_interval", c.RetentionSweepInterval)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			every := n.cfg.RetentionSweepInterval
			select {
			case <-ctx.Done():
				return
			case <-time.After(every/2 + rand.N(every)):
			}
			res, err := n.SweepRetention(ctx, false)
			switch {
			case err != nil && ctx.Err() == nil:
				n.log.Warn("retention sweep", "err", err, "expired", res.Expired)
			case res.Expired > 0 || res.Failed > 0:
				n.log.Info("retention sweep took expired content out", "rows", res.Expired,
					"conversations", res.Conversations, "failed", res.Failed)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// expire takes the content out of the conversation's rows written before
// m.BeforeMs, from the row after its stored progress, at most expireBatch
// rows, and stops at the first row not that old: each row is judged by
// its own time, so a later row is not looked at before it.
func (c *conversation) expire(ctx actor.Context, m *pb.ExpireMessages) {
	sender := ctx.Sender()
	reply := func(r *pb.ExpireMessagesResponse) { respond(ctx, sender, r) }
	if !c.ready(func(e *pb.Error) { reply(&pb.ExpireMessagesResponse{Error: e}) }) {
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(&pb.ExpireMessagesResponse{Error: storeErr(err)})
		return
	}
	res := &pb.ExpireMessagesResponse{Through: s.ExpiredThrough}
	if s.ExpiredThrough >= c.durable {
		reply(res)
		return
	}
	bg := context.Background()
	rows, err := c.rt.store.ListMessages(bg, c.id, s.ExpiredThrough+1, c.durable, storage.OldestFirst, expireBatch)
	if err != nil {
		reply(&pb.ExpireMessagesResponse{Error: storeErr(err)})
		return
	}
	before := time.UnixMilli(m.BeforeMs)
	// The rows to do: up to the first not yet expired, or being adopted
	// (its adoption rewrites the row as it read it: a tombstone written
	// meanwhile could be undone; the next sweep takes it).
	due := len(rows)
	for i := range rows {
		if !rows[i].ServerTS.Before(before) || c.beingAdopted(&rows[i]) {
			due = i
			break
		}
	}
	stopped := due < len(rows)
	took, errs := c.expireRows(bg, rows[:due])
	var unpin []uint64
	for i := range rows[:due] {
		if errs[i] != nil {
			// In seq order: the rows after it are done again next time
			// (taking out what is gone changes nothing).
			res.Error, stopped = storeErr(errs[i]), true
			break
		}
		if took[i] {
			res.Expired++
			metricExpired.Inc()
			if slices.Contains(s.Pinned, rows[i].Seq) {
				unpin = append(unpin, rows[i].Seq)
			}
		}
		res.Through = rows[i].Seq
	}
	if c.lastMsg != nil && c.lastMsg.Seq > s.ExpiredThrough && c.lastMsg.Seq <= res.Through {
		last, _ := asOf(*c.lastMsg, contentClock{cutoff: before, now: c.rt.cfg.Now()}) // as the store now holds it
		c.lastMsg = &last
	}
	res.More = !stopped && len(rows) == expireBatch && res.Through < c.durable
	if res.Through > s.ExpiredThrough {
		next := *s
		next.ExpiredThrough = res.Through
		next.Pinned = slices.DeleteFunc(slices.Clone(s.Pinned), func(seq uint64) bool { return slices.Contains(unpin, seq) })
		if err := c.saveSettings(&next); err != nil {
			// The rows are done; the next sweep reads them again and finds
			// nothing to take.
			res.Error, res.More = storeErr(err), false
		}
	}
	reply(res)
}

// beingAdopted reports whether an adoption of row is in flight: it will
// rewrite the row as it read it, so a tombstone written meanwhile could
// be undone, and a sweep leaves the row for its next round.
func (c *conversation) beingAdopted(row *storage.Message) bool {
	d, ok := c.dedupe[dedupeKey{row.Sender, row.ClientMsgID}]
	return ok && d.adopting && d.seq == row.Seq
}

// expireRows runs expireRow for every row of a batch (at most
// expireBatch) at once: one store write each, so they share the embedded
// store's WAL syncs (and overlap Cassandra's round trips) instead of
// waiting for one each (BenchmarkRetentionSweep: 20× faster than one by
// one). It answers each row's result.
func (c *conversation) expireRows(bg context.Context, rows []storage.Message) (took []bool, errs []error) {
	took, errs = make([]bool, len(rows)), make([]error, len(rows))
	var wg sync.WaitGroup
	for i := range rows {
		wg.Go(func() { took[i], errs[i] = c.expireRow(bg, &rows[i]) })
	}
	wg.Wait()
	return took, errs
}

// expireRow takes row's content out of the store: it tombstones a text or
// a card (with its file), and takes a user's words out of a desk step. It
// reports whether it changed the row. It touches the store alone, so rows
// go several at once.
func (c *conversation) expireRow(bg context.Context, row *storage.Message) (bool, error) {
	switch {
	case holdsContent(row) && !row.Recalled():
		if row.Media.ID != "" {
			if err := c.rt.store.DeleteMedia(bg, c.id, row.Media.ID); err != nil {
				return false, err
			}
		}
		if row.Kind == storage.MsgPoll && row.RefSeq == 0 {
			if err := purgePollSnapshot(bg, c.rt.store, c.id, row.Seq); err != nil {
				return false, err
			}
		}
		return true, c.rt.store.TombstoneMessage(bg, c.id, row.Seq)
	case row.Kind == storage.MsgSystem && c.kind == storage.KindService:
		body, found := redactDeskBody(row.Body)
		if !found {
			return false, nil
		}
		return true, c.rt.store.RedactMessage(bg, c.id, row.Seq, body)
	}
	return false, nil
}
