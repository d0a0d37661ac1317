package actors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// The conversation grain's activation: load the head, take a new epoch,
// load members, reserve seqs and rebuild the dedupe window from the log.

// load restores the conversation from the store and takes a new epoch. A
// conversation that does not exist yet stays unloaded-but-empty until
// CreateConversation.
func (c *conversation) load(ctx actor.Context) {
	bg := context.Background()
	c.members = map[string]*storage.Member{}
	c.settings = nil
	c.dedupe = map[dedupeKey]dedupeEntry{}
	c.ring = make([]dedupeKey, 0, 16)
	c.limiters = map[string]*rate.Limiter{}
	c.recallEvents = map[uint64]bool{}
	c.editing = map[uint64]int{}
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
	c.exists, c.kind, c.createdTitle = true, head.Kind, head.Title
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
		if d, ok := c.dedupe[dedupeKey{m.Sender, m.ClientMsgID}]; ok && m.ClientMsgID != "" {
			d.loaded = true // a retry's duplicate answer waits for adopt
			c.dedupe[dedupeKey{m.Sender, m.ClientMsgID}] = d
		}
		c.noteDurable(&m)
	}
	c.durable = c.lastSeq
	if c.kind == storage.KindGroup {
		c.seedSlowMode(recent)
	}
	c.log.Info("conversation activated", "epoch", c.epoch, "last_seq", c.lastSeq, "head_last_seq", head.LastSeq, "recent", len(recent), "reserved", c.reserved)
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
			holes = append(holes, storage.GapMessage(c.id, s, time.Now()))
		}
		next = m.Seq - 1
	}
	if len(holes) == 0 {
		return nil, nil
	}
	c.log.Warn("filling seq gaps left by failed writes", "count", len(holes), "first", holes[len(holes)-1].Seq, "last", holes[0].Seq)
	sort.Slice(holes, func(i, j int) bool { return holes[i].Seq < holes[j].Seq })
	if err := c.rt.store.AppendMessages(bg, c.id, c.epoch, holes); err != nil {
		return nil, fmt.Errorf("fill seq gaps: %w", err)
	}
	return holes, nil
}

// reserveFor makes sure seq is within this epoch's reservation. A failed
// reservation fences the activation, unless the store only refuses writes
// for now (disk full): a reservation only raises the bound, so the
// activation stays valid and retries on the next write.
func (c *conversation) reserveFor(ctx actor.Context, seq uint64) *pb.Error {
	if seq <= c.reserved {
		return nil
	}
	if err := c.reserveMore(context.Background()); err != nil {
		c.fenceUnlessUnavailable(ctx, err)
		return storeErr(err)
	}
	return nil
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
