package actors

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// user is the grain of one account: its devices and their inbox cursors,
// its inbox (the per-user change log), its conversations' read cursors and
// exact unread counts, and presence.
type user struct {
	rt  *Runtime
	id  string
	log *slog.Logger

	inboxSeq  uint64 // last inbox seq assigned
	devices   map[string]*device
	convs     map[string]*userConv
	allLoaded bool // every membership is in convs

	unflushed      []storage.InboxEntry
	afterFlush     []func() // run once the unflushed entries are durable
	flushScheduled bool
	touched        map[string]time.Time // last activity to write at the next flush
	broken         bool
}

type device struct {
	cursor   uint64
	lastSeen time.Time  // last connect or acknowledgement
	conn     *actor.PID // nil while offline
}

// userConv is the user's view of one conversation.
type userConv struct {
	kind     storage.ConvKind
	member   storage.Member
	large    bool
	readSeq  uint64
	lastSeq  uint64   // highest seq delivered (small) or last known (large)
	unread   []uint64 // counting seqs above readSeq, ascending (small conversations)
	nUnread  uint64   // large groups: as last computed by the conversation
	lastMsg  *pb.Message
	pinned   bool
	muted    bool
	activity time.Time
	// infoSeq is the conversation's last seq when member and large were
	// last set: older news (a Deliver that raced a notice) is ignored.
	infoSeq uint64
}

func (uc *userConv) unreadCount() uint64 {
	if uc.large {
		return uc.nUnread
	}
	return uint64(len(uc.unread))
}

type flushInbox struct{}

func newUser(rt *Runtime) *user { return &user{rt: rt, log: rt.log} }

func (u *user) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *cluster.ClusterInit:
		u.id = m.Identity.Identity
		u.log = u.rt.log.With("user", u.id)
		activations.WithLabelValues(KindUser).Inc()
		ctx.SetReceiveTimeout(u.rt.cfg.IdleTimeout)
		u.load(ctx)
	case *actor.ReceiveTimeout:
		// Poison, not Stop, so requests already queued are answered;
		// protoactor disarms the timer once it fired, so re-arm it.
		if len(u.unflushed) == 0 && !u.online() {
			passivations.WithLabelValues(KindUser).Inc()
			ctx.Poison(ctx.Self())
		} else {
			ctx.SetReceiveTimeout(u.rt.cfg.IdleTimeout)
		}
	case *actor.Stopping:
		// Entries queued but not written: write them now so the Delivers
		// waiting on them are acked instead of timing out.
		if !u.broken {
			u.flush(ctx)
		}
	case *pb.Deliver:
		u.deliver(ctx, m)
	case *pb.MembershipNotice:
		u.notice(ctx, m)
	case *pb.ReadReceipt:
		u.pushAll(&pb.Push{User: u.id, Event: &pb.Push_Receipt{Receipt: m}}, "")
	case *pb.RegisterDevice:
		u.register(ctx, m)
	case *pb.UnregisterDevice:
		if d := u.devices[m.Device]; d != nil && d.conn != nil && d.conn.Id == m.ConnId {
			d.conn = nil
		}
		respond(ctx, ctx.Sender(), &pb.Ack{})
	case *pb.Sync:
		u.sync(ctx, m)
	case *pb.AckCursor:
		u.ackCursor(ctx, m)
	case *pb.MarkRead:
		u.markRead(ctx, m)
	case *pb.ListConversations:
		u.list(ctx, m)
	case *pb.SetPinned:
		u.setPinned(ctx, m)
	case *pb.Presence:
		u.presence(ctx)
	case flushInbox:
		u.flush(ctx)
	}
}

func (u *user) online() bool {
	for _, d := range u.devices {
		if d.conn != nil {
			return true
		}
	}
	return false
}

func (u *user) load(ctx actor.Context) {
	bg := context.Background()
	u.devices = map[string]*device{}
	u.convs = map[string]*userConv{}
	var err error
	if u.inboxSeq, err = u.rt.store.LastInboxSeq(bg, u.id); err == nil {
		var ds []storage.Device
		if ds, err = u.rt.store.ListDevices(bg, u.id); err == nil {
			for _, d := range ds {
				u.devices[d.DeviceID] = &device{cursor: d.Cursor, lastSeen: d.LastSeen}
			}
		}
	}
	if err != nil {
		u.log.Error("activation failed", "err", err)
		u.broken = true
		ctx.Stop(ctx.Self())
		return
	}
	// Presence is not stored: ask every node to have this user's devices
	// connected there register again with this activation.
	for _, addr := range u.rt.ClusterMembers() {
		ctx.Send(actor.NewPID(addr, sessionRegistryName), &pb.PresenceProbe{User: u.id})
	}
}

// conv returns the user's view of a conversation, loading it on first use;
// nil if the user never was a member.
func (u *user) conv(id string) (*userConv, *pb.Error) {
	if uc, ok := u.convs[id]; ok {
		return uc, nil
	}
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	state, err := u.rt.store.GetUserConv(bg, u.id, id)
	if err != nil {
		return nil, storeErr(err)
	}
	res, err := u.rt.request(bg, KindConversation, id, &pb.ConvState{Conv: id, User: u.id, ReadSeq: state.ReadSeq})
	if err != nil {
		return nil, pbErr(pb.Code_RETRY, "conversation %s: %v", id, err)
	}
	cs := res.(*pb.ConvStateResponse)
	if e := cs.GetError(); e != nil {
		return nil, e
	}
	uc := &userConv{
		kind: storage.ConvKind(cs.Kind), member: memberFromPB(id, cs.Member), large: int(cs.MemberCount) > u.rt.cfg.FanoutThreshold,
		readSeq: state.ReadSeq, lastSeq: cs.LastSeq, nUnread: cs.Unread, lastMsg: cs.LastMessage, infoSeq: cs.LastSeq,
		pinned: state.Pinned, muted: state.Muted, activity: state.LastActivity,
	}
	if !uc.large {
		if e := u.scanUnread(bg, id, uc); e != nil {
			return nil, e
		}
	}
	u.convs[id] = uc
	return uc, nil
}

// maxUnreadScan bounds the messages read to rebuild one conversation's
// unread list on activation; past it the count saturates.
const maxUnreadScan = 10000

// scanUnread rebuilds the exact list of unread seqs from the log.
func (u *user) scanUnread(bg context.Context, conv string, uc *userConv) *pb.Error {
	from := max(uc.readSeq+1, uc.member.JoinedSeq)
	last := uc.lastSeq
	if !uc.member.Active() {
		last = min(last, uc.member.LeftSeq)
	}
	uc.unread = nil
	for from <= last && len(uc.unread) < maxUnreadScan {
		page, err := u.rt.store.ListMessages(bg, conv, from, last, storage.OldestFirst, 1000)
		if err != nil {
			return storeErr(err)
		}
		if len(page) == 0 {
			break
		}
		for i := range page {
			if countsAsUnread(&page[i], u.id) {
				uc.unread = append(uc.unread, page[i].Seq)
			}
		}
		from = page[len(page)-1].Seq + 1
	}
	return nil
}

func memberFromPB(conv string, m *pb.Member) storage.Member {
	return storage.Member{ConvID: conv, UserID: m.GetUser(), Role: storage.Role(m.GetRole()), JoinedSeq: m.GetJoinedSeq(), LeftSeq: m.GetLeftSeq(), Muted: m.GetMuted()}
}

// loadAll loads every conversation the user is or was a member of.
func (u *user) loadAll() *pb.Error {
	if u.allLoaded {
		return nil
	}
	bg, cancel := context.WithTimeout(context.Background(), 4*u.rt.cfg.RequestTimeout)
	defer cancel()
	after := ""
	for {
		page, err := u.rt.store.ListMemberships(bg, u.id, after, 1000)
		if err != nil {
			return storeErr(err)
		}
		for _, m := range page {
			if _, e := u.conv(m.ConvID); e != nil && e.Code != pb.Code_NOT_FOUND && e.Code != pb.Code_NOT_MEMBER {
				return e
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ConvID
	}
	u.allLoaded = true
	return nil
}

// refreshLarge asks each read fan-out group for its current unread count.
func (u *user) refreshLarge(convs []string) {
	for _, id := range convs {
		uc := u.convs[id]
		if uc == nil || !uc.large {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
		res, err := u.rt.request(ctx, KindConversation, id, &pb.ConvState{Conv: id, User: u.id, ReadSeq: uc.readSeq})
		cancel()
		if err != nil {
			continue
		}
		if cs := res.(*pb.ConvStateResponse); cs.Error == nil {
			uc.lastSeq, uc.nUnread, uc.lastMsg = cs.LastSeq, cs.Unread, cs.LastMessage
			uc.setMember(memberFromPB(id, cs.Member))
		}
	}
}

// refreshLast asks a small conversation for its last seq visible to the user.
func (u *user) refreshLast(id string, uc *userConv) {
	ctx, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	res, err := u.rt.request(ctx, KindConversation, id, &pb.ConvState{Conv: id, User: u.id, ReadSeq: uc.readSeq})
	if err != nil {
		return
	}
	if cs := res.(*pb.ConvStateResponse); cs.Error == nil {
		uc.lastSeq = max(uc.lastSeq, uc.clamp(cs.LastSeq))
	}
}

// ---- inbox ------------------------------------------------------------------

// appendInbox queues an inbox entry for the next flush; then runs once it
// is durable. It returns the entry's inbox seq.
func (u *user) appendInbox(ctx actor.Context, e storage.InboxEntry, then func()) uint64 {
	u.inboxSeq++
	e.UserID, e.Seq = u.id, u.inboxSeq
	u.unflushed = append(u.unflushed, e)
	if then != nil {
		u.afterFlush = append(u.afterFlush, then)
	}
	u.scheduleFlush(ctx)
	return e.Seq
}

// scheduleFlush queues a flush at the back of the mailbox, once: every
// message already queued is handled before it, and joins its writes.
func (u *user) scheduleFlush(ctx actor.Context) {
	if !u.flushScheduled {
		u.flushScheduled = true
		ctx.Send(ctx.Self(), flushInbox{})
	}
}

// flush writes the queued inbox entries in one append. A failed append
// leaves the inbox seq uncertain: the grain stops and its callers retry.
func (u *user) flush(ctx actor.Context) {
	u.flushScheduled = false
	u.writeTouches()
	if len(u.unflushed) == 0 {
		return
	}
	entries, then := u.unflushed, u.afterFlush
	u.unflushed, u.afterFlush = nil, nil
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	var err error
	maxBatch := u.rt.limits.MaxBatch
	for len(entries) > 0 && err == nil {
		n := min(len(entries), maxBatch)
		err = u.rt.store.AppendInbox(bg, u.id, entries[:n])
		entries = entries[n:]
	}
	if err != nil {
		u.log.Error("inbox append failed; restarting the grain", "err", err)
		u.broken = true
		ctx.Stop(ctx.Self()) // callers waiting on an Ack time out and retry
		return
	}
	for _, f := range then {
		f()
	}
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
	if d.LastSeq >= uc.infoSeq {
		uc.infoSeq = d.LastSeq
		uc.setMember(memberFromPB(d.Conv, d.Member))
		if e := u.setLarge(d.Conv, uc, d.Large, d.LastSeq); e != nil {
			respond(ctx, sender, &pb.Ack{Error: e})
			return
		}
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
		if m.Kind == pb.MessageKind_NORMAL && m.Sender == u.id {
			own = m.Seq
		}
		switch m.Kind {
		case pb.MessageKind_RECALL:
			uc.dropUnread(m.RefSeq)
			if uc.lastMsg != nil && uc.lastMsg.Seq == m.RefSeq {
				uc.lastMsg = cloneRecalled(uc.lastMsg)
			}
			continue
		case pb.MessageKind_NORMAL:
			if m.Sender != u.id && m.Seq > uc.readSeq && uc.member.Sees(m.Seq) && !m.Recalled {
				uc.addUnread(m.Seq)
			}
		}
		if uc.lastMsg == nil || m.Seq >= uc.lastMsg.Seq {
			uc.lastMsg = m
		}
	}
	last := fresh[len(fresh)-1]
	at := fromMillis(last.ServerTsMs)
	if at.After(uc.activity) {
		uc.activity = at
		u.touch(ctx, d.Conv, at)
	}
	if uc.large {
		// Read fan-out: only the sender hears of its own messages here.
		u.advanceRead(ctx, d.Conv, uc, own, "")
		u.afterDurable(ctx, func() { respond(ctx, sender, &pb.Ack{}) })
		return
	}
	var seq uint64
	seq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxMessage, ConvID: d.Conv, ConvSeq: uc.lastSeq, At: time.Now()}, func() {
		respond(ctx, sender, &pb.Ack{})
		for _, m := range fresh {
			observeDelivery(m.ServerTsMs)
			u.pushAll(&pb.Push{User: u.id, InboxSeq: seq, Event: &pb.Push_Message{Message: m}}, "")
		}
	})
	// The same rule in both fan-out modes, so unread means the same
	// thing whatever the group's size.
	u.advanceRead(ctx, d.Conv, uc, own, "")
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
		uc.unread = nil
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
	uc.unread = slices.DeleteFunc(uc.unread, func(seq uint64) bool { return !m.Sees(seq) })
}

// addUnread inserts seq into the unread list, once.
func (uc *userConv) addUnread(seq uint64) {
	i := sort.Search(len(uc.unread), func(i int) bool { return uc.unread[i] >= seq })
	if i < len(uc.unread) && uc.unread[i] == seq {
		return
	}
	uc.unread = append(uc.unread, 0)
	copy(uc.unread[i+1:], uc.unread[i:])
	uc.unread[i] = seq
}

func cloneRecalled(m *pb.Message) *pb.Message {
	c := &pb.Message{Conv: m.Conv, Seq: m.Seq, MsgId: m.MsgId, ClientMsgId: m.ClientMsgId, Sender: m.Sender, Kind: m.Kind,
		RefSeq: m.RefSeq, Recalled: true, Flagged: m.Flagged, ClientTsMs: m.ClientTsMs, ServerTsMs: m.ServerTsMs, SenderRole: m.SenderRole}
	return c
}

// dropUnread removes seq from the unread list (a recall).
func (uc *userConv) dropUnread(seq uint64) {
	i := sort.Search(len(uc.unread), func(i int) bool { return uc.unread[i] >= seq })
	if i < len(uc.unread) && uc.unread[i] == seq {
		uc.unread = append(uc.unread[:i], uc.unread[i+1:]...)
	}
}

// touch records a conversation's new last activity; the next flush writes
// every conversation touched since the last one, once each, beside the
// grain (activity only orders the conversation list, and the store never
// moves it backwards, so order of completion does not matter). A burst of
// messages costs one write per conversation, not one per message.
func (u *user) touch(ctx actor.Context, conv string, at time.Time) {
	if u.touched == nil {
		u.touched = map[string]time.Time{}
	}
	if at.After(u.touched[conv]) {
		u.touched[conv] = at
	}
	u.scheduleFlush(ctx)
}

// writeTouches hands the recorded activities to one goroutine.
func (u *user) writeTouches() {
	if len(u.touched) == 0 {
		return
	}
	touched := u.touched
	u.touched = nil
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
		defer cancel()
		for conv, at := range touched {
			if err := u.rt.store.TouchConversation(ctx, u.id, conv, at); err != nil {
				u.log.Warn("touch conversation", "conv", conv, "err", err)
			}
		}
	}()
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
	if n.LastSeq >= uc.infoSeq {
		uc.infoSeq = n.LastSeq
		uc.setMember(memberFromPB(n.Conv, n.Member))
		uc.lastSeq = max(uc.lastSeq, uc.clamp(n.LastSeq))
		if e := u.setLarge(n.Conv, uc, n.Large, n.LastSeq); e != nil {
			respond(ctx, sender, &pb.Ack{Error: e})
			return
		}
	}
	if uc.activity.IsZero() {
		uc.activity = time.Now()
		u.touch(ctx, n.Conv, uc.activity)
	}
	var seq uint64
	seq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxMembership, ConvID: n.Conv, ConvSeq: n.LastSeq, At: time.Now()}, func() {
		respond(ctx, sender, &pb.Ack{})
		u.pushAll(&pb.Push{User: u.id, InboxSeq: seq, Event: &pb.Push_Membership{Membership: n}}, "")
	})
}

// pushAll sends a push to every online device but skip.
func (u *user) pushAll(p *pb.Push, skip string) {
	for id, d := range u.devices {
		if d.conn == nil || id == skip {
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

// ---- devices --------------------------------------------------------------

func (u *user) register(ctx actor.Context, m *pb.RegisterDevice) {
	sender := ctx.Sender()
	if m.Device == "" || len(m.Device) > u.rt.limits.MaxIDBytes {
		respond(ctx, sender, &pb.RegisterDeviceResponse{Error: pbErr(pb.Code_INVALID, "bad device id")})
		return
	}
	if e := u.admitDevice(m.Device); e != nil {
		respond(ctx, sender, &pb.RegisterDeviceResponse{Error: e})
		return
	}
	d := u.devices[m.Device]
	if d == nil {
		d = &device{}
		u.devices[m.Device] = d
	}
	d.conn = actor.NewPID(m.ConnAddress, m.ConnId)
	d.lastSeen = time.Now()
	res := &pb.RegisterDeviceResponse{Cursor: d.cursor}
	if e := u.loadAll(); e != nil {
		res.Error = e
	}
	for id, uc := range u.convs {
		if uc.large && uc.member.Active() {
			res.LargeConvs = append(res.LargeConvs, id)
		}
	}
	sort.Strings(res.LargeConvs)
	respond(ctx, sender, res)
}

// admitDevice applies the per-user device caps to a device coming online:
// at most MaxOnlineDevices online at once (cluster-wide: this grain sees
// them all), and at most MaxDevices known devices, where a device unseen
// for DeviceExpiry no longer counts (and is forgotten here).
func (u *user) admitDevice(id string) *pb.Error {
	cfg := u.rt.cfg
	online, known := 0, 0
	expired := time.Now().Add(-cfg.DeviceExpiry)
	for did, d := range u.devices {
		switch {
		case d.conn != nil:
			online++
			known++
		case d.lastSeen.Before(expired) && did != id:
			delete(u.devices, did)
		default:
			known++
		}
	}
	d := u.devices[id]
	switch {
	case d != nil && d.conn != nil:
		return nil // the same device again (a reconnect or a re-registration)
	case online >= cfg.MaxOnlineDevices:
		return pbErr(pb.Code_TOO_MANY, "%s has %d devices online, limit %d", u.id, online, cfg.MaxOnlineDevices)
	case d == nil && known >= cfg.MaxDevices:
		return pbErr(pb.Code_TOO_MANY, "%s has %d devices, limit %d (a device unseen for %s expires)", u.id, known, cfg.MaxDevices, cfg.DeviceExpiry)
	}
	return nil
}

func (u *user) ackCursor(ctx actor.Context, m *pb.AckCursor) {
	sender := ctx.Sender()
	cursor := min(m.Cursor, u.inboxSeq-uint64(len(u.unflushed)))
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	got, err := u.rt.store.SetDeviceCursor(bg, u.id, m.Device, cursor, time.Now())
	if err != nil {
		respond(ctx, sender, &pb.Ack{Error: storeErr(err)})
		return
	}
	d := u.devices[m.Device]
	if d == nil {
		d = &device{}
		u.devices[m.Device] = d
	}
	d.cursor = got
	d.lastSeen = time.Now()
	respond(ctx, sender, &pb.Ack{})
}

func (u *user) presence(ctx actor.Context) {
	res := &pb.PresenceResponse{}
	for id, d := range u.devices {
		if d.conn != nil {
			res.Devices = append(res.Devices, &pb.PresenceResponse_Device{Device: id, ConnAddress: d.conn.Address})
		}
	}
	sort.Slice(res.Devices, func(i, j int) bool { return res.Devices[i].Device < res.Devices[j].Device })
	respond(ctx, ctx.Sender(), res)
}

// ---- sync, read, list -------------------------------------------------------

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
	if e := u.loadAll(); e != nil {
		respond(ctx, sender, &pb.SyncResponse{Error: e})
		return
	}
	var large []string
	for id, uc := range u.convs {
		if uc.large {
			large = append(large, id)
		}
	}
	u.refreshLarge(large)
	sort.Strings(large)
	for _, id := range large {
		if !seen[id] && u.convs[id].nUnread > 0 {
			seen[id] = true
			order = append(order, id)
		}
	}
	res := &pb.SyncResponse{Cursor: cursor, More: more, TotalUnread: u.totalUnread()}
	for _, id := range order {
		if uc, e := u.conv(id); e == nil {
			res.Conversations = append(res.Conversations, u.summary(id, uc))
		}
	}
	respond(ctx, sender, res)
}

func (u *user) summary(id string, uc *userConv) *pb.ConvSummary {
	return &pb.ConvSummary{
		Conv: id, Kind: convKindToPB(uc.kind), LastSeq: uc.lastSeq, Unread: uc.unreadCount(), ReadSeq: uc.readSeq,
		LastMessage: uc.lastMsg, Pinned: uc.pinned, Muted: uc.muted, LastActivityMs: millis(uc.activity), Member: uc.member.Active(),
	}
}

func (u *user) totalUnread() uint64 {
	var n uint64
	for _, uc := range u.convs {
		if !uc.muted {
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
	u.afterDurable(ctx, func() {
		respond(ctx, sender, &pb.MarkReadResponse{ReadSeq: uc.readSeq, TotalUnread: u.totalUnread()})
	})
}

// advanceRead moves the read cursor (never backwards, never past the last
// seq), records it in the inbox and tells the other devices and, for direct
// and service conversations, the other side.
func (u *user) advanceRead(ctx actor.Context, conv string, uc *userConv, seq uint64, fromDevice string) {
	seq = min(seq, uc.lastSeq)
	if seq <= uc.readSeq {
		return
	}
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	got, err := u.rt.store.AdvanceReadCursor(bg, u.id, conv, seq)
	if err != nil {
		u.log.Warn("advance read cursor", "conv", conv, "err", err)
		return
	}
	uc.readSeq = got
	i := sort.Search(len(uc.unread), func(i int) bool { return uc.unread[i] > got })
	uc.unread = append(uc.unread[:0], uc.unread[i:]...)
	if uc.large {
		uc.nUnread = 0
		if uc.lastSeq > got {
			u.refreshLarge([]string{conv})
		}
	}
	upd := &pb.ReadUpdate{Conv: conv, ReadSeq: got, Unread: uc.unreadCount()}
	var iseq uint64
	iseq = u.appendInbox(ctx, storage.InboxEntry{Kind: storage.InboxRead, ConvID: conv, ConvSeq: got, At: time.Now()}, func() {
		u.pushAll(&pb.Push{User: u.id, InboxSeq: iseq, Event: &pb.Push_Read{Read: upd}}, fromDevice)
	})
	if uc.kind == storage.KindDirect || uc.kind == storage.KindService {
		u.rt.tell(KindConversation, conv, &pb.ReadBy{Conv: conv, User: u.id, Seq: got})
	}
}

// afterDurable runs f once everything queued so far is durable.
func (u *user) afterDurable(ctx actor.Context, f func()) {
	if len(u.unflushed) == 0 {
		f()
		return
	}
	u.afterFlush = append(u.afterFlush, f)
}

func (u *user) list(ctx actor.Context, m *pb.ListConversations) {
	sender := ctx.Sender()
	if e := u.loadAll(); e != nil {
		respond(ctx, sender, &pb.ListConversationsResponse{Error: e})
		return
	}
	var large []string
	for id, uc := range u.convs {
		if uc.large {
			large = append(large, id)
		}
	}
	u.refreshLarge(large)
	type item struct {
		id string
		uc *userConv
	}
	items := make([]item, 0, len(u.convs))
	for id, uc := range u.convs {
		items = append(items, item{id, uc})
	}
	// Pinned first, then by last activity, newest first.
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.uc.pinned != b.uc.pinned {
			return a.uc.pinned
		}
		if !a.uc.activity.Equal(b.uc.activity) {
			return a.uc.activity.After(b.uc.activity)
		}
		return a.id < b.id
	})
	limit := int(m.Limit)
	if limit <= 0 || limit > u.rt.cfg.SyncPage {
		limit = u.rt.cfg.SyncPage
	}
	res := &pb.ListConversationsResponse{TotalUnread: u.totalUnread()}
	started := m.AfterConv == ""
	for _, it := range items {
		if !started {
			started = it.id == m.AfterConv
			continue
		}
		if len(res.Conversations) == limit {
			break
		}
		res.Conversations = append(res.Conversations, u.summary(it.id, it.uc))
	}
	respond(ctx, sender, res)
}

func (u *user) setPinned(ctx actor.Context, m *pb.SetPinned) {
	sender := ctx.Sender()
	uc, e := u.conv(m.Conv)
	if e == nil {
		e = authorize(uc.kind, m.Conv, u.id, &uc.member, ActPin)
	}
	if e != nil {
		respond(ctx, sender, &pb.Ack{Error: e})
		return
	}
	bg, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	if err := u.rt.store.SetPinned(bg, u.id, m.Conv, m.Pinned); err != nil {
		respond(ctx, sender, &pb.Ack{Error: storeErr(err)})
		return
	}
	uc.pinned = m.Pinned
	respond(ctx, sender, &pb.Ack{})
}
