package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"golang.org/x/time/rate"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// conversation is the grain that owns one conversation's log: it checks
// membership, limits and policy, assigns seqs, appends through the store's
// group commit without waiting on it, acks in seq order once durable, and
// fans out.
//
// Fencing: on activation it takes a new epoch with the store's conditional
// write and reserves seq ranges under that epoch. A write that finds its seq
// taken, or a reservation that finds the epoch moved, means another
// activation owns the conversation: this one answers RETRY to everything in
// flight and stops.
type conversation struct {
	rt  *Runtime
	id  string
	log *slog.Logger

	loaded   bool
	exists   bool
	fenced   bool
	kind     storage.ConvKind
	epoch    uint64
	reserved uint64 // highest seq this epoch may assign
	// noEpoch: activated while the store refused writes; seenEpoch is the
	// head's epoch then, taken with the first write (takeEpoch).
	noEpoch   bool
	seenEpoch uint64
	lastSeq   uint64 // highest seq assigned
	durable   uint64 // highest seq acked

	members map[string]*storage.Member
	active  int

	dedupe   map[dedupeKey]dedupeEntry
	ring     []dedupeKey // FIFO of dedupe keys, DedupeWindow long
	ringNext int

	limiters map[string]*rate.Limiter

	pending        []*pendingWrite // assigned, not yet answered, in seq order
	unflushed      []storage.Message
	inflight       []*flight // batches handed to the store, not yet settled
	flushScheduled bool

	lastMsg  *storage.Message // last durable message, for summaries
	noncount []uint64         // durable seqs that never count as unread, ascending (read fan-out unread)
	// noncountFrom is the lowest seq noncount covers: it starts at the
	// oldest message loaded on activation and is extended downwards on
	// demand when a lagging reader's unread is counted.
	noncountFrom uint64
	// recallEvents holds the seqs that have a durable recall event (within
	// what this activation loaded or wrote), to finish interrupted recalls.
	recallEvents map[uint64]bool
	fanout       *fanout
}

type dedupeKey struct{ sender, clientMsgID string }

type dedupeEntry struct {
	seq, msgID uint64
	serverTS   time.Time
	flagged    bool
	waiting    []*actor.PID // duplicates that arrived before the first was durable
}

// pendingWrite is one assigned seq waiting for durability.
type pendingWrite struct {
	msg   storage.Message
	state writeState
	reply func(e *pb.Error) // answers the request that caused it
	err   *pb.Error         // the answer of a failed write; nil means RETRY
}

type writeState uint8

const (
	writeWaiting writeState = iota // queued or in flight
	writeDurable
	writeFailed // never written: answered RETRY
)

// flight is one batch handed to the store. Its result reaches the mailbox
// as an appendDone and, for a grain that stops first, the done channel.
type flight struct {
	first, last uint64
	done        chan error // buffered: the store's callback never blocks
}

// Messages the grain sends itself.
type (
	flushNow   struct{}
	appendDone struct {
		f   *flight
		err error
	}
)

func newConversation(rt *Runtime) *conversation {
	return &conversation{rt: rt, log: rt.log}
}

func (c *conversation) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		c.id = m.Identity.Identity
		c.log = c.rt.log.With("conv", c.id)
		activations.WithLabelValues(KindConversation).Inc()
		ctx.SetReceiveTimeout(c.rt.cfg.IdleTimeout)
		c.load(ctx)
	case *actor.ReceiveTimeout:
		// Poison, not Stop: requests already in the mailbox are served
		// (Stop would drop them unanswered and their callers would wait
		// a whole request timeout); Stopping settles what they start.
		// protoactor disarms the timer after firing, so re-arm it when
		// the grain stays.
		if len(c.pending) == 0 && len(c.unflushed) == 0 {
			passivations.WithLabelValues(KindConversation).Inc()
			ctx.Poison(ctx.Self())
		} else {
			ctx.SetReceiveTimeout(c.rt.cfg.IdleTimeout)
		}
	case *actor.Stopping:
		c.stopping(ctx)
	case *pb.CreateConversation:
		c.create(ctx, m)
	case *pb.SendMessage:
		c.send(ctx, m)
	case *pb.RecallMessage:
		c.recall(ctx, m)
	case *pb.MembershipChange:
		c.changeMembership(ctx, m)
	case *pb.ConvState:
		c.state(ctx, m)
	case *pb.ReadBy:
		c.readBy(m)
	case flushNow:
		c.flush(ctx)
	case *appendDone:
		c.appended(ctx, m)
	}
}

// ---- activation -----------------------------------------------------------

// load restores the conversation from the store and takes a new epoch. A
// conversation that does not exist yet stays unloaded-but-empty until
// CreateConversation.
func (c *conversation) load(ctx actor.Context) {
	bg := context.Background()
	c.members = map[string]*storage.Member{}
	c.dedupe = map[dedupeKey]dedupeEntry{}
	c.ring = make([]dedupeKey, 0, 16)
	c.limiters = map[string]*rate.Limiter{}
	c.recallEvents = map[uint64]bool{}
	head, err := c.rt.store.GetConversation(bg, c.id)
	if errors.Is(err, storage.ErrNotFound) {
		c.loaded = true
		return
	}
	if err == nil {
		err = c.activate(bg, head)
	}
	if err != nil {
		c.log.Error("activation failed", "err", err)
		c.fenced = true
		ctx.Stop(ctx.Self())
		return
	}
	c.loaded = true
}

// activate takes the epoch and loads members and the recent log of an
// existing conversation.
func (c *conversation) activate(bg context.Context, head storage.Conversation) error {
	var err error
	for try := 0; ; try++ {
		c.epoch, err = c.rt.store.AcquireEpoch(bg, c.id, head.Epoch)
		if err == nil {
			break
		}
		if errors.Is(err, storage.ErrUnavailable) {
			// The store refuses writes (disk full): serve reads now and
			// take the epoch with the first write (takeEpoch).
			c.noEpoch, c.seenEpoch = true, head.Epoch
			break
		}
		if !errors.Is(err, storage.ErrEpochLost) || try == 5 {
			return fmt.Errorf("acquire epoch: %w", err)
		}
		if head, err = c.rt.store.GetConversation(bg, c.id); err != nil {
			return err
		}
	}
	c.exists, c.kind = true, head.Kind
	after := ""
	for {
		page, err := c.rt.store.ListMembers(bg, c.id, after, 1000)
		if err != nil {
			return fmt.Errorf("load members: %w", err)
		}
		for i := range page {
			c.addMember(page[i])
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].UserID
	}
	recent, err := c.rt.store.ListMessages(bg, c.id, 1, 0, storage.NewestFirst, c.rt.cfg.DedupeWindow)
	if err != nil {
		return fmt.Errorf("load recent messages: %w", err)
	}
	// The log may have grown since the head was read (another activation
	// still writing): start above everything seen.
	c.lastSeq = head.LastSeq
	if len(recent) > 0 {
		c.lastSeq = max(c.lastSeq, recent[0].Seq)
	}
	if !c.noEpoch {
		if err := c.reserve(bg, c.lastSeq+c.rt.cfg.SeqReserve); err != nil {
			return err
		}
		holes, err := c.fillGaps(bg, recent)
		if err != nil {
			return err
		}
		recent = append(recent, holes...)
	}
	sort.Slice(recent, func(i, j int) bool { return recent[i].Seq < recent[j].Seq })
	c.noncountFrom = c.lastSeq + 1
	if len(recent) > 0 {
		c.noncountFrom = recent[0].Seq
	}
	for i := range recent {
		m := recent[i]
		c.remember(&m, nil)
		c.noteDurable(&m)
	}
	c.durable = c.lastSeq
	c.startFanout()
	// The previous activation may have died between acking and fanning
	// out: deliver the recent tail again (user grains apply a Deliver
	// idempotently, clients dedupe pushes by seq).
	var tail []*pb.Message
	for i := range recent {
		if time.Since(recent[i].ServerTS) < redeliverWindow {
			tail = append(tail, toPBMessage(&recent[i]))
		}
	}
	if len(tail) > 0 {
		c.fanOut(tail)
	}
	return nil
}

// redeliverWindow: messages this recent are fanned out again on
// activation. It covers a fan-out still retrying (deliverTimeout) when
// the node hosting the conversation died.
const redeliverWindow = deliverTimeout

// fillGaps writes a placeholder for each seq missing below the last one in
// the recent window: a write that failed after a later one succeeded leaves
// a hole, and seqs must stay contiguous for clients to trust their gaps.
func (c *conversation) fillGaps(bg context.Context, recentNewestFirst []storage.Message) ([]storage.Message, error) {
	if len(recentNewestFirst) == 0 {
		return nil, nil
	}
	var holes []storage.Message
	next := recentNewestFirst[0].Seq
	for _, m := range recentNewestFirst {
		for s := next; s > m.Seq; s-- {
			holes = append(holes, storage.Message{ConvID: c.id, Seq: s, Sender: "system", SenderRole: storage.SenderSystem, Kind: storage.MsgSystem, Body: []byte(`{"op":"gap"}`), ServerTS: time.Now()})
		}
		next = m.Seq - 1
	}
	if len(holes) == 0 {
		return nil, nil
	}
	c.log.Warn("filling seq gaps left by failed writes", "count", len(holes))
	sort.Slice(holes, func(i, j int) bool { return holes[i].Seq < holes[j].Seq })
	if err := c.rt.store.AppendMessages(bg, c.id, holes); err != nil {
		return nil, fmt.Errorf("fill seq gaps: %w", err)
	}
	return holes, nil
}

// reserveMore extends the seq reservation, first taking the epoch if the
// activation started without one (store unavailable at the time).
func (c *conversation) reserveMore(bg context.Context) error {
	if c.noEpoch {
		return c.takeEpoch(bg)
	}
	return c.reserve(bg, c.lastSeq+c.rt.cfg.SeqReserve)
}

// takeEpoch finishes a read-only activation: the epoch, a reservation and
// the gap filling activate skipped. If the log moved meanwhile (another
// activation wrote), this one is stale: ErrEpochLost, and the caller fences.
func (c *conversation) takeEpoch(bg context.Context) error {
	epoch, err := c.rt.store.AcquireEpoch(bg, c.id, c.seenEpoch)
	if err != nil {
		return fmt.Errorf("acquire epoch: %w", err)
	}
	c.epoch, c.noEpoch = epoch, false
	recent, err := c.rt.store.ListMessages(bg, c.id, 1, 0, storage.NewestFirst, c.rt.cfg.DedupeWindow)
	if err != nil {
		return fmt.Errorf("load recent messages: %w", err)
	}
	if len(recent) > 0 && recent[0].Seq > c.lastSeq {
		return fmt.Errorf("log moved to %d while activating read-only at %d: %w", recent[0].Seq, c.lastSeq, storage.ErrEpochLost)
	}
	if err := c.reserve(bg, c.lastSeq+c.rt.cfg.SeqReserve); err != nil {
		return err
	}
	holes, err := c.fillGaps(bg, recent)
	if err != nil {
		return err
	}
	for i := range holes {
		c.noteDurable(&holes[i])
	}
	return nil
}

func (c *conversation) reserve(bg context.Context, upTo uint64) error {
	if err := c.rt.store.ReserveSeqs(bg, c.id, c.epoch, upTo); err != nil {
		return fmt.Errorf("reserve seqs: %w", err)
	}
	c.reserved = upTo
	return nil
}

func (c *conversation) addMember(m storage.Member) {
	old, ok := c.members[m.UserID]
	if ok && old.Active() {
		c.active--
	}
	mm := m
	c.members[m.UserID] = &mm
	if mm.Active() {
		c.active++
	}
}

// large reports read fan-out mode.
func (c *conversation) large() bool { return c.active > c.rt.cfg.FanoutThreshold }

// ready answers false (and replies) when requests cannot be served now.
func (c *conversation) ready(reply func(*pb.Error)) bool {
	switch {
	case c.fenced || !c.loaded:
		reply(pbErr(pb.Code_RETRY, "conversation %s is moving", c.id))
		return false
	case !c.exists:
		reply(pbErr(pb.Code_NOT_FOUND, "no conversation %s", c.id))
		return false
	}
	return true
}

// ---- create -----------------------------------------------------------------

func (c *conversation) create(ctx actor.Context, m *pb.CreateConversation) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) {
		respond(ctx, sender, &pb.CreateConversationResponse{Error: e, LastSeq: c.lastSeq})
	}
	if c.fenced || !c.loaded {
		reply(pbErr(pb.Code_RETRY, "conversation %s is moving", c.id))
		return
	}
	if c.exists {
		reply(pbErr(pb.Code_EXISTS, "conversation %s exists", c.id))
		return
	}
	kind := storage.ConvKind(m.Kind)
	if !kind.Valid() {
		reply(pbErr(pb.Code_INVALID, "conversation kind %v", m.Kind))
		return
	}
	members := map[string]storage.Role{}
	for _, mm := range m.Members {
		if mm.GetUser() == "" {
			continue
		}
		role := storage.Role(mm.Role)
		if role > storage.RoleAgent || (role == storage.RoleOwner && m.Creator != "") {
			reply(pbErr(pb.Code_INVALID, "role %v for %s", mm.Role, mm.User))
			return
		}
		members[mm.User] = role
	}
	if m.Creator != "" {
		if _, ok := members[m.Creator]; !ok || kind == storage.KindGroup {
			members[m.Creator] = map[storage.ConvKind]storage.Role{
				storage.KindGroup: storage.RoleOwner, storage.KindService: storage.RoleCustomer,
			}[kind]
		}
	}
	switch {
	case kind == storage.KindDirect && len(members) != 2:
		reply(pbErr(pb.Code_INVALID, "a direct conversation has exactly two members, not %d", len(members)))
		return
	case len(members) == 0:
		reply(pbErr(pb.Code_INVALID, "a conversation needs members"))
		return
	case len(members) > c.rt.cfg.MaxGroupMembers:
		reply(pbErr(pb.Code_GROUP_FULL, "%d members, limit %d", len(members), c.rt.cfg.MaxGroupMembers))
		return
	}
	bg := context.Background()
	now := time.Now()
	err := c.rt.store.CreateConversation(bg, storage.Conversation{ID: c.id, Kind: kind, Title: m.Title, CreatedAt: now})
	if errors.Is(err, storage.ErrExists) {
		// Created by another activation: this one is stale.
		c.fenced = true
		reply(pbErr(pb.Code_RETRY, "conversation %s was created concurrently", c.id))
		ctx.Stop(ctx.Self())
		return
	}
	if err != nil {
		reply(storeErr(err))
		return
	}
	rows := make([]storage.Member, 0, len(members))
	for user, role := range members {
		rows = append(rows, storage.Member{ConvID: c.id, UserID: user, Role: role, JoinedSeq: 1, JoinedAt: now})
	}
	if err := c.putMembers(bg, rows); err != nil {
		reply(storeErr(err))
		return
	}
	head, err := c.rt.store.GetConversation(bg, c.id)
	if err == nil {
		err = c.activate(bg, head)
	}
	if err != nil {
		c.fenced = true
		reply(storeErr(err))
		ctx.Stop(ctx.Self())
		return
	}
	// Members learn of the conversation with a membership notice.
	for user := range members {
		c.fanout.notice(c.noticeFor(user))
	}
	reply(nil)
}

func (c *conversation) noticeFor(user string) *pb.MembershipNotice {
	mem := c.members[user]
	return &pb.MembershipNotice{User: user, Conv: c.id, Kind: convKindToPB(c.kind), Member: toPBMember(*mem), LastSeq: c.durable, Large: c.large()}
}

// ---- send -----------------------------------------------------------------

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
	switch {
	case mem == nil || !mem.Active():
		reply(pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", m.Sender, c.id))
		return
	case mem.Muted:
		reply(pbErr(pb.Code_MUTED, "%s is muted in %s", m.Sender, c.id))
		return
	case len(m.Body) > c.rt.cfg.MaxBodyBytes:
		reply(pbErr(pb.Code_TOO_LARGE, "message body is %d bytes, limit %d", len(m.Body), c.rt.cfg.MaxBodyBytes))
		return
	case len(m.Body) == 0:
		reply(pbErr(pb.Code_INVALID, "empty message body"))
		return
	case len(m.ClientMsgId) > 128:
		reply(pbErr(pb.Code_INVALID, "client_msg_id is %d bytes, limit 128", len(m.ClientMsgId)))
		return
	}
	if m.ClientMsgId != "" {
		key := dedupeKey{m.Sender, m.ClientMsgId}
		if d, ok := c.dedupe[key]; ok {
			if d.seq <= c.durable {
				respond(ctx, sender, &pb.SendResponse{MsgId: d.msgID, Seq: d.seq, ServerTsMs: millis(d.serverTS), Duplicate: true, Flagged: d.flagged})
			} else if sender != nil {
				d.waiting = append(d.waiting, sender)
				c.dedupe[key] = d
			}
			return
		}
	}
	if !c.limiter(m.Sender).AllowN(now, 1) {
		reply(pbErr(pb.Code_RATE_LIMITED, "%s sends faster than %.0f messages/s in %s", m.Sender, c.rt.cfg.SendRate, c.id))
		return
	}
	var flags uint32
	if c.rt.policy.matches(m.Body) {
		if c.rt.policy.mode == PolicyBlock {
			reply(pbErr(pb.Code_REJECTED_POLICY, "rejected: policy"))
			return
		}
		flags |= storage.FlagFlagged
	}
	msg := storage.Message{
		ConvID: c.id, MsgID: c.rt.ids.next(now), ClientMsgID: m.ClientMsgId, Sender: m.Sender,
		SenderRole: senderRole(mem.Role), Kind: storage.MsgNormal, Body: m.Body, Flags: flags,
		ClientTS: fromMillis(m.ClientTsMs), ServerTS: now,
	}
	c.enqueue(ctx, &msg, func(e *pb.Error) {
		if e != nil {
			reply(e)
			return
		}
		observeSend(nil)
		observeAck(now)
		respond(ctx, sender, &pb.SendResponse{MsgId: msg.MsgID, Seq: msg.Seq, ServerTsMs: millis(now), Flagged: flags != 0})
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
	if seq > c.reserved {
		if err := c.reserveMore(context.Background()); err != nil {
			reply(storeErr(err))
			c.fenceUnlessUnavailable(ctx, err)
			return false
		}
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
	c.dedupe[key] = dedupeEntry{seq: m.Seq, msgID: m.MsgID, serverTS: m.ServerTS, flagged: m.Flags&storage.FlagFlagged != 0, waiting: waiting}
}

func (c *conversation) flush(ctx actor.Context) {
	c.flushScheduled = false
	if len(c.unflushed) == 0 || c.fenced {
		return
	}
	self, root := ctx.Self(), c.rt.system.Root
	maxBatch := storage.DefaultLimits().MaxBatch
	for len(c.unflushed) > 0 {
		n := min(len(c.unflushed), maxBatch)
		batch := c.unflushed[:n:n]
		c.unflushed = c.unflushed[n:]
		f := &flight{first: batch[0].Seq, last: batch[n-1].Seq, done: make(chan error, 1)}
		c.inflight = append(c.inflight, f)
		c.rt.store.AppendMessagesAsync(context.Background(), c.id, batch, func(err error) {
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
// decided, in seq order. A failed batch wrote nothing (the store's append
// is all or nothing), so its writes are answered RETRY and the activation
// is fenced; batches already in flight behind it still get their own
// outcome, so a message that became durable is acked, never retried into
// a second copy.
func (c *conversation) settle(ctx actor.Context, f *flight, err error) {
	if len(c.pending) > 0 {
		base := c.pending[0].msg.Seq
		for s := max(f.first, base); s <= f.last && s-base < uint64(len(c.pending)); s++ {
			if err != nil {
				c.pending[s-base].state = writeFailed
				if errors.Is(err, storage.ErrUnavailable) {
					c.pending[s-base].err = storeErr(err)
				}
			} else {
				c.pending[s-base].state = writeDurable
			}
		}
	}
	// The store refusing writes (disk full) is no reason to give up the
	// activation: the failed seqs are never handed out again (a later
	// batch may be durable above them; the next activation fills the gap).
	if err != nil && !c.fenced && !errors.Is(err, storage.ErrUnavailable) {
		c.log.Warn("append failed; giving up this activation", "first", f.first, "last", f.last, "err", err)
		c.fence(ctx, err) // answers what it can itself
		return
	}
	c.answer(ctx)
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
				respond(ctx, w, &pb.SendResponse{MsgId: d.msgID, Seq: d.seq, ServerTsMs: millis(d.serverTS), Duplicate: true, Flagged: d.flagged})
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

// noteDurable keeps the summary state in step with the durable log.
func (c *conversation) noteDurable(m *storage.Message) {
	if m.Kind != storage.MsgNormal || m.Recalled() {
		c.addNoncount(m.Seq)
	}
	if m.Kind == storage.MsgRecall {
		c.recallEvents[m.RefSeq] = true
		c.markRecalled(m.RefSeq)
	}
	// A recall event is not a conversation's "last message" (the user
	// grain's summaries skip it too); it only tombstones its target.
	if m.Kind != storage.MsgRecall && (c.lastMsg == nil || m.Seq > c.lastMsg.Seq) {
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
	if c.lastMsg != nil && c.lastMsg.Seq == seq {
		c.lastMsg.Flags |= storage.FlagRecalled
		c.lastMsg.Body = nil
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
	c.stopFanout()
}

// fanOut tells the members about durable messages: small conversations get
// one Deliver per member (an inbox entry each); large groups push once per
// node and only the sender's user grain hears of it.
func (c *conversation) fanOut(msgs []*pb.Message) {
	if c.large() {
		for _, addr := range c.rt.ClusterMembers() {
			for _, m := range msgs {
				c.rt.system.Root.Send(actor.NewPID(addr, hubName), &pb.GroupPush{Conv: c.id, Message: m})
			}
		}
		senders := map[string][]*pb.Message{}
		for _, m := range msgs {
			if m.Kind == pb.MessageKind_NORMAL {
				senders[m.Sender] = append(senders[m.Sender], m)
			}
		}
		for user, ms := range senders {
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

// ---- recall -----------------------------------------------------------------

func (c *conversation) recall(ctx actor.Context, m *pb.RecallMessage) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) { respond(ctx, sender, &pb.RecallResponse{Error: e}) }
	if !c.ready(reply) {
		return
	}
	mem := c.members[m.User]
	if mem == nil || !mem.Active() {
		reply(pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", m.User, c.id))
		return
	}
	if m.Seq == 0 || m.Seq > c.durable || !mem.Sees(m.Seq) {
		reply(pbErr(pb.Code_NOT_FOUND, "no message %d in %s", m.Seq, c.id))
		return
	}
	bg := context.Background()
	target, err := c.rt.store.GetMessage(bg, c.id, m.Seq)
	if err != nil {
		reply(storeErr(err))
		return
	}
	privileged := (c.kind == storage.KindGroup || c.kind == storage.KindService) &&
		(mem.Role == storage.RoleOwner || mem.Role == storage.RoleAdmin)
	switch {
	case target.Kind != storage.MsgNormal:
		reply(pbErr(pb.Code_INVALID, "message %d is not a user message", m.Seq))
		return
	case target.Recalled() && (c.recallEvents[m.Seq] || m.Seq < c.noncountFrom):
		reply(pbErr(pb.Code_INVALID, "message %d is already recalled", m.Seq))
		return
	case target.Sender != m.User && !privileged:
		reply(pbErr(pb.Code_FORBIDDEN, "only the sender or a group owner/admin may recall message %d", m.Seq))
		return
	case target.Sender == m.User && !privileged && time.Since(target.ServerTS) > c.rt.cfg.RecallWindow:
		reply(pbErr(pb.Code_RECALL_EXPIRED, "message %d is older than the %s recall limit", m.Seq, c.rt.cfg.RecallWindow))
		return
	}
	// Tombstone first: if we crash before the recall event is durable the
	// caller retries, the tombstone is idempotent, and a tombstoned message
	// without a known recall event (checked above) gets its event then.
	if err := c.rt.store.TombstoneMessage(bg, c.id, m.Seq); err != nil {
		reply(storeErr(err))
		return
	}
	now := time.Now()
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.User, SenderRole: senderRole(mem.Role),
		Kind: storage.MsgRecall, RefSeq: m.Seq, ServerTS: now}
	if c.enqueue(ctx, &ev, func(e *pb.Error) {
		respond(ctx, sender, &pb.RecallResponse{Error: e, Seq: ev.Seq})
	}) {
		c.recallEvents[m.Seq] = true // a second recall meanwhile is refused
	}
}

// ---- membership -------------------------------------------------------------

func (c *conversation) changeMembership(ctx actor.Context, m *pb.MembershipChange) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, seq uint64) { respond(ctx, sender, &pb.MembershipResponse{Error: e, Seq: seq}) }
	if !c.ready(func(e *pb.Error) { reply(e, 0) }) {
		return
	}
	if e := c.checkMembership(m); e != nil {
		reply(e, 0)
		return
	}
	seq := c.lastSeq + 1 // the system message recording the change
	if seq > c.reserved {
		if err := c.reserveMore(context.Background()); err != nil {
			reply(storeErr(err), 0)
			c.fenceUnlessUnavailable(ctx, err)
			return
		}
	}
	now := time.Now()
	var changed []storage.Member
	for _, user := range m.Users {
		old := c.members[user]
		var mem storage.Member
		switch m.Op {
		case pb.MembershipChange_ADD:
			if old != nil && old.Active() {
				continue
			}
			role := storage.Role(m.Role)
			if role == storage.RoleOwner {
				role = storage.RoleMember
			}
			mem = storage.Member{ConvID: c.id, UserID: user, Role: role, JoinedSeq: seq, JoinedAt: now}
		case pb.MembershipChange_REMOVE, pb.MembershipChange_LEAVE:
			mem = *old
			mem.LeftSeq = seq
		case pb.MembershipChange_SET_ROLE:
			mem = *old
			mem.Role = storage.Role(m.Role)
		case pb.MembershipChange_MUTE, pb.MembershipChange_UNMUTE:
			mem = *old
			mem.Muted = m.Op == pb.MembershipChange_MUTE
		}
		changed = append(changed, mem)
	}
	if err := c.putMembers(context.Background(), changed); err != nil {
		reply(storeErr(err), 0)
		return
	}
	if len(changed) == 0 {
		reply(nil, c.durable)
		return
	}
	wasLarge := c.large()
	for _, mem := range changed {
		c.addMember(mem)
	}
	body, _ := json.Marshal(map[string]any{"op": opName(m.Op), "actor": m.Actor, "users": m.Users, "role": storage.Role(m.Role).String()})
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.Actor, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: body, ServerTS: now}
	c.enqueue(ctx, &ev, func(e *pb.Error) {
		reply(e, seq)
		if e != nil {
			return
		}
		// Users who left get one last notice (the system message is their
		// last visible seq); in read fan-out groups every change is told to
		// the users concerned, since they get no per-message Deliver.
		for _, mem := range changed {
			if c.large() || wasLarge || !mem.Active() {
				c.fanout.notice(c.noticeFor(mem.UserID))
			}
		}
		if c.large() != wasLarge {
			// Crossing the threshold switches every member's unread mode,
			// also of members that left: their unread still drops on a
			// recall, which read fan-out does not deliver.
			for user := range c.members {
				c.fanout.notice(c.noticeFor(user))
			}
		}
	})
}

// putMembers writes membership rows concurrently: each PutMember waits for
// a group commit, and many in flight share one (a 10,000-member group is
// created in a few commits, not 10,000).
func (c *conversation) putMembers(bg context.Context, rows []storage.Member) error {
	const parallel = 64
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(rows))
	for _, r := range rows {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- c.rt.store.PutMember(bg, r)
		}()
	}
	var first error
	for range rows {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("put member: %w", err)
		}
	}
	return first
}

func opName(op pb.MembershipChange_Op) string {
	return map[pb.MembershipChange_Op]string{
		pb.MembershipChange_ADD: "add", pb.MembershipChange_REMOVE: "remove", pb.MembershipChange_LEAVE: "leave",
		pb.MembershipChange_SET_ROLE: "set_role", pb.MembershipChange_MUTE: "mute", pb.MembershipChange_UNMUTE: "unmute",
	}[op]
}

// checkMembership applies the role rules: owners and admins manage groups,
// agents manage service conversations, anyone may leave, direct
// conversations have fixed members, only the owner changes roles.
func (c *conversation) checkMembership(m *pb.MembershipChange) *pb.Error {
	actorMem := c.members[m.Actor]
	if actorMem == nil || !actorMem.Active() {
		return pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", m.Actor, c.id)
	}
	if c.kind == storage.KindDirect {
		return pbErr(pb.Code_FORBIDDEN, "direct conversations have fixed members")
	}
	if len(m.Users) == 0 {
		if m.Op != pb.MembershipChange_LEAVE {
			return pbErr(pb.Code_INVALID, "no users named")
		}
		m.Users = []string{m.Actor}
	}
	if len(m.Users) > c.rt.cfg.MaxGroupMembers {
		return pbErr(pb.Code_GROUP_FULL, "%d users in one change, limit %d", len(m.Users), c.rt.cfg.MaxGroupMembers)
	}
	manager := actorMem.Role == storage.RoleOwner || actorMem.Role == storage.RoleAdmin ||
		(c.kind == storage.KindService && actorMem.Role == storage.RoleAgent)
	seen := map[string]bool{}
	adds := 0
	for _, u := range m.Users {
		if u == "" || len(u) > 128 {
			return pbErr(pb.Code_INVALID, "bad user id %q", u)
		}
		if seen[u] {
			return pbErr(pb.Code_INVALID, "user %s named twice", u)
		}
		seen[u] = true
		target := c.members[u]
		switch m.Op {
		case pb.MembershipChange_ADD:
			if !manager {
				return pbErr(pb.Code_FORBIDDEN, "only owners and admins add members")
			}
			if storage.Role(m.Role) > storage.RoleAgent {
				return pbErr(pb.Code_INVALID, "role %v", m.Role)
			}
			if target == nil || !target.Active() {
				adds++
			}
		case pb.MembershipChange_LEAVE:
			if u != m.Actor {
				return pbErr(pb.Code_FORBIDDEN, "one can only leave oneself")
			}
		case pb.MembershipChange_REMOVE, pb.MembershipChange_SET_ROLE, pb.MembershipChange_MUTE, pb.MembershipChange_UNMUTE:
			if target == nil || !target.Active() {
				return pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", u, c.id)
			}
			if m.Op == pb.MembershipChange_SET_ROLE {
				if actorMem.Role != storage.RoleOwner {
					return pbErr(pb.Code_FORBIDDEN, "only the owner changes roles")
				}
				if storage.Role(m.Role) > storage.RoleAgent {
					return pbErr(pb.Code_INVALID, "role %v", m.Role)
				}
				continue
			}
			if !manager {
				return pbErr(pb.Code_FORBIDDEN, "only owners and admins manage members")
			}
			if target.Role == storage.RoleOwner && actorMem.Role != storage.RoleOwner {
				return pbErr(pb.Code_FORBIDDEN, "an admin cannot act on the owner")
			}
		default:
			return pbErr(pb.Code_INVALID, "membership op %v", m.Op)
		}
	}
	if c.active+adds > c.rt.cfg.MaxGroupMembers {
		return pbErr(pb.Code_GROUP_FULL, "%s would have %d members, limit %d", c.id, c.active+adds, c.rt.cfg.MaxGroupMembers)
	}
	return nil
}

// ---- state and receipts -----------------------------------------------------

// state answers a user grain's question about this conversation, with the
// unread count for read fan-out groups computed from the read cursor.
func (c *conversation) state(ctx actor.Context, m *pb.ConvState) {
	sender := ctx.Sender()
	if !c.ready(func(e *pb.Error) { respond(ctx, sender, &pb.ConvStateResponse{Error: e}) }) {
		return
	}
	mem := c.members[m.User]
	if mem == nil {
		respond(ctx, sender, &pb.ConvStateResponse{Error: pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", m.User, c.id)})
		return
	}
	last := c.durable
	if !mem.Active() {
		last = min(last, mem.LeftSeq) // a member that left sees nothing after
	}
	res := &pb.ConvStateResponse{Kind: convKindToPB(c.kind), LastSeq: last, Member: toPBMember(*mem), MemberCount: uint32(c.active)}
	if c.lastMsg != nil && c.lastMsg.Seq <= last && mem.Sees(c.lastMsg.Seq) {
		res.LastMessage = toPBMessage(c.lastMsg)
	}
	from := max(m.ReadSeq+1, mem.JoinedSeq, 1)
	if last >= from {
		c.extendNoncount(from)
		lo := sort.Search(len(c.noncount), func(i int) bool { return c.noncount[i] >= from })
		hi := sort.Search(len(c.noncount), func(i int) bool { return c.noncount[i] > last })
		res.Unread = last - from + 1 - uint64(hi-lo)
	}
	respond(ctx, sender, res)
}

// extendNoncount makes noncount cover seqs from `from` on, reading the
// older part of the log once per activation (bounded by maxUnreadScan per
// call; past it older system messages count, as the count saturates).
func (c *conversation) extendNoncount(from uint64) {
	if from >= c.noncountFrom {
		return
	}
	from = max(from, c.noncountFrom-min(c.noncountFrom-1, maxUnreadScan))
	bg, cancel := context.WithTimeout(context.Background(), c.rt.cfg.RequestTimeout)
	defer cancel()
	for next := from; next < c.noncountFrom; {
		page, err := c.rt.store.ListMessages(bg, c.id, next, c.noncountFrom-1, storage.OldestFirst, 1000)
		if err != nil {
			c.log.Warn("load older log for unread counts", "err", err)
			return
		}
		for i := range page {
			if page[i].Kind != storage.MsgNormal || page[i].Recalled() {
				c.addNoncount(page[i].Seq)
			}
		}
		if len(page) < 1000 {
			break
		}
		next = page[len(page)-1].Seq + 1
	}
	c.noncountFrom = from
}

// readBy turns a read in a direct or service conversation into receipts to
// the other members.
func (c *conversation) readBy(m *pb.ReadBy) {
	if !c.exists || c.fenced || (c.kind != storage.KindDirect && c.kind != storage.KindService) {
		return
	}
	if mem := c.members[m.User]; mem == nil || !mem.Sees(m.Seq) {
		return
	}
	for user, mem := range c.members {
		if user != m.User && mem.Active() {
			c.fanout.receipt(user, &pb.ReadReceipt{Conv: c.id, Reader: m.User, Seq: m.Seq})
		}
	}
}

// respond answers a request; a nil sender (a fire-and-forget Send) gets
// nothing.
func respond(ctx actor.Context, to *actor.PID, msg any) {
	if to != nil {
		ctx.Send(to, msg)
	}
}
