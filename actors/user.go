package actors

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/storage"
)

// user is the grain of one account: its devices and their inbox cursors,
// its inbox (the per-user change log), its conversations' read cursors and
// exact unread counts, and presence.
type user struct {
	rt *Runtime // logs go to its logger, naming the user: a logger per grain costs heap
	id string

	inboxSeq uint64 // last inbox seq assigned
	// inboxEpoch fences this activation's inbox writes (AcquireInbox at
	// activation): a later activation's entries always win, and this
	// one's flush fails once it was taken over. inboxReserved is the
	// highest inbox seq it may assign before reserving more.
	inboxEpoch, inboxReserved uint64
	devices                   map[string]*device
	convs                     map[string]*userConv

	unflushed  []storage.InboxEntry
	afterFlush []durableWaiter           // answered once the unflushed entries are durable
	touched    map[string]time.Time      // last activity to write at the next flush
	reads      map[string]uint64         // read cursors to write at the next flush
	cursors    map[string]storage.Device // device cursors to write at the next flush
	idle       idleStamp
	guard      *userGuard // suspension, new-direct limit (user_guard.go); nil: neither
	away       *userAway  // the away message (user_away.go); nil: not read yet
	quiet      *userQuiet // the quiet hours (user_quiet.go); nil: not read yet

	// The flags last, packed (an idle grain's size is its heap).

	// inboxLeaseDue: activated while the store refused writes, so without
	// an inbox epoch yet.
	inboxLeaseDue    bool
	allLoaded        bool // every membership is in convs
	suspensionLoaded bool // suspension was read from the store
	privacyLoaded    bool // presence sharing was read from the store
	flushScheduled   bool
	flushDelayed     bool // a flush of writes without inbox entries is due after CursorFlushDelay
	broken           bool
}

type device struct {
	cursor   uint64
	lastSeen time.Time  // last connect, acknowledgement or disconnect
	conn     *actor.PID // nil while offline
	// connAt is when conn's session began (RegisterDevice.connected_at).
	connAt int64
}

// userConv is the user's view of one conversation.
type userConv struct {
	kind    storage.ConvKind
	member  storage.Member
	large   bool
	readSeq uint64
	lastSeq uint64   // highest seq delivered (small) or last known (large)
	unread  []uint64 // counting seqs above readSeq, ascending (small conversations)
	nUnread uint64   // large groups: as last computed by the conversation
	// mentions are the seqs of unread that mention the user; nMentions
	// their count in large groups, as last computed by the conversation.
	mentions  []uint64
	nMentions uint64
	lastMsg   *pb.Message
	pinned    bool
	muted     bool
	// mutedUntil: a muted conversation's mute ends then (ms; 0: until
	// unmuted). Past it the conversation counts as not muted (mutedNow).
	mutedUntil int64
	// archivedSeq: archived until a message at this seq or later from
	// someone else (0: in the main list); storage.UserConv.ArchivedSeq.
	archivedSeq uint64
	// archivedUntil: a snooze, archived until then (Unix ms; 0: until news
	// or the user brings it back). Past it the conversation counts as in
	// the main list and marked unread (snoozeOver), by the clock alone.
	archivedUntil int64
	// markedUnread: the user marked it unread; its next read clears it.
	markedUnread bool
	activity     time.Time
	// labels: the user's own labels of it, ascending (nil for most).
	labels []string
	// infoSeq is the conversation's last seq when member and large were
	// last set: older news (a Deliver that raced a notice) is ignored.
	infoSeq uint64
	// title and picture are a group's name and its picture's id, frozen
	// its freeze (nil: open) and meta the app's data about it, as of
	// titleSeq (the conversation's last seq when they were told): an
	// older notice does not undo a rename.
	title, picture string
	frozen         *pb.Frozen
	meta           map[string]string
	titleSeq       uint64
}

// mutedNow: the user's mute of the conversation holds now (a timed mute
// ends by itself, with no write).
func (uc *userConv) mutedNow() bool {
	return uc.muted && (uc.mutedUntil == 0 || time.Now().UnixMilli() < uc.mutedUntil)
}

// archivedNow reports whether the conversation is in the user's archived
// list now: archived, and not a snooze that ended.
func (uc *userConv) archivedNow() bool {
	return uc.archivedSeq != 0 && (uc.archivedUntil == 0 || time.Now().UnixMilli() < uc.archivedUntil)
}

// snoozeOver reports whether a snooze ended and the user has not read the
// conversation since: it shows in the main list, marked unread.
func (uc *userConv) snoozeOver() bool {
	return uc.archivedSeq != 0 && uc.archivedUntil != 0 && time.Now().UnixMilli() >= uc.archivedUntil
}

// archivedUntilMs is when a snooze that holds now ends (0: none).
func (uc *userConv) archivedUntilMs() int64 {
	if !uc.archivedNow() {
		return 0
	}
	return uc.archivedUntil
}

// mutedUntilMs is when a mute that holds now ends (0: none, or never).
func (uc *userConv) mutedUntilMs() int64 {
	if !uc.mutedNow() {
		return 0
	}
	return uc.mutedUntil
}

func (uc *userConv) unreadCount() uint64 {
	if uc.large {
		return uc.nUnread
	}
	return uint64(len(uc.unread))
}

func (uc *userConv) unreadMentions() uint64 {
	if uc.large {
		return uc.nMentions
	}
	return uint64(len(uc.mentions))
}

type flushInbox struct{}

func newUser(rt *Runtime) *user { return &user{rt: rt} }

func (u *user) Receive(ctx actor.Context) {
	msg := ctx.Message()
	if _, ok := msg.(idleCheck); ok {
		// Poison, not Stop, so requests already queued are answered.
		if !u.rt.idle.idle(&u.idle) {
			return
		}
		if u.pending() || u.online() || u.firstContactsSpent() || u.uploadsSpent() {
			u.rt.idle.touch(&u.idle)
			return
		}
		passivations.WithLabelValues(KindUser).Inc()
		ctx.Poison(ctx.Self())
		return
	}
	u.rt.idle.touch(&u.idle)
	switch m := msg.(type) {
	case *actor.Started:
		_, u.id, _ = placement.Identity(ctx.Self())
		activations.WithLabelValues(KindUser).Inc()
		u.rt.idle.add(&u.idle, ctx.Self())
		u.load(ctx)
	case *actor.Stopped, *actor.Restarting:
		u.rt.idle.remove(&u.idle)
	case *actor.Stopping:
		// Entries queued but not written: write them now so the Delivers
		// waiting on them are acked instead of timing out.
		if !u.broken {
			u.flush(ctx)
		}
		u.handOffDevices(ctx)
	case *pb.Deliver:
		u.deliver(ctx, m)
	case *pb.MembershipNotice:
		u.notice(ctx, m)
	case *pb.ReadReceipt:
		// Reciprocity: who hides their receipts sees none.
		if strings.HasPrefix(m.Conv, DirectPrefix) && u.hidesReceipts() {
			return
		}
		u.pushAll(&pb.Push{User: u.id, Event: &pb.Push_Receipt{Receipt: m}}, "")
	case *pb.RegisterDevice:
		u.register(ctx, m)
	case *pb.UnregisterDevice:
		u.unregister(ctx, m)
	case *pb.Sync:
		u.sync(ctx, m)
	case *pb.AckCursor:
		u.ackCursor(ctx, m)
	case *pb.MarkRead:
		u.markRead(ctx, m)
	case *pb.MarkAllRead:
		u.markAllRead(ctx, m)
	case *pb.ListConversations:
		u.list(ctx, m)
	case *pb.SetPinned:
		u.setPinned(ctx, m)
	case *pb.SetMuted:
		u.setMuted(ctx, m)
	case *pb.SetArchived:
		u.setArchived(ctx, m)
	case *pb.SetMarkedUnread:
		u.setMarkedUnread(ctx, m)
	case *pb.SetLabels:
		u.setLabels(ctx, m)
	case *pb.Presence:
		u.presence(ctx, m)
	case *pb.SetPrivacy:
		u.setPrivacy(ctx, m)
	case *pb.ReminderDue:
		u.reminderDue(ctx, m)
	case *pb.SetStarred:
		u.setStarred(ctx, m)
	case *pb.SetProfile:
		u.setProfile(ctx, m)
	case *pb.SetAway:
		u.setAway(ctx, m)
	case *pb.SetQuietHours:
		u.setQuietHours(ctx, m)
	case *pb.SetDraft:
		u.setDraft(ctx, m)
	case *pb.RecordJoinAsk:
		u.recordJoinAsk(ctx, m)
	case *pb.ListChanged:
		u.listChanged(m.List, m.Conv)
		if m.List == pb.ListsUpdate_JOIN_REQUESTS && m.From != "" {
			u.joinRequestPush(m)
		}
	case *pb.RingOffline:
		u.ringPush(m)
	case *pb.PutScheduled:
		u.putScheduled(ctx, m)
	case *pb.DropScheduled:
		u.dropScheduled(ctx, m)
	case *pb.ListStarred:
		u.listStarred(ctx, m)
	case *pb.SetSuspension:
		u.setSuspension(ctx, m)
	case *pb.GetSuspension:
		u.getSuspension(ctx)
	case *pb.OpenDirect:
		respond(ctx, ctx.Sender(), &pb.OpenDirectResponse{Error: u.openDirect(m.Peer)})
	case *pb.CheckReminder:
		u.checkReminder(ctx, m)
	case *pb.SpendUpload:
		respond(ctx, ctx.Sender(), &pb.SpendUploadResponse{Error: u.spendUpload(m.Bytes)})
	case flushInbox:
		u.flush(ctx)
	}
}

// setDevice adds a device; the map is made on first use (an idle grain
// without devices holds none).
func (u *user) setDevice(id string, d *device) {
	if u.devices == nil {
		u.devices = map[string]*device{}
	}
	u.devices[id] = d
}

func (u *user) online() bool {
	for _, d := range u.devices {
		if u.connected(d) {
			return true
		}
	}
	return false
}

func (u *user) load(ctx actor.Context) {
	bg := context.Background()
	// The suspension is read beside the inbox lease, not after it: a
	// registration needs both, and on Cassandra a read in series was one
	// more round trip on every first connect.
	suspension := u.prefetchSuspension()
	lease, err := u.rt.store.AcquireInbox(bg, u.id)
	if errors.Is(err, storage.ErrUnavailable) {
		// A store that refuses writes (a full disk) still serves reads:
		// activate without an inbox epoch; the first flush with inbox
		// entries takes it (flush).
		u.inboxLeaseDue = true
		lease.LastSeq, err = u.rt.store.LastInboxSeq(bg, u.id)
	}
	if err == nil {
		u.inboxEpoch, u.inboxReserved, u.inboxSeq = lease.Epoch, lease.ReservedSeq, lease.LastSeq
		var ds []storage.Device
		if ds, err = u.rt.store.ListDevices(bg, u.id); err == nil {
			for _, d := range ds {
				u.setDevice(d.DeviceID, &device{cursor: d.Cursor, lastSeen: d.LastSeen})
			}
		}
	}
	u.suspensionPrefetched(<-suspension)
	if err != nil {
		u.rt.log.Error("activation failed", "user", u.id, "err", err)
		u.broken = true
		ctx.Stop(ctx.Self())
		return
	}
	// Presence is not stored: ask every node to have this user's devices
	// connected there register again with this activation.
	if u.rt.log.Enabled(context.Background(), slog.LevelDebug) { // activations are frequent: no arguments built for nothing
		u.rt.log.Debug("user grain activated; probing the members for its devices", "user", u.id, "grain", ctx.Self().Id, "members", u.rt.ClusterMembers())
	}
	probe := &pb.PresenceProbe{User: u.id, GrainAddress: ctx.Self().Address, GrainId: ctx.Self().Id}
	for _, addr := range u.rt.ClusterMembers() {
		ctx.Send(actor.NewPID(addr, sessionRegistryName), probe)
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
	res, err := u.askConv(bg, id, &pb.ConvState{Conv: id, User: u.id, ReadSeq: state.ReadSeq})
	if err != nil {
		return nil, pbErr(pb.Code_RETRY, "conversation %s: %v", id, err)
	}
	cs := res.(*pb.ConvStateResponse)
	if e := cs.GetError(); e != nil {
		return nil, e
	}
	uc := &userConv{
		kind: storage.ConvKind(cs.Kind), member: memberFromPB(id, cs.Member), large: int(cs.MemberCount) > u.rt.cfg.FanoutThreshold,
		readSeq: state.ReadSeq, lastSeq: cs.LastSeq, nUnread: cs.Unread, nMentions: cs.UnreadMentions, lastMsg: cs.LastMessage, infoSeq: cs.LastSeq,
		title: cs.Title, picture: cs.PictureId, frozen: cs.Frozen, meta: cs.Meta, titleSeq: cs.LastSeq,
		pinned: state.Pinned, muted: state.Muted, mutedUntil: millis(state.MutedUntil), archivedSeq: state.ArchivedSeq, archivedUntil: millis(state.ArchivedUntil), markedUnread: state.MarkedUnread, activity: state.LastActivity,
		labels: state.Labels,
	}
	if !uc.large {
		if e := u.scanUnread(bg, id, uc); e != nil {
			return nil, e
		}
	}
	if u.convs == nil {
		u.convs = map[string]*userConv{}
	}
	u.convs[id] = uc
	return uc, nil
}

// askConv asks a conversation grain for its state from inside this
// grain's mailbox, which waits meanwhile. Attempts start short
// (DeliverAttemptTimeout, doubling, as the fan-out's do): ConvState only
// reads, and a request lost while the conversation moves (a node joining
// or leaving) then costs the user's pushes a second, not a whole
// RequestTimeout.
func (u *user) askConv(ctx context.Context, id string, m *pb.ConvState) (any, error) {
	return u.rt.requestEach(ctx, KindConversation, id, m, u.rt.cfg.DeliverAttemptTimeout)
}

// maxUnreadScan bounds the messages read to rebuild one conversation's
// unread list on activation; past it the count saturates.
const maxUnreadScan = 10000

// scanUnread rebuilds the exact list of unread seqs from the log.
func (u *user) scanUnread(bg context.Context, conv string, uc *userConv) *pb.Error {
	from := max(uc.readSeq+1, uc.member.VisibleFrom())
	last := uc.lastSeq
	if !uc.member.Active() {
		last = min(last, uc.member.LeftSeq)
	}
	uc.unread, uc.mentions = nil, nil
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
				if storage.Mentioned(page[i].Mentions, page[i].Sender, u.id) {
					uc.mentions = append(uc.mentions, page[i].Seq)
				}
			}
		}
		from = page[len(page)-1].Seq + 1
	}
	return nil
}

func memberFromPB(conv string, m *pb.Member) storage.Member {
	mem := storage.Member{ConvID: conv, UserID: m.GetUser(), Role: storage.Role(m.GetRole()), JoinedSeq: m.GetJoinedSeq(), LeftSeq: m.GetLeftSeq(), Muted: m.GetMuted(),
		ClearedSeq: m.GetClearedSeq(), Hidden: m.GetHidden()}
	if ms := m.GetMutedUntilMs(); ms > 0 {
		mem.MutedUntil = time.UnixMilli(ms)
	}
	return mem
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
		res, err := u.askConv(ctx, id, &pb.ConvState{Conv: id, User: u.id, ReadSeq: uc.readSeq})
		cancel()
		if err != nil {
			continue
		}
		if cs := res.(*pb.ConvStateResponse); cs.Error == nil {
			u.unarchiveOnNews(id, uc, cs.LastMessage)
			uc.lastSeq, uc.nUnread, uc.nMentions, uc.lastMsg = cs.LastSeq, cs.Unread, cs.UnreadMentions, cs.LastMessage
			uc.setMember(memberFromPB(id, cs.Member))
			if cs.LastSeq >= uc.titleSeq {
				uc.title, uc.picture, uc.frozen, uc.meta, uc.titleSeq = cs.Title, cs.PictureId, cs.Frozen, cs.Meta, cs.LastSeq
			}
		}
	}
}

// refreshLast asks a small conversation for its last seq visible to the
// user. A join again that the conversation acked but whose notice has not
// reached this grain yet is taken from the answer, so a read right after
// the join is not clamped to the old leave.
func (u *user) refreshLast(id string, uc *userConv) {
	ctx, cancel := context.WithTimeout(context.Background(), u.rt.cfg.RequestTimeout)
	defer cancel()
	res, err := u.askConv(ctx, id, &pb.ConvState{Conv: id, User: u.id, ReadSeq: uc.readSeq})
	if err != nil {
		return
	}
	cs := res.(*pb.ConvStateResponse)
	if cs.Error != nil {
		return
	}
	if m := cs.GetMember(); m != nil && m.GetJoinedSeq() > uc.member.JoinedSeq {
		if e := u.takeMembership(id, uc, m, uc.large, cs.LastSeq, true); e != nil {
			u.rt.log.Warn("take a newer membership", "user", u.id, "conv", id, "err", e.GetMessage())
		}
	}
	uc.lastSeq = max(uc.lastSeq, uc.clamp(cs.LastSeq))
}
