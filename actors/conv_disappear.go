package actors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Disappearing messages (a marketplace chat where a phone number should
// not stay for ever, a class chat that keeps only this week's): a
// conversation's timer, set by either member of a direct conversation or
// by a group's owners and admins, makes every message sent while it is on
// disappear that long after it was sent. A change is a system message,
// and holds for the messages sent after it; those sent before keep their
// end.
//
// The grain stamps each new text, card or poll with its end
// (storage.Message.ExpiresAt); an edit, a card's update or a poll's close
// takes the end of what it revises. So every reader judges a row by the
// row alone (contentClock): from its end on, history, sync, search,
// summaries and files serve it expired, as retention does.
//
// The content then leaves the store. The settings keep the spans of seqs
// sent under each timer (disappearSpan), whose ends rise with the seq
// within a span, and how far the sweep got in each. The node's schedule
// keeps one row per conversation (disappearRowUser), due at its next end,
// so whichever node's schedule sweep finds it due wakes the grain
// (SweepDisappeared): it tombstones the rows whose end has come, span by
// span, stopping in each at the first not yet due, and moves the row to
// the next end or deletes it. A send moves the row only when none is due
// before its end: one store write per sweep, not one per message.

// disappearSpan: the messages from seq From to To (0: to the newest, the
// timer still on) were sent with a timer of AfterMs; the sweep took the
// content out of every row through Through.
type disappearSpan struct {
	From    uint64 `json:"from"`
	To      uint64 `json:"to,omitempty"`
	AfterMs int64  `json:"after_ms"`
	Through uint64 `json:"through,omitempty"`
}

// maxDisappearSpans bounds the spans the settings keep. Past it the two
// oldest merge: their rows' ends no longer rise with the seq, so a row's
// content may leave the store only when an earlier row's end comes
// (readers stop seeing each at its own end all the same).
const maxDisappearSpans = 16

var metricDisappeared = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_disappeared_messages_total",
	Help: "Disappearing messages whose content the sweep took out of the store at their end.",
})

func init() { prometheus.MustRegister(metricDisappeared) }

// disappearRowID is the id of a conversation's sweep row in the schedule.
const disappearRowID = "disappear"

// disappearRowUser is the schedule's owner of conv's sweep row: no user
// id has a '#', and a hash keeps it within the store's id bound.
func disappearRowUser(conv string) string {
	h := sha256.Sum256([]byte(conv))
	return "#disappear:" + hex.EncodeToString(h[:16])
}

// disappearAfter is the conversation's timer (0: off).
func (s *groupSettings) disappearAfter() time.Duration {
	if n := len(s.Disappearing); n > 0 && s.Disappearing[n-1].To == 0 {
		return time.Duration(s.Disappearing[n-1].AfterMs) * time.Millisecond
	}
	return 0
}

// Disappearing reads conv's timer for disappearing messages as user or,
// with afterMs set, changes it (0: off; else between
// Config.MinDisappearAfter and MaxDisappearAfter): either member of a
// direct conversation, a group's owners and admins; a service
// conversation keeps its record. It answers the timer and the seq of the
// system message recording a change (0: nothing changed).
func (n *Runtime) Disappearing(ctx context.Context, conv, user string, afterMs *int64) (time.Duration, uint64, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return 0, 0, err
	}
	if err := n.checkDisappearAfter(afterMs); err != nil {
		return 0, 0, err
	}
	return n.disappearing(ctx, &pb.SetDisappearing{Conv: conv, Actor: user, AfterMs: afterMs})
}

// DisappearingAsOperator is Disappearing for the operator (the admin API:
// a school that keeps its class chats a week): any direct conversation or
// group, the change recorded as OperatorSender's. A service conversation
// keeps its record.
func (n *Runtime) DisappearingAsOperator(ctx context.Context, conv string, afterMs *int64) (time.Duration, uint64, error) {
	if err := checkConv(conv); err != nil {
		return 0, 0, err
	}
	if err := n.checkDisappearAfter(afterMs); err != nil {
		return 0, 0, err
	}
	return n.disappearing(ctx, &pb.SetDisappearing{Conv: conv, AfterMs: afterMs, Operator: true})
}

// checkDisappearAfter checks a timer's bounds (nil: a read).
func (n *Runtime) checkDisappearAfter(afterMs *int64) error {
	if a := afterMs; a != nil && *a != 0 {
		lo, hi := n.cfg.MinDisappearAfter, n.cfg.MaxDisappearAfter
		if *a < lo.Milliseconds() || *a > hi.Milliseconds() { // in ms: a Duration of a huge one wraps
			return invalid("a timer of %d ms: want 0 (off) or %v to %v", *a, lo, hi)
		}
	}
	return nil
}

func (n *Runtime) disappearing(ctx context.Context, req *pb.SetDisappearing) (time.Duration, uint64, error) {
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return 0, 0, err
	}
	r := res.(*pb.DisappearingResponse)
	return time.Duration(r.AfterMs) * time.Millisecond, r.Seq, fromPB(r.Error)
}

func (c *conversation) disappearing(ctx actor.Context, m *pb.SetDisappearing) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, after time.Duration, seq uint64) {
		respond(ctx, sender, &pb.DisappearingResponse{Error: e, AfterMs: after.Milliseconds(), Seq: seq})
	}
	if !c.ready(func(e *pb.Error) { reply(e, 0, 0) }) {
		return
	}
	action := ActHistory
	if m.AfterMs != nil {
		action = ActDisappearing
	}
	by := m.Actor
	switch {
	case m.Operator && c.kind == storage.KindService:
		reply(pbErr(pb.Code_FORBIDDEN, "%s is a service conversation: it keeps its record", c.id), 0, 0)
		return
	case m.Operator:
		by = OperatorSender
	default:
		if e := authorize(c.kind, c.id, m.Actor, c.members[m.Actor], action); e != nil {
			reply(e, 0, 0)
			return
		}
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), 0, 0)
		return
	}
	cur := s.disappearAfter()
	if m.AfterMs == nil || *m.AfterMs == cur.Milliseconds() {
		reply(nil, cur, 0)
		return
	}
	after := time.Duration(*m.AfterMs) * time.Millisecond
	next := *s
	next.Disappearing = slices.Clone(s.Disappearing)
	if cur > 0 {
		next.Disappearing[len(next.Disappearing)-1].To = c.lastSeq // sent under the old timer
	}
	if after > 0 {
		// From the change's own seq (enqueue gives it next): a system
		// message has no end, and the sweep passes over it.
		next.Disappearing = append(next.Disappearing, disappearSpan{From: c.lastSeq + 1, AfterMs: *m.AfterMs})
	}
	next.Disappearing = pruneSpans(next.Disappearing)
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), 0, 0)
		return
	}
	c.settingsEvent(ctx, by, map[string]any{"op": "disappear", "actor": by, "after_ms": *m.AfterMs},
		func(e *pb.Error, seq uint64) { reply(e, after, seq) })
}

// pruneSpans drops the closed spans that hold nothing left to sweep (or
// nothing at all), and merges the two oldest while there are too many.
func pruneSpans(spans []disappearSpan) []disappearSpan {
	spans = slices.DeleteFunc(spans, func(sp disappearSpan) bool {
		return sp.To != 0 && (sp.From > sp.To || sp.Through >= sp.To)
	})
	for len(spans) > maxDisappearSpans {
		a, b := spans[0], spans[1]
		merged := disappearSpan{From: a.From, To: b.To, AfterMs: max(a.AfterMs, b.AfterMs), Through: a.Through}
		spans = append([]disappearSpan{merged}, spans[2:]...)
	}
	return spans
}

// stampEnd gives msg, about to be written, its end: a new text, card or
// poll the timer's from its server time; a revision (an edit, a card's
// update, a poll's close) the end of the row it revises, which must not
// have come. A conversation that never had a timer reads nothing.
func (c *conversation) stampEnd(msg *storage.Message) *pb.Error {
	if !msg.Kind.Content() || c.kind == storage.KindService {
		return nil
	}
	s, err := c.loadSettings()
	if err != nil {
		return storeErr(err)
	}
	if msg.RefSeq == 0 {
		if after := s.disappearAfter(); after > 0 {
			msg.ExpiresAt = msg.ServerTS.Add(after)
		}
		return nil
	}
	if len(s.Disappearing) == 0 {
		return nil
	}
	target, err := c.rt.store.GetMessage(context.Background(), c.id, msg.RefSeq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return pbErr(pb.Code_NOT_FOUND, "no message %d in %s", msg.RefSeq, c.id)
	case err != nil:
		return storeErr(err)
	case expiredAt(&target, c.rt.contentClock(c.id)):
		return pbErr(pb.Code_NOT_FOUND, "message %d of %s has disappeared", msg.RefSeq, c.id)
	}
	msg.ExpiresAt = target.ExpiresAt
	return nil
}

// disappearEnd stamps msg's end (stampEnd) and, when it has one, makes
// sure the sweep comes for it (armSweep).
func (c *conversation) disappearEnd(msg *storage.Message) *pb.Error {
	if e := c.stampEnd(msg); e != nil || msg.ExpiresAt.IsZero() {
		return e
	}
	return c.armSweep(msg.ExpiresAt)
}

// armSweep makes sure the conversation's sweep row is due at end or
// before: the first time in an activation it reads where the row stands.
func (c *conversation) armSweep(end time.Time) *pb.Error {
	bg := context.Background()
	if !c.sweepArmKnown {
		rows, err := c.rt.store.ScheduledOf(bg, disappearRowUser(c.id), 1)
		if err != nil {
			return storeErr(err)
		}
		if len(rows) > 0 {
			c.sweepArmedAt = rows[0].DueAt
		}
		c.sweepArmKnown = true
	}
	if !c.sweepArmedAt.IsZero() && !c.sweepArmedAt.After(end) {
		return nil
	}
	return c.moveSweep(bg, end)
}

// moveSweep puts the conversation's sweep row at end (zero: deletes it).
func (c *conversation) moveSweep(bg context.Context, end time.Time) *pb.Error {
	user := disappearRowUser(c.id)
	if end.IsZero() {
		if err := c.rt.store.DeleteScheduled(bg, user, disappearRowID); err != nil {
			return storeErr(err)
		}
		c.sweepArmedAt, c.sweepArmKnown = time.Time{}, true
		return nil
	}
	// The store keeps milliseconds: round up, so the row is never due
	// before the end it stands for.
	if r := end.Truncate(time.Millisecond); r.Before(end) {
		end = r.Add(time.Millisecond)
	}
	payload, err := proto.Marshal(&pb.ScheduledMessage{DisappearConv: c.id})
	if err != nil {
		return pbErr(pb.Code_INTERNAL, "encode the sweep of %s: %v", c.id, err)
	}
	row := storage.ScheduledSend{User: user, ID: disappearRowID, DueAt: end, CreatedAt: time.Now(), Send: payload}
	if err := c.rt.store.PutScheduled(bg, row); err != nil {
		return storeErr(err)
	}
	c.sweepArmedAt, c.sweepArmKnown = end, true
	return nil
}

// sweepDisappeared takes the content out of the rows whose end has come,
// at most expireBatch rows read, then moves the sweep row to the next end
// (More: a batch was full, ask again first).
func (c *conversation) sweepDisappeared(ctx actor.Context, _ *pb.SweepDisappeared) {
	sender := ctx.Sender()
	reply := func(r *pb.SweepDisappearedResponse) { respond(ctx, sender, r) }
	if !c.ready(func(e *pb.Error) { reply(&pb.SweepDisappearedResponse{Error: e}) }) {
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(&pb.SweepDisappearedResponse{Error: storeErr(err)})
		return
	}
	bg := context.Background()
	now := c.rt.cfg.Now()
	spans := slices.Clone(s.Disappearing)
	res := &pb.SweepDisappearedResponse{}
	var nextEnd time.Time
	soonest := func(t time.Time) {
		if nextEnd.IsZero() || t.Before(nextEnd) {
			nextEnd = t
		}
	}
	var unpin []uint64
	budget := expireBatch
	for i := range spans {
		sp := &spans[i]
		to := sp.To
		if to == 0 || to > c.durable {
			to = c.durable
		}
		from := max(sp.From, sp.Through+1)
		if from > to {
			continue
		}
		if budget == 0 {
			res.More = true
			break
		}
		rows, err := c.rt.store.ListMessages(bg, c.id, from, to, storage.OldestFirst, budget)
		if err != nil {
			res.Error = storeErr(err)
			break
		}
		// The rows to do: up to the first whose end has not come, or
		// being adopted (its adoption rewrites the row as it read it).
		due := len(rows)
		for j := range rows {
			row := &rows[j]
			if c.beingAdopted(row) {
				due = j
				soonest(now.Add(time.Second))
				break
			}
			if !row.ExpiresAt.IsZero() && now.Before(row.ExpiresAt) {
				due = j
				soonest(row.ExpiresAt)
				break
			}
		}
		// Only rows with an end of their own go: a revision of a message
		// sent before the timer stays as that message does.
		ending := slices.DeleteFunc(slices.Clone(rows[:due]), func(m storage.Message) bool { return m.ExpiresAt.IsZero() })
		took, errs := c.expireRows(bg, ending)
		failed := false
		for j := range ending {
			if errs[j] != nil {
				res.Error, failed = storeErr(errs[j]), true
				break
			}
			if took[j] {
				res.Swept++
				metricDisappeared.Inc()
				if slices.Contains(s.Pinned, ending[j].Seq) {
					unpin = append(unpin, ending[j].Seq)
				}
			}
		}
		if failed {
			// The rows before the failed one are done; the next sweep
			// reads them again and finds nothing to take.
			break
		}
		if due > 0 {
			sp.Through = rows[due-1].Seq
		}
		// The budget counts the rows done, so a span whose next row is
		// not due never makes the caller ask again.
		budget -= due
		if due == len(rows) && sp.Through < to && budget == 0 {
			res.More = true
		}
	}
	if c.lastMsg != nil && expiredAt(c.lastMsg, contentClock{now: now}) {
		last, _ := asOf(*c.lastMsg, contentClock{now: now}) // as the store now holds it
		c.lastMsg = &last
	}
	next := *s
	next.Disappearing = pruneSpans(spans)
	next.Pinned = slices.DeleteFunc(slices.Clone(s.Pinned), func(seq uint64) bool { return slices.Contains(unpin, seq) })
	if !slices.Equal(next.Disappearing, s.Disappearing) || len(unpin) > 0 {
		if err := c.saveSettings(&next); err != nil && res.Error == nil {
			res.Error = storeErr(err)
		}
	}
	if res.Error != nil || res.More {
		reply(res) // the row stays due: the schedule's next sweep (or the caller) asks again
		return
	}
	// Sends still in flight were armed for when they were stamped.
	for _, p := range c.pending {
		if !p.msg.ExpiresAt.IsZero() {
			soonest(p.msg.ExpiresAt)
		}
	}
	res.Error = c.moveSweep(bg, nextEnd)
	reply(res)
}

// disappearDue hands a conversation's due sweep row to its grain, batch
// after batch; the grain moves or deletes the row. done false: refused
// for now, the row stays for the next sweep.
func (n *Runtime) disappearDue(ctx context.Context, s storage.ScheduledSend, conv string) (done bool, err error) {
	for {
		sctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
		res, err := n.request(sctx, KindConversation, conv, &pb.SweepDisappeared{Conv: conv})
		cancel()
		if err == nil {
			err = fromPB(res.(*pb.SweepDisappearedResponse).Error)
		}
		switch code := CodeOf(err); {
		case err == nil && res.(*pb.SweepDisappearedResponse).More:
			continue
		case err == nil:
			return true, nil
		case ctx.Err() != nil:
			return false, nil // the node stops: the next sweep goes on
		case refusedForNow(code):
			return false, nil
		default:
			// The conversation is gone, or its grain cannot read its
			// settings: its readers judge every row by its end all the
			// same; nothing is left for this row to do.
			n.log.Warn("the sweep of a conversation's disappearing messages was refused; its row is dropped", "conv", conv, "err", err)
			return true, n.deleteScheduled(ctx, s)
		}
	}
}
