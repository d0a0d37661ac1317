package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// The user grain's inbox (the per-user change log) and the deliveries that
// append to it and push to online devices.

// durableWaiter is what waits for the next flush: done runs once the
// writes are durable. refuse, when set, answers a caller at once if the
// flush fails (the grain then stops): the caller retries against the
// next activation instead of waiting out its request's time-out — after
// a node rejoins, the old activation of a user whose grain moved back
// fails its next flush (epoch lost), and a Deliver it held would
// otherwise wait a whole attempt time-out before its push.
type durableWaiter struct {
	done   func()
	refuse func(*pb.Error)
}

// ackWaiter answers sender with an Ack once durable (after then, if
// set), or with RETRY if the flush fails.
func ackWaiter(ctx actor.Context, sender *actor.PID, then func()) durableWaiter {
	return durableWaiter{
		done: func() {
			respond(ctx, sender, &pb.Ack{})
			if then != nil {
				then()
			}
		},
		refuse: func(e *pb.Error) { respond(ctx, sender, &pb.Ack{Error: e}) },
	}
}

// appendInbox queues an inbox entry for the next flush; w is answered
// once it is durable. It returns the entry's inbox seq.
func (u *user) appendInbox(ctx actor.Context, e storage.InboxEntry, w durableWaiter) uint64 {
	u.inboxSeq++
	e.UserID, e.Seq = u.id, u.inboxSeq
	u.unflushed = append(u.unflushed, e)
	if w.done != nil {
		u.afterFlush = append(u.afterFlush, w)
	}
	u.scheduleFlush(ctx)
	return e.Seq
}

// scheduleFlush queues a flush at the back of the mailbox, once: every
// message already queued is handled before it, and joins its writes.
// Device cursors (and activity) with no inbox entry or read cursor wait
// CursorFlushDelay first: a device's cursor ack follows every push, and
// written alone it costs a store call per message; an inbox entry or a
// read queued meanwhile takes them along at once.
func (u *user) scheduleFlush(ctx actor.Context) {
	if u.flushScheduled {
		return
	}
	if delay := u.rt.cfg.CursorFlushDelay; delay > 0 && len(u.unflushed) == 0 && len(u.reads) == 0 {
		if !u.flushDelayed {
			u.flushDelayed = true
			u.rt.delayedFlushes.add(ctx.Self())
		}
		return
	}
	u.flushScheduled = true
	ctx.Send(ctx.Self(), flushInbox{})
}

// pending reports whether writes are queued for the next flush.
func (u *user) pending() bool {
	return len(u.unflushed) > 0 || len(u.touched) > 0 || len(u.reads) > 0 || len(u.cursors) > 0
}

// flush writes everything queued since the last flush (inbox entries,
// read and device cursors, last activities) in one store call, cut only at
// the store's batch limit. A failed write leaves the inbox seq uncertain
// (or the epoch lost to a newer activation): the grain stops and its
// callers retry.
func (u *user) flush(ctx actor.Context) {
	u.flushScheduled, u.flushDelayed = false, false
	if !u.pending() {
		return
	}
	w := u.takeWrites()
	then := u.afterFlush
	u.afterFlush = nil
	bg := u.rt.storeCtx.get(u.rt.cfg.RequestTimeout)
	err := u.leaseInbox(bg, w.Inbox)
	if err == nil {
		err = u.reserveInbox(bg, w.Inbox)
	}
	maxBatch := u.rt.limits.MaxBatch
	for err == nil && !w.Empty() {
		var part storage.UserWrite
		part.Inbox, w.Inbox = cut(w.Inbox, maxBatch)
		part.Reads, w.Reads = cut(w.Reads, maxBatch)
		part.Activity, w.Activity = cut(w.Activity, maxBatch)
		part.Devices, w.Devices = cut(w.Devices, maxBatch)
		err = u.rt.store.WriteUser(bg, u.id, u.inboxEpoch, part)
	}
	if err != nil && errors.Is(err, storage.ErrUnavailable) && len(w.Inbox) == 0 {
		// A store refusing writes (a full disk) while only cursors and
		// activity wait: nothing is numbered, so the grain goes on serving
		// reads and keeps them for a later flush. Callers waiting on
		// their durability are not answered and retry.
		u.rt.log.Warn("user write refused; kept for a later flush", "user", u.id, "err", err)
		u.requeue(w)
		return
	}
	if err != nil {
		u.rt.log.Error("user write failed; restarting the grain", "user", u.id, "err", err)
		u.broken = true
		retry := pbErr(pb.Code_RETRY, "%s: inbox write failed; retry", u.id)
		for _, w := range then {
			if w.refuse != nil {
				w.refuse(retry)
			}
		}
		ctx.Stop(ctx.Self()) // the callers answered RETRY above retry with the next activation
		return
	}
	for _, w := range then {
		w.done()
	}
}

// requeue puts back the cursors and activity of a refused flush, under
// anything newer queued since.
func (u *user) requeue(w storage.UserWrite) {
	for _, a := range w.Activity {
		if u.touched == nil {
			u.touched = map[string]time.Time{}
		}
		if a.At.After(u.touched[a.ConvID]) {
			u.touched[a.ConvID] = a.At
		}
	}
	for _, r := range w.Reads {
		if u.reads == nil {
			u.reads = map[string]uint64{}
		}
		u.reads[r.ConvID] = max(u.reads[r.ConvID], r.Seq)
	}
	for _, d := range w.Devices {
		if u.cursors == nil {
			u.cursors = map[string]storage.Device{}
		}
		if _, newer := u.cursors[d.DeviceID]; !newer {
			u.cursors[d.DeviceID] = d
		}
	}
}

// cut splits the first n items off s.
func cut[T any](s []T, n int) ([]T, []T) {
	n = min(n, len(s))
	return s[:n], s[n:]
}

// takeWrites empties the queues into one UserWrite.
func (u *user) takeWrites() storage.UserWrite {
	w := storage.UserWrite{Inbox: u.unflushed}
	for conv, at := range u.touched {
		w.Activity = append(w.Activity, storage.ActivityMove{ConvID: conv, At: at})
	}
	for conv, seq := range u.reads {
		w.Reads = append(w.Reads, storage.ReadMove{ConvID: conv, Seq: seq})
	}
	for _, d := range u.cursors {
		w.Devices = append(w.Devices, d)
	}
	u.unflushed, u.touched, u.reads, u.cursors = nil, nil, nil, nil
	return w
}

// leaseInbox takes the inbox epoch that an activation on a store refusing
// writes went without, before its first inbox entries are written. The
// entries were numbered from the last stored seq seen then; if another
// writer moved it since, they are wrong and the grain restarts.
func (u *user) leaseInbox(ctx context.Context, entries []storage.InboxEntry) error {
	if !u.inboxLeaseDue || len(entries) == 0 {
		return nil
	}
	lease, err := u.rt.store.AcquireInbox(ctx, u.id)
	if err != nil {
		return err
	}
	if lease.LastSeq != entries[0].Seq-1 {
		return fmt.Errorf("inbox of %s moved to seq %d while this activation numbered from %d: %w",
			u.id, lease.LastSeq, entries[0].Seq-1, storage.ErrEpochLost)
	}
	u.inboxEpoch, u.inboxReserved, u.inboxLeaseDue = lease.Epoch, lease.ReservedSeq, false
	return nil
}

// reserveInbox raises the inbox reservation, InboxReserve ahead, when the
// entries go past it: one conditional write per range, not per entry.
func (u *user) reserveInbox(ctx context.Context, entries []storage.InboxEntry) error {
	if len(entries) == 0 || entries[len(entries)-1].Seq <= u.inboxReserved {
		return nil
	}
	upTo := entries[len(entries)-1].Seq + u.rt.cfg.InboxReserve
	if err := u.rt.store.ReserveInboxSeqs(ctx, u.id, u.inboxEpoch, upTo); err != nil {
		return err
	}
	u.inboxReserved = upTo
	return nil
}

// ---- deliveries ---------------------------------------------------------------

func (u *user) deliver(ctx actor.Context, d *pb.Deliver) {
	sender := ctx.Sender()
	uc, e := u.conv(d.Conv)
	if e != nil {
		respond(ctx, sender, &pb.Ack{Error: e})
		return
	}
	// Membership and mode travel with every Deliver; apply them only when
	// they are at least as new as what the grain knows, so a Deliver that
	// raced a newer notice cannot undo it.
	if e := u.takeMembership(d.Conv, uc, d.Member, d.Large, d.LastSeq, false); e != nil {
		respond(ctx, sender, &pb.Ack{Error: e})
		return
	}
	// A Deliver may repeat (its Ack was lost) or overlap what loading the
	// conversation just read from the store: every update is idempotent.
	fresh := d.Messages
	if len(fresh) == 0 {
		respond(ctx, sender, &pb.Ack{})
		return
	}
	var own uint64 // the user's own newest message: sending implies having read up to it
	for _, m := range fresh {
		if uc.member.Sees(m.Seq) {
			uc.lastSeq = max(uc.lastSeq, m.Seq)
		}
		if pbIsNews(m) && m.Sender == u.id && !m.AutoReply { // the node's automatic reply reads nothing
			own = m.Seq
		}
		switch m.Kind {
		case pb.MessageKind_REACTION, pb.MessageKind_VOTE:
			continue // no unread, no last message: it only marks its message
		case pb.MessageKind_POLL:
			if m.RefSeq != 0 {
				continue // a poll's close: the poll stays as it was listed
			}
		case pb.MessageKind_RECALL:
			uc.dropUnread(m.RefSeq)
			if uc.lastMsg != nil && uc.lastMsg.Seq == m.RefSeq {
				uc.lastMsg = cloneRecalled(uc.lastMsg)
			}
			continue
		case pb.MessageKind_NORMAL:
			if m.RefSeq != 0 {
				// An edit: the last message's new text if it edits that
				// one; no unread, no last message of its own.
				if uc.lastMsg != nil && uc.lastMsg.Seq == m.RefSeq && !uc.lastMsg.Recalled {
					uc.lastMsg = cloneEdited(uc.lastMsg, m)
				}
				continue
			}
		}
		if pbIsNews(m) && m.Sender != u.id && m.Seq > uc.readSeq && uc.member.Sees(m.Seq) {
			uc.addUnread(m.Seq, mentions(m, u.id))
			u.unarchiveOnNews(d.Conv, uc, m)
		}
		if !isGap(m) && (uc.lastMsg == nil || m.Seq >= uc.lastMsg.Seq) {
			uc.lastMsg = listed(m)
		}
	}
	u.offlinePush(d.Conv, uc, fresh)
	u.answerWhileAway(d.Conv, uc, fresh)
	u.remindLater(d.Conv, uc, fresh)
	// Gaps are not activity: a restore writes them all at once, and they
	// would reorder every conversation list by the time of the restore.
	// Nor are reactions and votes: a 👍 on an old message does not move its
	// conversation to the top.
	var at time.Time
	for _, m := range slices.Backward(fresh) {
		if !isGap(m) && m.Kind != pb.MessageKind_REACTION && m.Kind != pb.MessageKind_VOTE {
			at = fromMillis(m.ServerTsMs)
			break
		}
	}
	if at.After(uc.activity) {
		uc.activity = at
		u.touch(ctx, d.Conv, at)
	}
	if uc.large {
		// Read fan-out: only the sender hears of its own messages here.
		u.readOwn(ctx, d.Conv, uc, own)
		u.afterDurable(ackWaiter(ctx, sender, nil))
		return
	}
	var seq uint64
	seq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxMessage, ConvID: d.Conv, ConvSeq: uc.lastSeq, At: time.Now()}, ackWaiter(ctx, sender, func() {
		for _, m := range fresh {
			observeDelivery(m.ServerTsMs)
			u.pushAll(&pb.Push{User: u.id, InboxSeq: seq, Event: &pb.Push_Message{Message: m}}, "")
		}
	}))
	// The same rule in both fan-out modes, so unread means the same
	// thing whatever the group's size.
	u.readOwn(ctx, d.Conv, uc, own)
}

// takeMembership applies the membership and fan-out mode that a Deliver or
// a notice carries, when at least as new as what the grain knows (a Deliver
// that raced a newer notice cannot undo it). advance: the notice's last seq
// is the conversation's, to be taken as it is. A join again that sees
// earlier messages (pre-join history; an agent back in a service
// conversation sees it from its start) counts what it has not read of
// them, as a reload of the conversation would.
func (u *user) takeMembership(conv string, uc *userConv, m *pb.Member, large bool, lastSeq uint64, advance bool) *pb.Error {
	if lastSeq < uc.infoSeq {
		return nil
	}
	uc.infoSeq = lastSeq
	before := uc.member
	uc.setMember(memberFromPB(conv, m))
	if advance {
		uc.lastSeq = max(uc.lastSeq, uc.clamp(lastSeq))
	}
	if e := u.setLarge(conv, uc, large, lastSeq); e != nil {
		return e
	}
	if uc.large || !uc.member.Active() || (before.Active() && uc.member.JoinedSeq >= before.JoinedSeq) {
		return nil
	}
	uc.lastSeq = max(uc.lastSeq, uc.clamp(lastSeq))
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	return u.scanUnread(bg, conv, uc)
}

// setLarge switches a conversation's unread bookkeeping when the group
// crossed the fan-out threshold: small conversations keep the exact list
// of unread seqs (rebuilt from the log), large ones ask the conversation.
func (u *user) setLarge(id string, uc *userConv, large bool, lastSeq uint64) *pb.Error {
	if uc.large == large {
		return nil
	}
	uc.large = large
	uc.lastSeq = max(uc.lastSeq, uc.clamp(lastSeq))
	if large {
		uc.unread, uc.mentions = nil, nil
		u.refreshLarge([]string{id})
		return nil
	}
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	return u.scanUnread(bg, id, uc)
}

// clamp limits a conversation's last seq to what the member sees: a
// member that left sees nothing after its leave.
func (uc *userConv) clamp(seq uint64) uint64 {
	if !uc.member.Active() {
		return min(seq, uc.member.LeftSeq)
	}
	return seq
}

// setMember records the user's membership row; joining again replaces the
// row (a new joined seq), so unread seqs the user no longer sees go.
func (uc *userConv) setMember(m storage.Member) {
	uc.member = m
	unseen := func(seq uint64) bool { return !m.Sees(seq) }
	uc.unread = slices.DeleteFunc(uc.unread, unseen)
	uc.mentions = slices.DeleteFunc(uc.mentions, unseen)
}

// addUnread inserts seq into the unread list, once, and into the mention
// list too when the message mentions the user.
func (uc *userConv) addUnread(seq uint64, mentioned bool) {
	uc.unread = insertSeq(uc.unread, seq)
	if mentioned {
		uc.mentions = insertSeq(uc.mentions, seq)
	}
}

// insertSeq inserts seq into an ascending list, once.
func insertSeq(list []uint64, seq uint64) []uint64 {
	if i, found := slices.BinarySearch(list, seq); !found {
		list = slices.Insert(list, i, seq)
	}
	return list
}

// removeSeq removes seq from an ascending list.
func removeSeq(list []uint64, seq uint64) []uint64 {
	if i, found := slices.BinarySearch(list, seq); found {
		list = slices.Delete(list, i, i+1)
	}
	return list
}

func cloneRecalled(m *pb.Message) *pb.Message {
	c := &pb.Message{Conv: m.Conv, Seq: m.Seq, MsgId: m.MsgId, ClientMsgId: m.ClientMsgId, Sender: m.Sender, Kind: m.Kind,
		RefSeq: m.RefSeq, Recalled: true, Flagged: m.Flagged, ClientTsMs: m.ClientTsMs, ServerTsMs: m.ServerTsMs, SenderRole: m.SenderRole,
		ReplyTo: m.ReplyTo, Mentions: m.Mentions, ExpiresAtMs: m.ExpiresAtMs}
	return c
}

// listed is m as a conversation list keeps it: without its file's preview
// image (a list draws none; pushes and history carry it), so a user grain
// holds no image per conversation and a sync page stays small. Only a
// message with a preview image is copied.
func listed(m *pb.Message) *pb.Message {
	f := m.GetMedia()
	if len(f.GetThumb()) == 0 {
		return m
	}
	c := cloneEdited(m, &pb.Message{Body: m.Body})
	c.Recalled = m.Recalled
	c.Media = &pb.MediaRef{Id: f.Id, Name: f.Name, Mime: f.Mime, Size: f.Size, Width: f.Width, Height: f.Height, DurationMs: f.DurationMs}
	return c
}

// cloneEdited is m revised by edit: its new text, or a live location's
// new place.
func cloneEdited(m, edit *pb.Message) *pb.Message {
	c := cloneRecalled(m)
	c.Recalled, c.Body, c.Media, c.Location, c.Meta = false, edit.Body, m.Media, m.Location, m.Meta
	if edit.Location != nil && len(edit.Body) == 0 {
		c.Body, c.Location = m.Body, edit.Location // a live location's move: the caption stays
	}
	c.Forwarded, c.ForwardHops, c.AutoReply = m.Forwarded, m.ForwardHops, m.AutoReply
	return c
}

// dropUnread removes seq from the unread and mention lists (a recall).
func (uc *userConv) dropUnread(seq uint64) {
	uc.unread = removeSeq(uc.unread, seq)
	uc.mentions = removeSeq(uc.mentions, seq)
}

// touch records a conversation's new last activity; the next flush
// writes every conversation touched since the last one, once each. A burst
// of messages costs one write per conversation, not one per message.
func (u *user) touch(ctx actor.Context, conv string, at time.Time) {
	if u.touched == nil {
		u.touched = map[string]time.Time{}
	}
	if at.After(u.touched[conv]) {
		u.touched[conv] = at
	}
	u.scheduleFlush(ctx)
}

func (u *user) notice(ctx actor.Context, n *pb.MembershipNotice) {
	sender := ctx.Sender()
	uc, ok := u.convs[n.Conv]
	if !ok {
		var e *pb.Error
		if uc, e = u.conv(n.Conv); e != nil {
			respond(ctx, sender, &pb.Ack{Error: e})
			return
		}
	}
	uc.kind = storage.ConvKind(n.Kind)
	if n.LastSeq >= uc.titleSeq {
		uc.title, uc.picture, uc.frozen, uc.meta, uc.titleSeq = n.Title, n.PictureId, n.Frozen, n.Meta, n.LastSeq
	}
	unread, mentions := uc.unreadCount(), uc.unreadMentions()
	if e := u.takeMembership(n.Conv, uc, n.Member, n.Large, n.LastSeq, true); e != nil {
		respond(ctx, sender, &pb.Ack{Error: e})
		return
	}
	// Unread messages the user deleted for themself no longer count: their
	// devices learn the new counts with the membership push.
	var counts *pb.ReadUpdate
	if !uc.large && (uc.unreadCount() < unread || uc.unreadMentions() < mentions) {
		counts = &pb.ReadUpdate{Conv: n.Conv, ReadSeq: uc.readSeq, Unread: uc.unreadCount(), UnreadMentions: uc.unreadMentions()}
	}
	if uc.activity.IsZero() {
		uc.activity = time.Now()
		u.touch(ctx, n.Conv, uc.activity)
	}
	var seq uint64
	seq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxMembership, ConvID: n.Conv, ConvSeq: n.LastSeq, At: time.Now()}, ackWaiter(ctx, sender, func() {
		u.pushAll(&pb.Push{User: u.id, InboxSeq: seq, Event: &pb.Push_Membership{Membership: n}}, "")
		if counts != nil {
			u.pushAll(&pb.Push{User: u.id, Event: &pb.Push_Read{Read: counts}}, "")
		}
	}))
}

// pushAll sends a push to every online device but skip.
func (u *user) pushAll(p *pb.Push, skip string) {
	for id, d := range u.devices {
		if !u.connected(d) || id == skip {
			continue
		}
		pp := p
		if len(u.devices) > 1 {
			pp = clonePush(p)
		}
		pp.Device = id
		u.rt.system.Root.Send(d.conn, pp)
	}
}

// clonePush copies the envelope (the event is shared, read-only).
func clonePush(p *pb.Push) *pb.Push {
	return &pb.Push{User: p.User, InboxSeq: p.InboxSeq, Event: p.Event}
}

// isGap reports whether m is a gap (storage.GapMessage): no conversation's
// last message, as the conversation grain's summary skips it too.
func isGap(m *pb.Message) bool {
	return m.Kind == pb.MessageKind_SYSTEM && bytes.Equal(m.Body, storage.GapBody)
}
