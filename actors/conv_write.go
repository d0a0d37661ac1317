package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The conversation grain's write pipeline: checks, dedupe, seq assignment,
// batched appends that never block the mailbox, acks in seq order once
// durable, fencing, and the fan-out of what became durable.

func (c *conversation) send(ctx actor.Context, m *pb.SendMessage) {
	sender := ctx.Sender()
	now := time.Now()
	reply := func(e *pb.Error) {
		observeSend(e)
		respond(ctx, sender, &pb.SendResponse{Error: e})
	}
	if !c.ready(reply) {
		return
	}
	mem := c.members[m.Sender]
	if e := authorize(c.kind, c.id, m.Sender, mem, ActSend); e != nil {
		reply(e)
		return
	}
	if e := c.blockRefusal(m.Sender, "write"); e != nil {
		reply(e)
		return
	}
	switch {
	case mem.Muted && mem.MutedAt(time.Now()): // the clock read only for a muted member
		if !mem.MutedUntil.IsZero() {
			reply(pbErr(pb.Code_MUTED, "%s is muted in %s until %v", m.Sender, c.id, mem.MutedUntil.UTC().Format(time.RFC3339)))
			return
		}
		reply(pbErr(pb.Code_MUTED, "%s is muted in %s", m.Sender, c.id))
		return
	}
	if e := c.adminsOnly(m, mem); e != nil {
		reply(e)
		return
	}
	switch {
	case len(m.Body) > c.rt.cfg.MaxBodyBytes:
		reply(pbErr(pb.Code_TOO_LARGE, "message body is %d bytes, limit %d", len(m.Body), c.rt.cfg.MaxBodyBytes))
		return
	case len(m.Body) == 0 && !wirepb.EmptyBodyAllowed(wirepb.MessageKind(m.Kind), m.RefSeq, m.MediaId != "" || m.Location != nil):
		reply(pbErr(pb.Code_INVALID, "empty message body"))
		return
	}
	// The store's rule for ids (length, UTF-8, no NUL): a message the
	// store would refuse must be refused here, alone, before it joins a
	// batch whose failure would cost the whole activation.
	if err := c.rt.limits.CheckOptionalID("client message", m.ClientMsgId); err != nil {
		reply(pbErr(pb.Code_INVALID, "%v", err))
		return
	}
	// An anonymous poll's vote is stored, and deduped, as its alias.
	storedSender, e := c.voteSender(m)
	if e != nil {
		reply(e)
		return
	}
	if m.ClientMsgId != "" {
		key := dedupeKey{storedSender, m.ClientMsgId}
		if d, ok := c.dedupe[key]; ok {
			switch {
			case d.loaded && !c.noEpoch:
				c.adopt(ctx, key, d, sender)
			case d.seq <= c.durable:
				respond(ctx, sender, d.answer(key))
			case sender != nil:
				d.waiting = append(d.waiting, sender)
				c.dedupe[key] = d
			}
			return
		}
	}
	// After the dedupe: a resend of a message accepted before a freeze is
	// answered with it, not refused.
	if e := c.checkFrozen(); e != nil {
		reply(e)
		return
	}
	if !c.limiter(m.Sender).AllowN(now, 1) {
		reply(pbErr(pb.Code_RATE_LIMITED, "%s sends faster than %.0f messages/s in %s", m.Sender, c.rt.cfg.SendRate, c.id))
		return
	}
	if e := c.checkMeta(m); e != nil {
		reply(e)
		return
	}
	if e := c.checkLocation(m); e != nil { // before the file is looked up: not both
		reply(e)
		return
	}
	media, e := c.attachment(m)
	if e != nil {
		reply(e)
		return
	}
	if e := c.checkKind(m); e != nil {
		reply(e)
		return
	}
	if e := c.checkReply(m, mem); e != nil {
		reply(e)
		return
	}
	if e := c.checkMentions(m, mem); e != nil {
		reply(e)
		return
	}
	mentions, e := c.replyMentions(m)
	if e != nil {
		reply(e)
		return
	}
	var flags uint32
	flagged, e := c.checkWords(m.Sender, m.Body)
	if e != nil {
		reply(e)
		return
	}
	if m.Location != nil && m.Location.Name != "" { // a place's name is a text too
		nameFlagged, e := c.checkWords(m.Sender, []byte(m.Location.Name))
		if e != nil {
			reply(e)
			return
		}
		flagged = flagged || nameFlagged
	}
	body, contactFlagged, masked, e := c.screenContacts(m, mem.Role)
	if e != nil {
		reply(e)
		return
	}
	placeFlagged, placeMasked, e := c.screenPlaceName(m, mem.Role)
	if e != nil {
		reply(e)
		return
	}
	contactFlagged = contactFlagged || placeFlagged
	body, answer := takeQuizAnswer(storage.MessageKind(m.Kind), m.RefSeq, body) // a quiz's answer is kept apart
	salt := newPollSalt(storage.MessageKind(m.Kind), m.RefSeq, body)
	if flagged || contactFlagged {
		flags |= storage.FlagFlagged
	}
	if masked || placeMasked {
		flags |= storage.FlagMasked
	}
	if m.Forwarded {
		flags = storage.WithForwardHops(flags|storage.FlagForwarded, max(m.ForwardHops, 1))
	}
	// Slow mode last: a message refused for anything else keeps the
	// member's turn.
	undoSlow, e := c.checkSlowMode(m, mem)
	if e != nil {
		reply(e)
		return
	}
	msg := storage.Message{
		ConvID: c.id, MsgID: c.rt.ids.next(now), ClientMsgID: m.ClientMsgId, Sender: storedSender,
		SenderRole: senderRole(mem.Role), Kind: storage.MessageKind(m.Kind), RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Mentions: mentions, Media: media, Body: body, Flags: flags,
		ClientTS: fromMillis(m.ClientTsMs), ServerTS: now, Location: locationFromPB(m.Location), // a move's end set by checkMove
		Meta: m.Meta,
	}
	if e := c.disappearEnd(&msg); e != nil {
		undoSlow()
		reply(e)
		return
	}
	if e := c.claimAttachment(media, c.lastSeq+1); e != nil { // the seq enqueue gives it
		undoSlow()
		reply(e)
		return
	}
	if answer != nil || salt != nil {
		if e := c.keepPollSecrets(c.lastSeq+1, answer, salt); e != nil { // the seq enqueue gives it
			undoSlow()
			reply(e)
			return
		}
	}
	// A recall of its message waits for an edit or a card update queued
	// here (conv_recall.go), so none lands after the recall's tombstones.
	revision := msg.Edit() || (msg.Kind == storage.MsgCard && msg.RefSeq != 0)
	if revision {
		c.editing[msg.RefSeq]++
	}
	c.enqueue(ctx, &msg, func(e *pb.Error) {
		if revision {
			if c.editing[msg.RefSeq]--; c.editing[msg.RefSeq] <= 0 {
				delete(c.editing, msg.RefSeq)
			}
		}
		if e != nil {
			undoSlow()
			reply(e)
			return
		}
		observeSend(nil)
		observeAck(now)
		res := &pb.SendResponse{MsgId: msg.MsgID, Seq: msg.Seq, ServerTsMs: millis(now), Flagged: flags&storage.FlagFlagged != 0, ExpiresAtMs: millis(msg.ExpiresAt),
			VoterAlias: voterAlias(storedSender)}
		if masked || answer != nil {
			res.StoredBody = body // the sender's device shows what the others see
		}
		if placeMasked {
			res.Location = locationToPB(msg.Location) // likewise its place's name
		}
		respond(ctx, sender, res)
	})
}

func (c *conversation) limiter(user string) *rate.Limiter {
	l, ok := c.limiters[user]
	if !ok {
		if len(c.limiters) > 10000 {
			clear(c.limiters) // bounded memory; a cleared sender starts with a full burst
		}
		l = rate.NewLimiter(rate.Limit(c.rt.cfg.SendRate), c.rt.cfg.SendBurst)
		c.limiters[user] = l
	}
	return l
}

// enqueue assigns the next seq to msg and queues it for the next group
// commit; reply runs once it is durable (or failed).
func (c *conversation) enqueue(ctx actor.Context, msg *storage.Message, reply func(*pb.Error)) bool {
	seq := c.lastSeq + 1
	if e := c.reserveFor(ctx, seq); e != nil {
		reply(e)
		return false
	}
	c.lastSeq = seq
	msg.Seq = seq
	c.pending = append(c.pending, &pendingWrite{msg: *msg, reply: reply})
	c.unflushed = append(c.unflushed, *msg)
	c.remember(msg, nil)
	if !c.flushScheduled {
		// The flush goes to the back of the mailbox: every send already
		// queued joins this batch.
		c.flushScheduled = true
		ctx.Send(ctx.Self(), flushNow{})
	}
	return true
}

func (c *conversation) remember(m *storage.Message, waiting []*actor.PID) {
	if m.ClientMsgID == "" {
		return
	}
	key := dedupeKey{m.Sender, m.ClientMsgID}
	if _, ok := c.dedupe[key]; !ok {
		if len(c.ring) < c.rt.cfg.DedupeWindow {
			c.ring = append(c.ring, key)
		} else {
			delete(c.dedupe, c.ring[c.ringNext])
			c.ring[c.ringNext] = key
			c.ringNext = (c.ringNext + 1) % len(c.ring)
		}
	}
	d := dedupeEntry{seq: m.Seq, msgID: m.MsgID, serverTS: m.ServerTS, flagged: m.Flags&storage.FlagFlagged != 0, waiting: waiting}
	if m.Flags&storage.FlagMasked != 0 {
		d.storedBody = m.Body
	}
	c.dedupe[key] = d
}

// answer is what a retry of the acknowledged send key is told: the
// first answer, marked duplicate (with the stored body when the policy
// masked it, so every answer shows the sender what the others see, and
// an anonymous vote's alias).
func (d dedupeEntry) answer(key dedupeKey) *pb.SendResponse {
	return &pb.SendResponse{MsgId: d.msgID, Seq: d.seq, ServerTsMs: millis(d.serverTS), Duplicate: true, Flagged: d.flagged, StoredBody: d.storedBody,
		VoterAlias: voterAlias(key.sender)}
}

func (c *conversation) flush(ctx actor.Context) {
	c.flushScheduled = false
	if len(c.unflushed) == 0 || c.fenced {
		return
	}
	self, root := ctx.Self(), c.rt.system.Root
	maxBatch := c.rt.limits.MaxBatch
	for len(c.unflushed) > 0 {
		n := min(len(c.unflushed), maxBatch)
		batch := c.unflushed[:n:n]
		c.unflushed = c.unflushed[n:]
		f := &flight{first: batch[0].Seq, last: batch[n-1].Seq, done: make(chan error, 1)}
		c.inflight = append(c.inflight, f)
		c.rt.store.AppendMessagesAsync(context.Background(), c.id, c.epoch, batch, func(err error) {
			f.done <- err
			root.Send(self, &appendDone{f: f, err: err})
		})
	}
	c.unflushed = nil
}

// appended handles a group commit's completion: acks flow back in seq order.
func (c *conversation) appended(ctx actor.Context, d *appendDone) {
	i := slices.Index(c.inflight, d.f)
	if i < 0 {
		return // settled already
	}
	c.inflight = slices.Delete(c.inflight, i, i+1)
	c.settle(ctx, d.f, d.err)
}

// settle records a batch's outcome and answers every pending write that is
// decided, in seq order. A failed batch is never acknowledged: its writes
// are answered RETRY (STORAGE_UNAVAILABLE, or INVALID for the message the
// store refuses) and, unless the store wrote nothing, the activation is
// fenced (rows of a batch that lost its epoch may still show until the
// new activation supersedes them; a retry the new activation finds in its
// reloaded window is answered as a duplicate); batches already in flight
// behind it still get their own outcome, so a message that became durable
// is acked, never retried into a second copy.
func (c *conversation) settle(ctx actor.Context, f *flight, err error) {
	refused := errors.Is(err, storage.ErrInvalid) || errors.Is(err, storage.ErrTooLarge)
	if refused {
		// The grain checks every rule of the store before a seq is given,
		// so this is a rule it missed: worth a report, not an activation.
		c.log.Error("the store refused a batch the conversation accepted", "first", f.first, "last", f.last, "err", err)
	}
	if len(c.pending) > 0 {
		base := c.pending[0].msg.Seq
		for s := max(f.first, base); s <= f.last && s-base < uint64(len(c.pending)); s++ {
			p := c.pending[s-base]
			switch {
			case err == nil:
				p.state = writeDurable
			case refused:
				p.state, p.err = writeFailed, c.refusal(p)
			default:
				p.state = writeFailed
				if errors.Is(err, storage.ErrUnavailable) {
					p.err = storeErr(err)
				}
			}
		}
	}
	// The store refusing writes (disk full) or refusing a batch's content
	// (it wrote nothing) is no reason to give up the activation: the
	// failed seqs are never handed out again (a later batch may be durable
	// above them; the next activation fills the gap). A batch refused
	// whole must not fence: the refused message would be retried into
	// every new activation, and its batch-mates with it.
	if err != nil && !c.fenced && !errors.Is(err, storage.ErrUnavailable) && !refused {
		c.log.Warn("append failed; giving up this activation", "first", f.first, "last", f.last, "err", err)
		c.fence(ctx, err) // answers what it can itself
		return
	}
	c.answer(ctx)
}

// refusal is the answer to a write whose batch the store refused as
// invalid: INVALID for the message the store refuses alone, RETRY for its
// batch-mates (their retry takes a new seq in another batch).
func (c *conversation) refusal(p *pendingWrite) *pb.Error {
	if err := c.rt.limits.CheckMessages(c.id, []storage.Message{p.msg}); err != nil {
		return pbErr(pb.Code_INVALID, "the store refuses this message: %v", err)
	}
	return pbErr(pb.Code_RETRY, "a message written with this one was refused; send again")
}

// answer pops the decided writes off the front of the pending queue.
func (c *conversation) answer(ctx actor.Context) {
	var msgs []*pb.Message
	for len(c.pending) > 0 && c.pending[0].state != writeWaiting {
		p := c.pending[0]
		c.pending = c.pending[1:]
		var key dedupeKey
		if p.msg.ClientMsgID != "" {
			key = dedupeKey{p.msg.Sender, p.msg.ClientMsgID}
		}
		if p.state == writeFailed {
			e := p.err
			if e == nil {
				e = pbErr(pb.Code_RETRY, "conversation %s moved", c.id)
			}
			p.reply(e)
			if d, ok := c.dedupe[key]; ok && d.seq == p.msg.Seq {
				for _, w := range d.waiting {
					respond(ctx, w, &pb.SendResponse{Error: e})
				}
				delete(c.dedupe, key) // forgotten: the retry writes it anew
			}
			continue
		}
		c.durable = max(c.durable, p.msg.Seq)
		p.reply(nil)
		c.noteDurable(&p.msg)
		if d, ok := c.dedupe[key]; ok && len(d.waiting) > 0 {
			for _, w := range d.waiting {
				respond(ctx, w, d.answer(key))
			}
			d.waiting = nil
			c.dedupe[key] = d
		}
		if c.rt.cfg.OnDurable != nil {
			c.rt.cfg.OnDurable(c.kind, p.msg)
		}
		msgs = append(msgs, toPBMessage(&p.msg))
	}
	if len(msgs) > 0 && c.fanout != nil {
		c.fanOut(msgs)
	}
}

// adopt answers a retry of a message this activation found in the store
// (an earlier activation wrote it, maybe without acknowledging it) once
// the store made the row this epoch's own (AdoptMessage): a row an earlier
// epoch landed late can still be removed by the late write of an epoch
// between it and this one, and a duplicate answer given before would then
// acknowledge a message that is lost.
func (c *conversation) adopt(ctx actor.Context, key dedupeKey, d dedupeEntry, sender *actor.PID) {
	if sender != nil {
		d.waiting = append(d.waiting, sender)
	}
	if !d.adopting {
		d.adopting = true
		store, id, epoch, seq := c.rt.store, c.id, c.epoch, d.seq
		self, root, timeout := ctx.Self(), c.rt.system.Root, c.rt.cfg.RequestTimeout
		go func() {
			actx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err := store.AdoptMessage(actx, id, epoch, seq, key.sender, key.clientMsgID)
			root.Send(self, &adoptDone{key: key, seq: seq, err: err})
		}()
	}
	c.dedupe[key] = d
}

// adopted answers the retries that waited for an adoption.
func (c *conversation) adopted(ctx actor.Context, m *adoptDone) {
	d, ok := c.dedupe[m.key]
	if !ok || d.seq != m.seq || !d.adopting {
		return
	}
	d.adopting = false
	waiting := d.waiting
	d.waiting = nil
	switch {
	case m.err == nil:
		adoptions.WithLabelValues("adopted").Inc()
		d.loaded = false
		c.dedupe[m.key] = d
		for _, w := range waiting {
			respond(ctx, w, d.answer(m.key))
		}
		return
	case errors.Is(m.err, storage.ErrNotFound):
		// A later write of an earlier epoch replaced the row: the message
		// is not stored, and the retry writes it anew.
		c.log.Warn("a reloaded message was superseded; its retry is written anew", "seq", m.seq, "sender", m.key.sender, "client_msg_id", m.key.clientMsgID)
		adoptions.WithLabelValues("superseded").Inc()
		delete(c.dedupe, m.key)
	default:
		adoptions.WithLabelValues("failed").Inc()
		c.dedupe[m.key] = d
	}
	e := pbErr(pb.Code_RETRY, "conversation %s could not confirm a stored message; retry", c.id)
	if !errors.Is(m.err, storage.ErrNotFound) {
		c.log.Warn("adopting a reloaded message failed", "seq", m.seq, "err", m.err)
	}
	for _, w := range waiting {
		respond(ctx, w, &pb.SendResponse{Error: e})
	}
	if errors.Is(m.err, storage.ErrEpochLost) {
		c.fence(ctx, m.err)
	}
}

// noteDurable keeps the summary state in step with the durable log.
func (c *conversation) noteDurable(m *storage.Message) {
	if !isNews(m.Kind, m.RefSeq, m.Recalled(), m.Body) {
		c.addNoncount(m.Seq)
	}
	c.noteMentions(m)
	if m.Kind == storage.MsgRecall {
		c.recallEvents[m.RefSeq] = true
		c.markRecalled(m.RefSeq)
	}
	if len(c.polls) > 0 {
		c.foldPolls(m)
	}
	// A recall event is not a conversation's "last message" (the user
	// grain's summaries skip it too); it only tombstones its target. Nor
	// is a reaction or a vote, which only marks its message, nor a poll's
	// close. Nor is a gap, which
	// stands for no message (a repair or restore writes hundreds above
	// the last real one). An edit is not either: it changes the last
	// message's text when it edits that one.
	switch {
	case m.Edit():
		if c.lastMsg != nil && c.lastMsg.Seq == m.RefSeq {
			mm := *c.lastMsg
			if m.Location != nil && len(m.Body) == 0 {
				mm.Location = m.Location // a live location's move: the caption stays
			} else {
				mm.Body = m.Body
			}
			c.lastMsg = &mm
		}
	case m.Kind != storage.MsgRecall && !m.Kind.Annotation() && !m.PollClose() && !m.Gap() && (c.lastMsg == nil || m.Seq > c.lastMsg.Seq):
		mm := *m
		c.lastMsg = &mm
	}
}

// addNoncount inserts seq into the sorted noncount list, once.
func (c *conversation) addNoncount(seq uint64) {
	i, found := slices.BinarySearch(c.noncount, seq)
	if !found {
		c.noncount = slices.Insert(c.noncount, i, seq)
	}
}

func (c *conversation) markRecalled(seq uint64) {
	c.addNoncount(seq)
	c.forgetMentions(seq)
	if c.lastMsg != nil && c.lastMsg.Seq == seq {
		c.lastMsg.Flags |= storage.FlagRecalled
		c.lastMsg.Body, c.lastMsg.Location, c.lastMsg.Meta = nil, nil, nil
	}
}

// fence gives up this activation: writes not yet handed to the store are
// told to retry, new requests are answered RETRY (see ready), and the grain
// stops once the mailbox drained (Poison), settling what is still in flight.
func (c *conversation) fence(ctx actor.Context, cause error) {
	if c.fenced {
		return
	}
	c.fenced = true
	fenced.Inc()
	c.log.Info("fenced off", "cause", cause)
	for _, p := range c.pending {
		if p.state == writeWaiting && p.msg.Seq > c.flushedUpTo() {
			p.state = writeFailed
		}
	}
	c.unflushed = nil
	c.answer(ctx)
	ctx.Poison(ctx.Self())
}

// fenceUnlessUnavailable fences after a failed reservation, except when
// the store refuses writes for now (disk full): a reservation only raises
// the bound, so the activation stays valid and retries it on the next send.
func (c *conversation) fenceUnlessUnavailable(ctx actor.Context, err error) {
	if !errors.Is(err, storage.ErrUnavailable) {
		c.fence(ctx, err)
	}
}

// flushedUpTo is the highest seq handed to the store.
func (c *conversation) flushedUpTo() uint64 {
	if len(c.inflight) == 0 {
		return c.durable
	}
	return c.inflight[len(c.inflight)-1].last
}

// stopping runs whatever stopped the grain (passivation, fencing, the
// placement moving it, node shutdown): writes never handed to the store
// are answered RETRY, batches in flight are waited for and answered with
// their real outcome, then the fan-out drains on its own goroutine.
func (c *conversation) stopping(ctx actor.Context) {
	c.dropCall(ctx)
	if len(c.unflushed) > 0 {
		c.fenced = true // nothing more is written by this activation
		for _, p := range c.pending {
			if p.state == writeWaiting && p.msg.Seq > c.flushedUpTo() {
				p.state = writeFailed
			}
		}
		c.unflushed = nil
	}
	timeout := time.NewTimer(2 * c.rt.cfg.RequestTimeout)
	defer timeout.Stop()
	for len(c.inflight) > 0 {
		f := c.inflight[0]
		c.inflight = c.inflight[1:]
		var err error
		select {
		case err = <-f.done:
		case <-timeout.C:
			// The store hangs; the outcome is unknown, and callers that
			// retry are deduplicated by the next activation's reload.
			err = fmt.Errorf("store did not answer while stopping")
			c.log.Error("append outcome unknown at stop", "first", f.first, "last", f.last)
		}
		c.settle(ctx, f, err)
	}
	for _, p := range c.pending {
		p.reply(pbErr(pb.Code_RETRY, "conversation %s moved", c.id))
	}
	c.pending = nil
	for key, d := range c.dedupe {
		if d.adopting {
			for _, w := range d.waiting {
				respond(ctx, w, &pb.SendResponse{Error: pbErr(pb.Code_RETRY, "conversation %s moved", c.id)})
			}
			d.waiting, d.adopting = nil, false
			c.dedupe[key] = d
		}
	}
	c.stopFanout()
}

// fanOut tells the members about durable messages: small conversations get
// one Deliver per member (an inbox entry each); large groups push once per
// node and only the sender's user grain hears of it, and the user grains
// of the members a message mentions (so an offline one is notified).
func (c *conversation) fanOut(msgs []*pb.Message) {
	if c.large() {
		for _, addr := range c.rt.ClusterMembers() {
			for _, m := range msgs {
				c.rt.system.Root.Send(actor.NewPID(addr, hubName), &pb.GroupPush{Conv: c.id, Message: m})
			}
		}
		told := map[string][]*pb.Message{}
		for _, m := range msgs {
			if m.Kind != pb.MessageKind_NORMAL && !pbIsNews(m) {
				continue // the sender hears of its texts, edits and new cards
			}
			told[m.Sender] = append(told[m.Sender], m)
			for _, u := range m.Mentions {
				told[u] = append(told[u], m)
			}
		}
		for user, ms := range told {
			if mem := c.members[user]; mem != nil {
				c.fanout.deliver(&pb.Deliver{User: user, Conv: c.id, Kind: convKindToPB(c.kind), Messages: ms, Member: toPBMember(*mem), Large: true, LastSeq: c.durable})
			}
		}
		return
	}
	for user, mem := range c.members {
		var visible []*pb.Message
		for _, m := range msgs {
			// A recall reaches whoever saw its target, also a member that
			// left before the recall (its unread must drop).
			if mem.Sees(m.Seq) || (m.Kind == pb.MessageKind_RECALL && mem.Sees(m.RefSeq)) {
				visible = append(visible, m)
			}
		}
		if len(visible) == 0 {
			continue
		}
		c.fanout.deliver(&pb.Deliver{User: user, Conv: c.id, Kind: convKindToPB(c.kind), Messages: visible, Member: toPBMember(*mem), LastSeq: c.durable})
	}
}
