package actors

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Sync, read cursors and the conversation list of the user grain.

// sync answers with the conversations changed since the device's cursor
// (read from the durable inbox), plus every read fan-out group with unread
// messages, which have no per-message inbox entries. Never message history.
func (u *user) sync(ctx actor.Context, m *pb.Sync) {
	sender := ctx.Sender()
	limit := int(m.Limit)
	if limit <= 0 || limit > u.rt.cfg.SyncPage {
		limit = u.rt.cfg.SyncPage
	}
	durable := u.inboxSeq - uint64(len(u.unflushed))
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	var order []string
	seen := map[string]bool{}
	cursor := min(m.Cursor, durable)
	more := false
scan:
	for cursor < durable {
		page, err := u.rt.store.ListInbox(bg, u.id, cursor, 1000)
		if err != nil {
			respond(ctx, sender, &pb.SyncResponse{Error: storeErr(err)})
			return
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Seq > durable {
				break scan
			}
			// An entry newer than this activation's view was written by
			// another activation of this user (two can run briefly while
			// the cluster's topology changes): reload the conversation
			// rather than answer from a stale view.
			if uc, ok := u.convs[e.ConvID]; ok && e.Kind == storage.InboxMessage && e.ConvSeq > uc.lastSeq {
				delete(u.convs, e.ConvID)
				u.allLoaded = false
			}
			if e.ConvID != "" && !seen[e.ConvID] {
				if len(order) == limit {
					more = true
					break scan
				}
				seen[e.ConvID] = true
				order = append(order, e.ConvID)
			}
			cursor = e.Seq
		}
	}
	large, e := u.loadAllFresh()
	if e != nil {
		respond(ctx, sender, &pb.SyncResponse{Error: e})
		return
	}
	for _, id := range large {
		if !seen[id] && u.convs[id].nUnread > 0 {
			seen[id] = true
			order = append(order, id)
		}
	}
	res := &pb.SyncResponse{Cursor: cursor, More: more, TotalUnread: u.totalUnread()}
	for _, id := range order {
		if uc, e := u.conv(id); e == nil {
			cs := u.summary(id, uc)
			cs.PeerReadSeq = u.peerRead(bg, id, uc)
			res.Conversations = append(res.Conversations, cs)
		}
	}
	respond(ctx, sender, res)
}

// peerRead is how far the other members of a direct or service
// conversation have read, from their durable read cursors: receipts are
// pushed only to devices online when the read happens, so a device that
// syncs afresh learns its own messages' read state here. 0 for other
// kinds, and when the store cannot say (the receipts still come).
func (u *user) peerRead(ctx context.Context, conv string, uc *userConv) uint64 {
	direct := uc.kind == storage.KindDirect
	if uc.lastSeq == 0 || (!direct && uc.kind != storage.KindService) || direct && u.hidesReceipts() {
		return 0
	}
	members, err := u.rt.store.ListMembers(ctx, conv, "", peerReadMembers)
	if err != nil {
		return 0
	}
	var read uint64
	for _, m := range members {
		if m.UserID == u.id || !m.Active() {
			continue
		}
		if direct {
			// A peer who hides their receipts shows no read.
			if p, e := loadPrivacy(ctx, u.rt.store, m.UserID); e != nil || p.hideReceipts {
				continue
			}
		}
		if pc, err := u.rt.store.GetUserConv(ctx, m.UserID, conv); err == nil {
			read = max(read, min(pc.ReadSeq, uc.lastSeq))
		}
	}
	return read
}

// peerReadMembers bounds the members peerRead looks at: a direct
// conversation has two, a service session a customer and its agents.
const peerReadMembers = 16

// loadAllFresh loads every conversation (loadAll) and refreshes the unread
// counts of the read fan-out groups among them, so a total counts every
// conversation as it is now; returns those groups' ids, sorted.
func (u *user) loadAllFresh() ([]string, *pb.Error) {
	if e := u.loadAll(); e != nil {
		return nil, e
	}
	var large []string
	for id, uc := range u.convs {
		if uc.large {
			large = append(large, id)
		}
	}
	u.refreshLarge(large)
	sort.Strings(large)
	return large, nil
}

func (u *user) summary(id string, uc *userConv) *pb.ConvSummary {
	last := uc.lastMsg
	if last != nil && (last.Seq < uc.member.VisibleFrom() || uc.member.Hides(last.Seq)) {
		last = nil // cleared (clear_history) or deleted for the user (hide)
	}
	return &pb.ConvSummary{
		Conv: id, Kind: convKindToPB(uc.kind), LastSeq: uc.lastSeq, Unread: uc.unreadCount(), UnreadMentions: uc.unreadMentions(), ReadSeq: uc.readSeq,
		LastMessage: unexpired(last, u.rt.contentClock(id)), Pinned: uc.pinned, Muted: uc.mutedNow(), Archived: uc.archivedNow(), MarkedUnread: uc.markedUnread || uc.snoozeOver(), LastActivityMs: millis(uc.activity), Member: uc.member.Active(),
		Title: uc.title, PictureId: uc.picture, ClearedSeq: uc.member.ClearedSeq, MutedUntilMs: uc.mutedUntilMs(), HiddenSeqs: uc.member.Hidden, Labels: uc.labels, ArchivedUntilMs: uc.archivedUntilMs(),
		Frozen: frozenAt(uc.frozen, u.rt.cfg.Now()), Meta: uc.meta,
	}
}

func (u *user) totalUnread() uint64 {
	var n uint64
	for _, uc := range u.convs {
		if !uc.mutedNow() {
			n += uc.unreadCount()
		}
	}
	return n
}

func (u *user) markRead(ctx actor.Context, m *pb.MarkRead) {
	sender := ctx.Sender()
	uc, e := u.conv(m.Conv)
	if e == nil {
		e = authorize(uc.kind, m.Conv, u.id, &uc.member, ActMarkRead)
	}
	if e != nil {
		respond(ctx, sender, &pb.MarkReadResponse{Error: e})
		return
	}
	if uc.large {
		u.refreshLarge([]string{m.Conv})
	} else if m.Seq > uc.lastSeq {
		// The device saw messages whose Deliver has not reached this
		// grain yet: learn the conversation's last seq so the read is not
		// clamped below what the device saw.
		u.refreshLast(m.Conv, uc)
	}
	u.advanceRead(ctx, m.Conv, uc, m.Seq, m.Device)
	u.clearMarkedUnread(ctx, m.Conv, uc)
	u.afterDurable(durableWaiter{
		done:   func() { respond(ctx, sender, &pb.MarkReadResponse{ReadSeq: uc.readSeq, TotalUnread: u.totalUnread()}) },
		refuse: func(e *pb.Error) { respond(ctx, sender, &pb.MarkReadResponse{Error: e}) },
	})
}

// markAllRead reads every conversation up to its last message (read
// fan-out groups as they are now) and clears every unread mark, with
// the same writes, pushes and receipts as a mark_read of each.
func (u *user) markAllRead(ctx actor.Context, m *pb.MarkAllRead) {
	sender := ctx.Sender()
	if _, e := u.loadAllFresh(); e != nil {
		respond(ctx, sender, &pb.MarkAllReadResponse{Error: e})
		return
	}
	ids := make([]string, 0, len(u.convs))
	for id := range u.convs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // one order: the receipts and pushes go in it
	var n uint32
	for _, id := range ids {
		uc := u.convs[id]
		if uc.unreadCount() == 0 && !uc.markedUnread || authorize(uc.kind, id, u.id, &uc.member, ActMarkRead) != nil {
			continue
		}
		u.advanceRead(ctx, id, uc, uc.lastSeq, m.Device)
		u.clearMarkedUnread(ctx, id, uc)
		n++
	}
	u.afterDurable(durableWaiter{
		done:   func() { respond(ctx, sender, &pb.MarkAllReadResponse{Conversations: n, TotalUnread: u.totalUnread()}) },
		refuse: func(e *pb.Error) { respond(ctx, sender, &pb.MarkAllReadResponse{Error: e}) },
	})
}

// readOwn moves the read cursor over the user's own newest message in a
// Deliver: sending implies having read up to it. When that clears no
// unread message of a small conversation, the move changes no count: only
// the cursor is written (it joins the message's own flush, and a reload
// counts unread from it), without the inbox entry, the push to the other
// devices and the receipt to the other side, which would tell nothing new
// (every message of the other side up to it was read and receipted).
func (u *user) readOwn(ctx actor.Context, conv string, uc *userConv, own uint64) {
	if own != 0 {
		u.clearMarkedUnread(ctx, conv, uc)
	}
	seq := min(own, uc.lastSeq)
	if seq <= uc.readSeq {
		return
	}
	if uc.large || (len(uc.unread) > 0 && uc.unread[0] <= seq) {
		u.advanceRead(ctx, conv, uc, seq, "")
		return
	}
	uc.readSeq = seq
	if u.reads == nil {
		u.reads = map[string]uint64{}
	}
	u.reads[conv] = seq
	ownReadsQuiet.Inc()
	if u.rt.cfg.OnRead != nil {
		u.rt.cfg.OnRead(u.id, conv, seq)
	}
	u.scheduleFlush(ctx)
}

// advanceRead moves the read cursor (never backwards, never past the last
// seq), records it in the inbox and tells the other devices and, for direct
// and service conversations, the other side.
func (u *user) advanceRead(ctx actor.Context, conv string, uc *userConv, seq uint64, fromDevice string) {
	seq = min(seq, uc.lastSeq)
	if seq <= uc.readSeq {
		return
	}
	// This grain is the only one that moves the user's read cursors: the
	// next flush writes it (max-wins) with the inbox entry below.
	got := seq
	uc.readSeq = got
	if u.reads == nil {
		u.reads = map[string]uint64{}
	}
	u.reads[conv] = got
	if u.rt.cfg.OnRead != nil {
		u.rt.cfg.OnRead(u.id, conv, got)
	}
	u.readForReminders(conv, got)
	after := func(list []uint64) []uint64 {
		i := sort.Search(len(list), func(i int) bool { return list[i] > got })
		return append(list[:0], list[i:]...)
	}
	uc.unread, uc.mentions = after(uc.unread), after(uc.mentions)
	if uc.large {
		uc.nUnread, uc.nMentions = 0, 0
		if uc.lastSeq > got {
			u.refreshLarge([]string{conv})
		}
	}
	upd := &pb.ReadUpdate{Conv: conv, ReadSeq: got, Unread: uc.unreadCount(), UnreadMentions: uc.unreadMentions()}
	var iseq uint64
	iseq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxRead, ConvID: conv, ConvSeq: got, At: time.Now()}, durableWaiter{done: func() {
		u.pushAll(&pb.Push{User: u.id, InboxSeq: iseq, Event: &pb.Push_Read{Read: upd}}, fromDevice)
	}})
	if uc.kind == storage.KindService || uc.kind == storage.KindDirect && !u.hidesReceipts() {
		u.rt.tell(KindConversation, conv, &pb.ReadBy{Conv: conv, User: u.id, Seq: got})
	}
}

// afterDurable answers w once everything queued so far is durable.
func (u *user) afterDurable(w durableWaiter) {
	if !u.pending() {
		w.done()
		return
	}
	u.afterFlush = append(u.afterFlush, w)
}

func (u *user) list(ctx actor.Context, m *pb.ListConversations) {
	sender := ctx.Sender()
	if m.IdsOnly {
		respond(ctx, sender, u.listIDs(m))
		return
	}
	if _, e := u.loadAllFresh(); e != nil {
		respond(ctx, sender, &pb.ListConversationsResponse{Error: e})
		return
	}
	items := u.ordered(m.Archived)
	limit := int(m.Limit)
	if limit <= 0 || limit > u.rt.cfg.SyncPage {
		limit = u.rt.cfg.SyncPage
	}
	// The page starts after the cursor conversation's place in the order:
	// one that left this list since the last page (archived, brought back,
	// unpinned) still marks where the next page starts, rather than ending
	// the list early.
	from := 0
	if m.AfterConv != "" {
		from = len(items)
		if cur, ok := u.convs[m.AfterConv]; ok {
			at := listItem{m.AfterConv, cur}
			from = sort.Search(len(items), func(i int) bool { return listsBefore(at, items[i]) })
		}
	}
	res := &pb.ListConversationsResponse{TotalUnread: u.totalUnread()}
	for _, it := range items[from:] {
		if len(res.Conversations) == limit {
			break
		}
		if m.Label != "" && !slices.Contains(it.uc.labels, m.Label) || m.Topic != "" && wirepb.DirectTopic(it.id) != m.Topic {
			continue
		}
		res.Conversations = append(res.Conversations, u.summary(it.id, it.uc))
	}
	respond(ctx, sender, res)
}

// listIDs answers an ids_only list: the main list's ids then the archived
// one's, from m.FromConv on, at most m.Limit (SyncPage when 0). Large
// groups keep their place as of the grain's last look at them.
func (u *user) listIDs(m *pb.ListConversations) *pb.ListConversationsResponse {
	if e := u.loadAll(); e != nil {
		return &pb.ListConversationsResponse{Error: e}
	}
	limit := int(m.Limit)
	if limit <= 0 {
		limit = u.rt.cfg.SyncPage
	}
	res := &pb.ListConversationsResponse{}
	started := m.FromConv == ""
	for _, archived := range []bool{false, true} {
		for _, it := range u.ordered(archived) {
			started = started || it.id == m.FromConv
			if !started {
				continue
			}
			if len(res.ConvIds) == limit {
				return res
			}
			res.ConvIds = append(res.ConvIds, it.id)
		}
	}
	return res
}

// listItem is one conversation of the user's lists.
type listItem struct {
	id string
	uc *userConv
}

// ordered lists the user's main (or archived) conversations in their
// list's order.
func (u *user) ordered(archived bool) []listItem {
	items := make([]listItem, 0, len(u.convs))
	for id, uc := range u.convs {
		if uc.archivedNow() == archived {
			items = append(items, listItem{id, uc})
		}
	}
	sort.Slice(items, func(i, j int) bool { return listsBefore(items[i], items[j]) })
	return items
}

// listsBefore is the lists' order: pinned first, then by last activity,
// newest first.
func listsBefore(a, b listItem) bool {
	if a.uc.pinned != b.uc.pinned {
		return a.uc.pinned
	}
	if !a.uc.activity.Equal(b.uc.activity) {
		return a.uc.activity.After(b.uc.activity)
	}
	return a.id < b.id
}

func (u *user) setPinned(ctx actor.Context, m *pb.SetPinned) {
	e := u.setOwnFlag(ctx, m.Conv, func(bg context.Context, uc *userConv) error {
		if err := u.rt.store.SetPinned(bg, u.id, m.Conv, m.Pinned); err != nil {
			return err
		}
		uc.pinned = m.Pinned
		return nil
	})
	respond(ctx, ctx.Sender(), &pb.Ack{Error: e})
}

func (u *user) setArchived(ctx actor.Context, m *pb.SetArchived) {
	e := u.setOwnFlag(ctx, m.Conv, func(bg context.Context, uc *userConv) error {
		var seq uint64 // from the next message on, news brings it back
		if m.Archived {
			u.refreshLarge([]string{m.Conv}) // a large group's last seq is only as fresh as the last look
			seq = uc.lastSeq + 1
		}
		if err := u.rt.store.SetArchived(bg, u.id, m.Conv, seq, fromMillis(m.UntilMs)); err != nil {
			return err
		}
		uc.archivedSeq, uc.archivedUntil = seq, m.UntilMs
		return nil
	})
	respond(ctx, ctx.Sender(), &pb.Ack{Error: e})
}

func (u *user) setMarkedUnread(ctx actor.Context, m *pb.SetMarkedUnread) {
	e := u.setOwnFlag(ctx, m.Conv, func(bg context.Context, uc *userConv) error {
		if err := u.rt.store.SetMarkedUnread(bg, u.id, m.Conv, m.Marked); err != nil {
			return err
		}
		uc.markedUnread = m.Marked
		return nil
	})
	respond(ctx, ctx.Sender(), &pb.Ack{Error: e})
}

// clearMarkedUnread: a read of the conversation (a mark_read, even one
// that moves no cursor, or the user's own news) takes the user's mark
// away, and tells the user's devices. Rare (once per mark), so the write
// is synchronous.
func (u *user) clearMarkedUnread(ctx actor.Context, conv string, uc *userConv) {
	over := uc.snoozeOver()
	if !uc.markedUnread && !over {
		return
	}
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	if uc.markedUnread {
		uc.markedUnread = false
		if err := u.rt.store.SetMarkedUnread(bg, u.id, conv, false); err != nil {
			// Cleared in the list now; a reload shows the mark until the next read.
			u.rt.log.Warn("unread mark not cleared in the store", "user", u.id, "conv", conv, "err", err)
		}
	}
	if over { // the snooze that brought it back is read: it is a plain conversation again
		uc.archivedSeq, uc.archivedUntil = 0, 0
		if err := u.rt.store.SetArchived(bg, u.id, conv, 0, time.Time{}); err != nil {
			u.rt.log.Warn("ended snooze not cleared in the store", "user", u.id, "conv", conv, "err", err)
		}
	}
	u.flagsChanged(ctx, conv, uc)
}

// unarchiveOnNews brings an archived conversation back to the main list
// when m is news (isNews) from someone else since it was archived
// (repeats of older Delivers are not news). A muted conversation stays archived. Rare (once per
// return), so the write is synchronous.
func (u *user) unarchiveOnNews(conv string, uc *userConv, m *pb.Message) {
	if uc.archivedSeq == 0 || uc.mutedNow() || m == nil || m.Seq < uc.archivedSeq || !pbIsNews(m) || m.Sender == u.id {
		return
	}
	uc.archivedSeq, uc.archivedUntil = 0, 0
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	if err := u.rt.store.SetArchived(bg, u.id, conv, 0, time.Time{}); err != nil {
		// The list shows it now; the store has it archived until the next
		// message or the user's own unarchive.
		u.rt.log.Warn("unarchive on a new message not stored", "user", u.id, "conv", conv, "err", err)
	}
}

// setMuted answers with the total unread count, which a mute changes (of
// every conversation, as list and sync count it).
func (u *user) setMuted(ctx actor.Context, m *pb.SetMuted) {
	var until time.Time
	e := u.checkMuteFor(m)
	if e == nil && m.ForMs > 0 {
		until = time.Now().Add(time.Duration(m.ForMs) * time.Millisecond)
	}
	if e == nil {
		_, e = u.loadAllFresh()
	}
	if e == nil {
		e = u.setOwnFlag(ctx, m.Conv, func(bg context.Context, uc *userConv) error {
			if err := u.rt.store.SetMuted(bg, u.id, m.Conv, m.Muted, until); err != nil {
				return err
			}
			uc.muted, uc.mutedUntil = m.Muted, millis(until)
			return nil
		})
	}
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.SetMutedResponse{Error: e})
		return
	}
	respond(ctx, ctx.Sender(), &pb.SetMutedResponse{TotalUnread: u.totalUnread()})
}

// checkMuteFor checks a mute's duration: none, or positive up to
// Config.MaxMuteFor, and only on a mute.
func (u *user) checkMuteFor(m *pb.SetMuted) *pb.Error {
	switch limit := u.rt.cfg.MaxMuteFor; {
	case m.ForMs < 0:
		return pbErr(pb.Code_INVALID, "a mute for %d ms: want a positive duration, or 0 for until unmuted", m.ForMs)
	case m.ForMs > limit.Milliseconds():
		return pbErr(pb.Code_INVALID, "a mute for %v: at most %v", time.Duration(m.ForMs)*time.Millisecond, limit)
	case m.ForMs > 0 && !m.Muted:
		return pbErr(pb.Code_INVALID, "a duration is a mute's: an unmute has none")
	}
	return nil
}

// setOwnFlag applies set to a conversation's entry in the user's own list
// (pin, mute, archive, mark unread: one rule, ActPin, for all) once the
// user may change it, and tells the user's devices (flagsChanged).
func (u *user) setOwnFlag(ctx actor.Context, conv string, set func(context.Context, *userConv) error) *pb.Error {
	uc, e := u.conv(conv)
	if e == nil {
		e = authorize(uc.kind, conv, u.id, &uc.member, ActPin)
	}
	if e != nil {
		return e
	}
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	if err := set(bg, uc); err != nil {
		if r, ok := err.(refusal); ok {
			return r.e
		}
		return storeErr(err)
	}
	u.flagsChanged(ctx, conv, uc)
	return nil
}

// refusal is a flag change's own refusal (a bound, not the store), which
// setOwnFlag answers as it is.
type refusal struct{ e *pb.Error }

func (r refusal) Error() string { return r.e.GetMessage() }

// flagsChanged tells the user's devices that the user's own flags of conv
// changed: an inbox entry, so that a sync from an older cursor lists the
// conversation, and once it is durable a push to every connected device
// (the one that made the change too: taking it again changes nothing).
func (u *user) flagsChanged(ctx actor.Context, conv string, uc *userConv) {
	upd := &pb.FlagsUpdate{Conv: conv, Pinned: uc.pinned, Muted: uc.mutedNow(), Archived: uc.archivedNow(), MarkedUnread: uc.markedUnread || uc.snoozeOver(),
		MutedUntilMs: uc.mutedUntilMs(), Labels: uc.labels, ArchivedUntilMs: uc.archivedUntilMs()}
	var iseq uint64
	iseq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxFlags, ConvID: conv, ConvSeq: uc.lastSeq, At: time.Now()}, durableWaiter{done: func() {
		u.pushAll(&pb.Push{User: u.id, InboxSeq: iseq, Event: &pb.Push_Flags{Flags: upd}}, "")
	}})
}

// ownReadsQuiet counts the read cursor moves over the user's own message
// that wrote only the cursor (readOwn).
var ownReadsQuiet = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_own_reads_quiet_total",
	Help: "Read cursor moves over the user's own message that changed no unread count: cursor written, no inbox entry, push or receipt.",
})

func init() { prometheus.MustRegister(ownReadsQuiet) }
