package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
)

// Sessions: the connected devices of this node. A transport connects a
// device with Connect and a session.Sink; the node gives the device an
// actor (the address its user grain pushes to), keeps it registered with
// its user grain wherever that grain lives, and routes signals.
//
// Presence is not stored, so it must follow a user grain that moves:
//   - a new activation of a user grain probes the session registry of every
//     node (sessionRegistryName); the user's sessions there register again;
//   - after every membership change, the sessions whose user grain now maps
//     to another member register again at once (a probe can miss a node
//     that joined a moment later);
//   - every session also registers again every Config.Reregister, a
//     backstop for anything both missed: one sweep per node walks the
//     sessions in slices (reregister.go).
//
// After the first two the node also asks the client to resync from its
// cursor (session.Resyncer): pushes the grain made before it knew the
// device was online went nowhere, but their inbox entries are durable.

const (
	// sessionRegistryName answers *pb.PresenceProbe on every node.
	sessionRegistryName = "switchboard-sessions"
	// signalRouterName delivers *pb.RouteSignal to local sessions.
	signalRouterName = "switchboard-signals"
	// membersTTL is how long a session trusts its cached member list of a
	// conversation for typing signals.
	membersTTL = 30 * time.Second
)

// sessionIndex is this node's index of sessions by user.
type sessionIndex struct {
	mu     sync.Mutex
	byUser map[string]map[*deviceSession]struct{}
	// slices deal the sessions out to the re-registration sweep's turns.
	slices [reregSlices][]*deviceSession
}

func (x *sessionIndex) add(s *deviceSession) {
	x.mu.Lock()
	defer x.mu.Unlock()
	set := x.byUser[s.user]
	if set == nil {
		set = map[*deviceSession]struct{}{}
		x.byUser[s.user] = set
	}
	set[s] = struct{}{}
	x.addSlice(s)
}

func (x *sessionIndex) remove(s *deviceSession) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if set := x.byUser[s.user]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(x.byUser, s.user)
		}
	}
	x.removeSlice(s)
}

func (x *sessionIndex) count(user string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.byUser[user])
}

// of lists a user's sessions on this node.
func (x *sessionIndex) of(user string) []*deviceSession {
	x.mu.Lock()
	defer x.mu.Unlock()
	set := x.byUser[user]
	out := make([]*deviceSession, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	return out
}

func (x *sessionIndex) users() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.byUser))
	for u := range x.byUser {
		out = append(out, u)
	}
	return out
}

// deviceSession is one connected device: the session.Session a transport
// uses, and the actor its user grain pushes to.
type deviceSession struct {
	rt     *Runtime
	user   string
	device string
	sink   session.Sink
	pid    *actor.PID
	cursor uint64
	// connectedAt (unix ns, then as the user grain ordered it) orders the
	// device's connections: a renewal never takes the device from a later
	// one. Set before the session is indexed, read-only after.
	connectedAt int64
	closed      atomic.Bool
	// slice and pos place the session in sessionIndex.slices (under its mu).
	slice uint8
	pos   int

	membersMu sync.Mutex
	members   map[string]cachedMembers
}

type cachedMembers struct {
	users []string
	at    time.Time
}

var _ session.Node = (*Runtime)(nil)

// Address names this node: its actor-system address.
func (n *Runtime) Address() string { return n.system.Address() }

// Connect registers a device as online at this node and returns its
// session; pushes for it go to sink until the session is closed.
func (n *Runtime) Connect(ctx context.Context, user, device string, sink session.Sink) (session.Session, error) {
	if err := errors.Join(checkUser(user), checkUser(device)); err != nil {
		return nil, err
	}
	// The user grain caps devices cluster-wide; this caps sessions on this
	// node, which also bounds one device connecting many times over.
	if have := n.sessions.count(user); have >= n.cfg.MaxOnlineDevices {
		return nil, &Error{Code: pb.Code_TOO_MANY, Message: fmt.Sprintf("%s has %d connections on this node, limit %d", user, have, n.cfg.MaxOnlineDevices)}
	}
	s := &deviceSession{rt: n, user: user, device: device, sink: sink, connectedAt: time.Now().UnixNano(), members: map[string]cachedMembers{}}
	s.pid = n.system.Root.Spawn(actor.PropsFromFunc(s.receive, actor.WithDispatcher(n.dispatch)))
	reg, err := n.registerDevice(ctx, s, false, n.cfg.RequestTimeout)
	if err != nil {
		n.system.Root.Stop(s.pid)
		if reg == nil {
			// No answer (the caller gave up, a request timed out): the
			// registration may still reach the grain, which would count
			// the device online at a connection that is gone, so sending
			// no notifications, until it connects again.
			go n.takeBackRegistration(s)
		}
		return nil, err
	}
	s.subscribe(reg.LargeConvs, false)
	s.cursor = reg.Cursor
	if reg.ConnectedAt != 0 {
		s.connectedAt = reg.ConnectedAt // the grain's order, for the renewals
	}
	n.sessions.add(s)
	if reg.ReplacedConnId != "" {
		// The device's older connection (the same app reconnecting before
		// its old connection timed out, or a second app with this device
		// id) gets no more pushes: it is told so and closed.
		n.system.Root.Send(actor.NewPID(reg.ReplacedConnAddress, reg.ReplacedConnId), &pb.EndSession{Error: replacedError(device)})
	}
	return s, nil
}

// replacedError ends a device's connection that a newer one replaced.
func replacedError(device string) *pb.Error {
	return pbErr(pb.Code_REPLACED, "device %s connected again: the newer connection takes its messages", device)
}

// receive is the session's actor: pushes from the user grain.
// It never blocks (the sink queues).
func (s *deviceSession) receive(ctx actor.Context) {
	var p *pb.Push
	switch m := ctx.Message().(type) {
	case *pb.Push:
		p = m
	case *pb.EndSession:
		s.end(fromPB(m.Error))
		return
	default:
		return
	}
	if m := p.GetMembership(); m != nil && m.Large {
		s.subscribe([]string{m.Conv}, m.GetMember().GetLeftSeq() > 0)
	}
	s.sink.Push(p)
}

// subscribe (un)subscribes the session to read fan-out groups at this
// node's broadcaster.
func (s *deviceSession) subscribe(convs []string, unsubscribe bool) {
	if len(convs) > 0 {
		s.rt.broadcast.subscribe(s, convs, unsubscribe)
	}
}

// pushBatch hands a large group's batch to the sink (from the
// broadcaster, not through the session's mailbox: one hop less per
// delivery) and calls done once it left or was dropped.
func (s *deviceSession) pushBatch(b *session.SharedBatch, done func()) {
	if s.closed.Load() {
		done()
		return
	}
	if sh, ok := s.sink.(session.SharedSink); ok {
		sh.PushShared(b, done)
		return
	}
	for _, p := range b.Pushes {
		s.sink.Push(p)
	}
	done()
}

// reregister registers the device with its user grain again and renews its
// hub subscriptions; with resync (after a topology change or a new
// activation of the user grain) it then asks the client to sync from its
// cursor: pushes made meanwhile went nowhere, their inbox entries did not.
//
// at, when set, is the activation that probed for the device: it is asked
// first, directly (see registerDeviceAt).
func (s *deviceSession) reregister(parent context.Context, resync bool, at *actor.PID) {
	if s.closed.Load() {
		return
	}
	// The sweep's calls get one request time; those after a move keep
	// trying, with short attempts, for as long as a fan-out Deliver does:
	// the grain they look for may be activating on a member that has just
	// joined, and a registration given up here waited for the next sweep
	// (60 s) while the device's pushes went nowhere.
	budget, first := s.rt.cfg.RequestTimeout, s.rt.cfg.RequestTimeout
	if resync {
		budget, first = deliverTimeout, s.rt.cfg.DeliverAttemptTimeout
	}
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()
	var reg *pb.RegisterDeviceResponse
	var err error
	if at != nil {
		reg, err = s.rt.registerDeviceAt(at, s, first)
	}
	if at == nil || (err != nil && CodeOf(err) != pb.Code_SUSPENDED) {
		reg, err = s.rt.registerDevice(ctx, s, true, first)
	}
	s.rt.log.Debug("re-registered device", "user", s.user, "device", s.device, "resync", resync, "at", at,
		"superseded", reg.GetSuperseded(), "err", err)
	if err == nil && reg.Superseded {
		// The device connected again since (here or at another member):
		// the grain pushes to that connection, and this one, on its way
		// out, must not take the device back. Its new session's notice
		// ends this one; this is the backstop if the notice was lost.
		s.end(fromPB(replacedError(s.device)))
		return
	}
	if CodeOf(err) == pb.Code_SUSPENDED {
		// The grain's EndSession did not arrive (a node restarted, a
		// message lost): this registration is the backstop.
		s.end(err)
		return
	}
	if err != nil {
		msg, level := "re-register device", slog.LevelDebug
		if resync && !s.closed.Load() && !s.rt.leaving.Load() {
			// The grain's new activation does not know the device is
			// online: its pushes wait for the next sweep.
			msg, level = "device not registered after its user grain moved; pushes wait for the re-registration sweep", slog.LevelWarn
		}
		s.rt.log.Log(parent, level, msg, "user", s.user, "device", s.device, "err", err)
		return
	}
	if s.closed.Load() {
		// Closed while registering: Close's unregister may have reached
		// the grain first.
		s.rt.takeBackRegistration(s)
		return
	}
	s.subscribe(reg.LargeConvs, false)
	if r, ok := s.sink.(session.Resyncer); ok && resync {
		r.Resync()
	}
}

// takeBackRegistration withdraws a registration of s that may reach (or
// have reached) its user grain after s stopped wanting it. It names s's
// PID, so a newer connection's registration of the device stays. A
// leaving node skips it, as Close does: its devices reconnect to other
// members, whose fresh registrations replace these.
func (n *Runtime) takeBackRegistration(s *deviceSession) {
	if n.leaving.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	if err := n.unregisterDevice(ctx, s.user, s.device, s.pid); err != nil {
		n.log.Debug("take back a device registration", "user", s.user, "device", s.device, "err", err)
	}
}

// reregisterMoved re-registers the session after its user grain moved
// (a topology change, or a new activation's probe; at is the probing
// activation, if known), in the background. Each call registers on its
// own, though one move often makes several (the topology watch and the
// probes of each new activation): one still trying against an activation
// that went away must not hold back the one for the newest.
func (s *deviceSession) reregisterMoved(at *actor.PID) {
	go s.reregister(context.Background(), true, at)
}

// registration is s's RegisterDevice; renew marks a re-registration.
func (s *deviceSession) registration(renew bool) *pb.RegisterDevice {
	return &pb.RegisterDevice{User: s.user, Device: s.device, ConnAddress: s.pid.Address, ConnId: s.pid.Id,
		ConnectedAt: s.connectedAt, Renew: renew}
}

// end asks the transport to end the device's connection with err, which
// its client is told; the transport then closes the session.
func (s *deviceSession) end(err error) {
	if e, ok := s.sink.(session.Ender); ok && !s.closed.Load() {
		s.rt.log.Info("ending a device's connection", "user", s.user, "device", s.device, "err", err)
		go e.End(err)
	}
}

func (s *deviceSession) User() string   { return s.user }
func (s *deviceSession) Device() string { return s.device }
func (s *deviceSession) Cursor() uint64 { return s.cursor }

// Close marks the device offline (if this session is still its
// connection), drops its large-group subscriptions and stops its actor.
func (s *deviceSession) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.rt.sessions.remove(s)
	s.rt.broadcast.drop(s)
	if s.rt.leaving.Load() {
		s.rt.system.Root.Stop(s.pid)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.rt.cfg.RequestTimeout)
	defer cancel()
	if err := s.rt.unregisterDevice(ctx, s.user, s.device, s.pid); err != nil {
		s.rt.log.Warn("unregister device", "user", s.user, "device", s.device, "err", err)
	}
	s.rt.system.Root.Stop(s.pid)
}

// ---- requests, as the session's user and device ----------------------------

func (s *deviceSession) Send(ctx context.Context, to string, req *pb.SendMessage) (*pb.SendResponse, error) {
	req.Sender = s.user
	if to != "" {
		return s.rt.SendDirect(ctx, to, req)
	}
	return s.rt.Send(ctx, req)
}

func (s *deviceSession) Sync(ctx context.Context, cursor uint64, limit int) (*pb.SyncResponse, error) {
	return s.rt.Sync(ctx, s.user, s.device, cursor, limit)
}

func (s *deviceSession) AckCursor(ctx context.Context, cursor uint64) error {
	return s.rt.AckCursor(ctx, s.user, s.device, cursor)
}

func (s *deviceSession) History(ctx context.Context, req *pb.GetHistory) ([]*pb.Message, error) {
	req.User = s.user
	return s.rt.History(ctx, req)
}

func (s *deviceSession) SeqAt(ctx context.Context, conv string, at time.Time) (uint64, time.Time, error) {
	return s.rt.SeqAt(ctx, s.user, conv, at)
}

func (s *deviceSession) Search(ctx context.Context, conv string, q SearchQuery, before uint64, limit int) ([]*pb.Message, uint64, error) {
	return s.rt.Search(ctx, s.user, conv, q, before, limit)
}

func (s *deviceSession) SearchEverywhere(ctx context.Context, q SearchQuery, fromConv string, before uint64, limit int) ([]*pb.Message, string, uint64, error) {
	found, next, err := s.rt.SearchEverywhere(ctx, s.user, q, SearchCursor{Conv: fromConv, Before: before}, limit)
	return found, next.Conv, next.Before, err
}

func (s *deviceSession) MarkRead(ctx context.Context, conv string, seq uint64) (*pb.MarkReadResponse, error) {
	return s.rt.MarkRead(ctx, s.user, s.device, conv, seq)
}

func (s *deviceSession) MarkAllRead(ctx context.Context) (*pb.MarkAllReadResponse, error) {
	return s.rt.MarkAllRead(ctx, s.user, s.device)
}

func (s *deviceSession) ClearHistory(ctx context.Context, conv string, seq uint64) (uint64, uint64, error) {
	return s.rt.ClearHistory(ctx, s.user, s.device, conv, seq)
}

func (s *deviceSession) Hide(ctx context.Context, conv string, seqs []uint64, unhide bool) ([]uint64, error) {
	return s.rt.Hide(ctx, s.user, conv, seqs, unhide)
}

func (s *deviceSession) Schedule(ctx context.Context, to string, req *pb.SendMessage, at time.Time) (session.Scheduled, error) {
	return s.rt.Schedule(ctx, s.user, to, req, at)
}

func (s *deviceSession) ScheduledSends(ctx context.Context) ([]session.Scheduled, error) {
	return s.rt.ScheduledSends(ctx, s.user)
}

func (s *deviceSession) Unschedule(ctx context.Context, id string) error {
	return s.rt.Unschedule(ctx, s.user, id)
}

func (s *deviceSession) Star(ctx context.Context, conv string, seq uint64, starred bool) (int, error) {
	return s.rt.Star(ctx, s.user, conv, seq, starred)
}

func (s *deviceSession) Disappearing(ctx context.Context, conv string, afterMs *int64) (time.Duration, uint64, error) {
	return s.rt.Disappearing(ctx, conv, s.user, afterMs)
}

func (s *deviceSession) Freeze(ctx context.Context, conv string, frozen *bool, reason string, until time.Time) (*pb.Frozen, uint64, error) {
	return s.rt.Freeze(ctx, conv, s.user, frozen, reason, until)
}

func (s *deviceSession) Call(ctx context.Context, op *pb.CallOp) (*pb.Call, []byte, error) {
	if op.Op == pb.CallOp_STATE {
		return s.rt.CallState(ctx, op.Conv, s.user)
	}
	op.User, op.Device = s.user, s.device
	call, err := s.rt.CallStep(ctx, op)
	return call, nil, err
}

func (s *deviceSession) Remind(ctx context.Context, conv string, seq uint64, at time.Time) (int, error) {
	return s.rt.Remind(ctx, s.user, conv, seq, at)
}

func (s *deviceSession) Starred(ctx context.Context, before time.Time, limit int) ([]session.Starred, time.Time, error) {
	return s.rt.Starred(ctx, s.user, before, limit)
}

func (s *deviceSession) Recall(ctx context.Context, conv string, seq uint64) (uint64, error) {
	return s.rt.Recall(ctx, conv, s.user, seq)
}

func (s *deviceSession) SetLabels(ctx context.Context, conv string, add, remove []string) ([]string, error) {
	return s.rt.SetLabels(ctx, s.user, conv, add, remove)
}

func (s *deviceSession) ListConversations(ctx context.Context, o session.ListOptions) (*pb.ListConversationsResponse, error) {
	return s.rt.ListConversationsWith(ctx, s.user, o)
}

func (s *deviceSession) CreateConversation(ctx context.Context, req *pb.CreateConversation) (*pb.CreateConversationResponse, error) {
	req.Creator = s.user
	return s.rt.CreateConversation(ctx, req)
}

func (s *deviceSession) ChangeMembership(ctx context.Context, req *pb.MembershipChange) (uint64, error) {
	req.Actor = s.user
	if req.Op == pb.MembershipChange_LEAVE {
		req.Users = []string{s.user}
	}
	return s.rt.ChangeMembership(ctx, req)
}

func (s *deviceSession) GroupSettings(ctx context.Context, req *pb.GroupSettings) (*pb.GroupSettingsResponse, error) {
	req.Actor = s.user
	return s.rt.GroupSettings(ctx, req)
}

func (s *deviceSession) GroupInvite(ctx context.Context, req *pb.GroupInvite) (*pb.GroupInviteResponse, error) {
	req.Actor = s.user
	return s.rt.GroupInvite(ctx, req)
}

func (s *deviceSession) JoinGroup(ctx context.Context, code, note string) (string, *pb.JoinGroupResponse, error) {
	return s.rt.JoinGroup(ctx, s.user, code, note)
}

func (s *deviceSession) Members(ctx context.Context, conv, after string, limit int) ([]*pb.Member, string, error) {
	return s.rt.Members(ctx, conv, s.user, after, limit)
}

func (s *deviceSession) Readers(ctx context.Context, conv string, seq uint64, after string, limit int) ([]Reader, string, error) {
	return s.rt.Readers(ctx, s.user, conv, seq, after, limit)
}

func (s *deviceSession) PollResults(ctx context.Context, conv string, seq uint64, votersLimit int) (*pb.PollResultsResponse, error) {
	return s.rt.PollResults(ctx, s.user, conv, seq, votersLimit)
}

func (s *deviceSession) Privacy(ctx context.Context, change *pb.SetPrivacy) (*pb.PrivacyResponse, error) {
	return s.rt.SetPrivacy(ctx, &pb.SetPrivacy{User: s.user, Presence: change.Presence, HideReadReceipts: change.HideReadReceipts,
		HidePreviews: change.HidePreviews, DirectFrom: change.DirectFrom, GroupAddFrom: change.GroupAddFrom})
}

func (s *deviceSession) Away(ctx context.Context, text *string, until time.Time) (*pb.AwayMessage, error) {
	return s.rt.SetAway(ctx, s.user, text, until)
}

func (s *deviceSession) QuietHours(ctx context.Context, set *pb.QuietHours, off bool) (*pb.QuietHours, error) {
	return s.rt.SetQuietHours(ctx, s.user, set, off)
}

func (s *deviceSession) Profile(ctx context.Context, change *pb.SetProfile) (*pb.UserProfile, error) {
	return s.rt.SetProfile(ctx, s.user, change)
}

func (s *deviceSession) Profiles(ctx context.Context, conv string, users []string) ([]*pb.UserProfile, error) {
	return s.rt.Profiles(ctx, s.user, conv, users)
}

func (s *deviceSession) SetDraft(ctx context.Context, conv, text string) (int, error) {
	return s.rt.SetDraft(ctx, s.user, conv, text)
}

func (s *deviceSession) Drafts(ctx context.Context) ([]*pb.Draft, error) {
	return s.rt.Drafts(ctx, s.user)
}

func (s *deviceSession) Presence(ctx context.Context, target, conv string) (*pb.PresenceResponse, error) {
	return s.rt.Presence(ctx, s.user, target, conv)
}

func (s *deviceSession) Presences(ctx context.Context, conv string, users []string) ([]UserPresence, error) {
	return s.rt.Presences(ctx, s.user, conv, users)
}

func (s *deviceSession) CreateMedia(ctx context.Context, conv string, f *pb.MediaRef) (*pb.MediaRef, error) {
	m, err := s.rt.CreateMedia(ctx, s.user, conv, f.Name, f.Mime, f.Size, mediaRefFromPB(f).Preview)
	return mediaRefToPB(m.Ref()), err
}

func (s *deviceSession) PutMediaChunk(ctx context.Context, conv, id string, index int, data []byte) error {
	return s.rt.PutMediaChunk(ctx, s.user, conv, id, index, data)
}

func (s *deviceSession) CompleteMedia(ctx context.Context, conv, id string) (*pb.MediaRef, error) {
	m, err := s.rt.CompleteMedia(ctx, s.user, conv, id)
	return mediaRefToPB(m.Ref()), err
}

func (s *deviceSession) ReadMedia(ctx context.Context, conv string, seq uint64, index int) (*pb.MediaRef, []byte, error) {
	ref, data, err := s.rt.ReadMedia(ctx, s.user, conv, seq, index)
	return mediaRefToPB(ref), data, err
}

func (s *deviceSession) ReadGroupPicture(ctx context.Context, conv string, index int) (*pb.MediaRef, []byte, error) {
	ref, data, err := s.rt.ReadGroupPicture(ctx, s.user, conv, index)
	return mediaRefToPB(ref), data, err
}

func (s *deviceSession) SetPinned(ctx context.Context, conv string, pinned bool) error {
	return s.rt.SetPinned(ctx, s.user, conv, pinned)
}

func (s *deviceSession) SetArchived(ctx context.Context, conv string, archived bool, until time.Time) error {
	if !until.IsZero() {
		if !archived {
			return invalid("an end is a snooze's: unarchiving has none")
		}
		return s.rt.Snooze(ctx, s.user, conv, until)
	}
	return s.rt.SetArchived(ctx, s.user, conv, archived)
}

func (s *deviceSession) SetMarkedUnread(ctx context.Context, conv string, marked bool) error {
	return s.rt.SetMarkedUnread(ctx, s.user, conv, marked)
}

func (s *deviceSession) SetMuted(ctx context.Context, conv string, muted bool, d time.Duration) (uint64, error) {
	return s.rt.SetMuted(ctx, s.user, conv, muted, d)
}

func (s *deviceSession) Report(ctx context.Context, conv string, seq uint64, reason string) (string, bool, error) {
	return s.rt.Report(ctx, s.user, conv, seq, reason)
}

func (s *deviceSession) BlockedUsers(ctx context.Context, afterConv string, limit int) ([]string, string, error) {
	return s.rt.BlockedUsers(ctx, s.user, afterConv, limit)
}

func (s *deviceSession) Block(ctx context.Context, target string, block bool) error {
	return s.rt.Block(ctx, s.user, target, block)
}

// ---- signals ------------------------------------------------------------------

// Typing tells the other members of a conversation small enough for it to
// matter (Config.TypingMaxMembers).
func (s *deviceSession) Typing(conv string, stop bool) {
	kind := pb.Signal_TYPING
	if stop {
		kind = pb.Signal_STOP_TYPING
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.rt.cfg.RequestTimeout)
		defer cancel()
		users, ok := s.memberList(ctx, conv)
		if !ok {
			return
		}
		sig := &pb.Signal{Kind: kind, Conv: conv, User: s.user}
		for _, u := range users {
			if u != s.user {
				s.rt.routeSignal(ctx, u, sig)
			}
		}
	}()
}

// Delivered tells sender that this device received its messages up to seq.
func (s *deviceSession) Delivered(conv, sender string, seq uint64) {
	s.rt.dispatch.pool.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.rt.cfg.RequestTimeout)
		defer cancel()
		s.rt.routeSignal(ctx, sender, &pb.Signal{Kind: pb.Signal_DELIVERED, Conv: conv, User: s.user, Seq: seq})
	})
}

// memberList returns the members of conv that typing signals go to
// (typingAudience) if the session's user is one, from a short-lived cache.
func (s *deviceSession) memberList(ctx context.Context, conv string) ([]string, bool) {
	s.membersMu.Lock()
	e, ok := s.members[conv]
	s.membersMu.Unlock()
	if ok && time.Since(e.at) < membersTTL {
		return e.users, true
	}
	users, err := s.typingAudience(ctx, conv)
	if err != nil {
		return nil, false
	}
	s.membersMu.Lock()
	if len(s.members) >= 64 {
		clear(s.members) // bounded; refilled on demand
	}
	s.members[conv] = cachedMembers{users: users, at: time.Now()}
	s.membersMu.Unlock()
	return users, true
}

// typingPages bounds the member pages typingAudience reads: members who
// left keep their rows, and a group whose first pages are mostly theirs
// counts as large rather than costing a read of every row.
const typingPages = 4

// typingAudience reads conv's active members for typing signals: none
// when there are more than Config.TypingMaxMembers, or in a direct
// conversation in which one member blocked the other.
func (s *deviceSession) typingAudience(ctx context.Context, conv string) ([]string, error) {
	return typingAudienceOf(func(after string, limit int) ([]*pb.Member, string, error) {
		return s.rt.Members(ctx, conv, s.user, after, limit)
	}, s.rt.cfg.TypingMaxMembers, strings.HasPrefix(conv, DirectPrefix))
}

// typingAudienceOf is typingAudience over page, which reads up to limit
// member rows after a user (Runtime.Members), at most typingPages pages.
func typingAudienceOf(page func(after string, limit int) ([]*pb.Member, string, error), most int, direct bool) ([]string, error) {
	var users []string
	after := ""
	for range typingPages {
		ms, next, err := page(after, most+1)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Muted && direct {
				return nil, nil // one of the pair blocked the other: no typing either way
			}
			users = append(users, m.User)
		}
		switch {
		case len(users) > most:
			return nil, nil
		case next == "":
			return users, nil
		}
		after = next
	}
	return nil, nil // too many rows to tell: as large
}

// routeSignal sends a signal to every node where user has a session (of
// sig.Device only, when it names one) and answers how many of the user's
// devices it was sent to.
func (n *Runtime) routeSignal(ctx context.Context, user string, sig *pb.Signal) int {
	pres, err := n.OnlineDevices(ctx, user)
	if err != nil {
		return 0
	}
	self := n.system.Address()
	seen := map[string]bool{}
	sent := 0
	for _, d := range pres.Devices {
		if sig.Device != "" && d.Device != sig.Device {
			continue
		}
		sent++
		addr := d.ConnAddress
		if seen[addr] {
			continue
		}
		seen[addr] = true
		if addr == self {
			n.deliverSignal(user, sig)
		} else {
			n.system.Root.Send(actor.NewPID(addr, signalRouterName), &pb.RouteSignal{User: user, Signal: sig})
		}
	}
	return sent
}

func (n *Runtime) deliverSignal(user string, sig *pb.Signal) {
	for _, s := range n.sessions.of(user) {
		if sig.Device == "" || s.device == sig.Device {
			s.sink.Signal(sig)
		}
	}
}

// ---- the per-node actors and the topology watch ---------------------------------

// startSessions spawns the session registry and the signal router and
// starts the topology watch.
func (n *Runtime) startSessions() error {
	n.sessions = &sessionIndex{byUser: map[string]map[*deviceSession]struct{}{}}
	root := n.system.Root
	if _, err := root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if p, ok := ctx.Message().(*pb.PresenceProbe); ok {
			n.log.Debug("presence probe", "user", p.User, "grain", p.GrainId)
			var grain *actor.PID
			if p.GrainId != "" {
				grain = actor.NewPID(p.GrainAddress, p.GrainId)
			}
			for _, s := range n.sessions.of(p.User) {
				s.reregisterMoved(grain)
			}
		}
	}), sessionRegistryName); err != nil {
		return err
	}
	if _, err := root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if r, ok := ctx.Message().(*pb.RouteSignal); ok && r.Signal != nil {
			n.deliverSignal(r.User, r.Signal)
		}
	}), signalRouterName); err != nil {
		return err
	}
	stopWatch, stopDepartures, sweep, stopUploads := n.watchTopology(), n.watchDepartures(), n.startReregister(), n.startUploadSweep()
	stopRetention, stopSchedule := n.startRetentionSweep(), n.startScheduleSweep()
	n.rereg = sweep
	n.stopWatch = func() {
		stopWatch()
		stopDepartures()
		sweep.stop()
		stopUploads()
		stopRetention()
		stopSchedule()
	}
	return nil
}

// watchTopology re-registers, after every change of the cluster's
// membership, the sessions whose user grain now maps to another member.
func (n *Runtime) watchTopology() func() {
	owners := map[string]string{} // user → owner address; only the goroutine below touches it
	changed := make(chan struct{}, 1)
	sub := n.system.EventStream.Subscribe(func(ev any) {
		if _, ok := ev.(*cluster.ClusterTopology); ok {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-changed:
			}
			users := n.sessions.users()
			seen := make(map[string]bool, len(users))
			for _, u := range users {
				seen[u] = true
				owner := n.Owner(KindUser, u)
				if prev, ok := owners[u]; ok && prev != owner && owner != "" {
					for _, s := range n.sessions.of(u) {
						s.reregisterMoved(nil)
					}
				}
				owners[u] = owner
			}
			for u := range owners {
				if !seen[u] {
					delete(owners, u)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			n.system.EventStream.Unsubscribe(sub)
			close(stop)
		})
	}
}

// stopSessions stops the topology watch and the re-registration sweep;
// the node is stopping.
func (n *Runtime) stopSessions() {
	if n.stopWatch != nil {
		n.stopWatch()
	}
}
