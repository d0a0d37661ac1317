package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The Go API to the grains. Every method returns an *Error (see CodeOf) for
// a rejection, and another error for a failure to reach the grain in time.

// ValidUserID reports whether id is a well-formed user (or device) id.
func ValidUserID(id string) bool { return session.ValidUserID(id) }

// IsVisitor reports whether user is an anonymous visitor (session.VisitorPrefix).
func IsVisitor(user string) bool { return session.IsVisitor(user) }

// ValidConvID reports whether id is a well-formed conversation id.
func ValidConvID(id string) bool { return session.ValidConvID(id) }

func invalid(format string, args ...any) error {
	return &Error{Code: pb.Code_INVALID, Message: fmt.Sprintf(format, args...)}
}

func checkUser(id string) error {
	if !ValidUserID(id) {
		return invalid("bad user id %q", id)
	}
	return nil
}

func checkConv(id string) error {
	if !ValidConvID(id) {
		return invalid("bad conversation id %q", id)
	}
	if _, ok := KindOfID(id); !ok {
		return invalid("conversation id %q is in no namespace (d:, g:, s:)", id)
	}
	return nil
}

func forbidden(format string, args ...any) error {
	return &Error{Code: pb.Code_FORBIDDEN, Message: fmt.Sprintf(format, args...)}
}

// CreateConversation creates a group or service conversation with its
// creator and members and returns its id. An empty req.Conv gets a fresh id
// in the kind's namespace. A user (req.Creator set) may name a group id
// ("g:…"); service ids ("s:…") are named only by the node's own callers
// (the desk: Creator empty), and direct conversations are created only by
// the first SendDirect between their two users, so no id that belongs to
// others can be squatted.
func (n *Runtime) CreateConversation(ctx context.Context, req *pb.CreateConversation) (*pb.CreateConversationResponse, error) {
	kind := storage.ConvKind(req.Kind)
	switch kind {
	case storage.KindGroup, storage.KindService:
	case storage.KindDirect:
		return nil, forbidden("direct conversations are created by sending to the other user")
	default:
		return nil, invalid("conversation kind %v", req.Kind)
	}
	if req.Conv == "" {
		req.Conv = NewConvID(kind)
	} else if idKind, ok := KindOfID(req.Conv); ok && idKind != kind {
		return nil, forbidden("conversation id %q is reserved for %s conversations", req.Conv, idKind)
	} else if kind == storage.KindService && req.Creator != "" {
		return nil, forbidden("service conversation ids are assigned by the node; leave the id empty")
	}
	if kind == storage.KindGroup && req.Creator != "" {
		users := make([]string, 0, len(req.Members))
		for _, m := range req.Members {
			users = append(users, m.GetUser())
		}
		if err := n.checkNotBlocked(ctx, req.Creator, users); err != nil {
			return nil, err
		}
		if err := n.checkGroupAddFrom(ctx, req.Creator, users); err != nil {
			return nil, err
		}
	}
	res, err := n.create(ctx, req)
	if err != nil {
		return nil, err
	}
	res.Conv = req.Conv
	return res, nil
}

// checkNotBlocked refuses a user's adding to a group anyone who blocked
// that user: a block keeps the blocked user from pulling its blocker into
// a group too. One read of the pair's direct membership per user named,
// storeParallel at a time (an add of thousands is a few round trips).
func (n *Runtime) checkNotBlocked(ctx context.Context, actor string, users []string) error {
	return inParallel(users, func(u string) error {
		if u == actor || checkUser(u) != nil {
			return nil // oneself; a bad id is refused with its own error
		}
		mem, err := n.store.GetMember(ctx, DirectConvID(actor, u), actor)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil
		case err != nil:
			return fromPB(storeErr(err))
		case mem.Muted:
			return forbidden("%s blocked %s, who therefore cannot add them to a group", u, actor)
		}
		return nil
	})
}

// create validates ids and roles and asks the grain to create.
func (n *Runtime) create(ctx context.Context, req *pb.CreateConversation) (*pb.CreateConversationResponse, error) {
	if err := checkConv(req.Conv); err != nil {
		return nil, err
	}
	kind := storage.ConvKind(req.Kind)
	if req.Creator != "" {
		if err := checkUser(req.Creator); err != nil {
			return nil, err
		}
	}
	for _, m := range req.Members {
		if err := checkUser(m.GetUser()); err != nil {
			return nil, err
		}
		role := storage.Role(m.Role)
		if !kindRoles[kind].has(role) || (role == storage.RoleOwner && req.Creator != "") {
			return nil, invalid("role %v not allowed for %s in a %s conversation", m.Role, m.User, kind)
		}
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.CreateConversationResponse)
	return r, fromPB(r.Error)
}

// Send sends a message into an existing conversation, or with
// ForwardConv set forwards one there (forward.go). An overloaded node
// refuses it with BUSY before doing any work (admission.go).
func (n *Runtime) Send(ctx context.Context, req *pb.SendMessage) (*pb.SendResponse, error) {
	if isForward(req) {
		return n.forward(ctx, "", req)
	}
	req.Forwarded = false // the label is the forward's alone
	if req.Topic != "" {
		return nil, invalid("a topic goes with a send to a user: conversation %s names its own", req.Conv)
	}
	return n.send(ctx, req)
}

func (n *Runtime) send(ctx context.Context, req *pb.SendMessage) (*pb.SendResponse, error) {
	if err := checkConv(req.Conv); err != nil {
		return nil, err
	}
	if err := checkUser(req.Sender); err != nil {
		return nil, err
	}
	release, err := n.admit.admitSend()
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SendResponse)
	return r, fromPB(r.Error)
}

// SendDirect sends to user `to`, creating the direct conversation on
// first use; with ForwardConv set it forwards a message there.
func (n *Runtime) SendDirect(ctx context.Context, to string, req *pb.SendMessage) (*pb.SendResponse, error) {
	if isForward(req) {
		return n.forward(ctx, to, req)
	}
	req.Forwarded = false
	return n.sendDirect(ctx, to, req, false)
}

// SendDirectAsOperator is SendDirect for the operator's own posts (the
// admin API): a first contact is not held by the recipient's direct_from
// (direct_from.go), as a shop's order update reaches its customer.
func (n *Runtime) SendDirectAsOperator(ctx context.Context, to string, req *pb.SendMessage) (*pb.SendResponse, error) {
	if isForward(req) {
		return nil, invalid("the operator posts no forwards")
	}
	req.Forwarded = false
	return n.sendDirect(ctx, to, req, true)
}

// sendDirect sends req to the direct conversation of its sender and to
// about req.Topic (none: their plain one), created at the first contact
// (by operator: without to's direct_from).
func (n *Runtime) sendDirect(ctx context.Context, to string, req *pb.SendMessage, operator bool) (*pb.SendResponse, error) {
	conv, err := directTarget(req.Sender, to, req.Topic)
	if err != nil {
		return nil, err
	}
	req.Conv = conv
	res, err := n.send(ctx, req)
	if CodeOf(err) != pb.Code_NOT_FOUND || req.RefSeq != 0 {
		// An edit, a card update or a reaction names a message of the
		// conversation: its NOT_FOUND is that message's, and a first
		// contact never starts with one.
		return res, err
	}
	switch {
	case req.Topic != "":
		if err := n.checkTopicOpen(ctx, req.Sender, to, operator); err != nil {
			return nil, err
		}
	case !operator:
		if err := n.checkDirectFrom(ctx, req.Sender, to); err != nil {
			return nil, err
		}
		fallthrough
	default:
		if err := n.mayOpenDirect(ctx, req.Sender, to); err != nil {
			return nil, err
		}
	}
	_, err = n.create(ctx, &pb.CreateConversation{Conv: req.Conv, Kind: pb.ConvKind_DIRECT,
		Members: []*pb.Member{{User: req.Sender}, {User: to}}})
	switch {
	case err == nil && req.Topic != "":
		if err := n.blockNewTopic(ctx, req.Conv, req.Sender, to); err != nil {
			return nil, err
		}
	case err != nil && CodeOf(err) != pb.Code_EXISTS:
		return nil, err
	}
	return n.send(ctx, req)
}

// checkPeer checks that sender may name to as the other member of a
// direct conversation: two well-formed, different users.
func checkPeer(sender, to string) error {
	if err := errors.Join(checkUser(to), checkUser(sender)); err != nil {
		return err
	}
	if to == sender {
		return invalid("a direct conversation needs two different users")
	}
	return nil
}

// Block stops target writing to user in their direct conversation, and
// in those about any topic (direct_topic.go; block false lets them
// again). While either blocks the other, neither writes
// there, neither sees the other's presence through it, and target cannot
// put user into a group (checkNotBlocked); groups they already share are
// untouched. Blocking someone one never talked to
// creates the pair's direct conversation, with the block already in place.
func (n *Runtime) Block(ctx context.Context, user, target string, block bool) error {
	if err := n.blockPlain(ctx, user, target, block); err != nil {
		return err
	}
	op := pb.MembershipChange_UNBLOCK
	if block {
		op = pb.MembershipChange_BLOCK
	}
	return n.blockTopics(ctx, user, target, op)
}

// blockPlain is Block in the pair's plain conversation.
func (n *Runtime) blockPlain(ctx context.Context, user, target string, block bool) error {
	if err := errors.Join(checkUser(user), checkUser(target)); err != nil {
		return err
	}
	if user == target {
		return invalid("one cannot block oneself")
	}
	op := pb.MembershipChange_UNBLOCK
	if block {
		op = pb.MembershipChange_BLOCK
	}
	req := &pb.MembershipChange{Conv: DirectConvID(user, target), Actor: user, Op: op, Users: []string{target}}
	_, err := n.ChangeMembership(ctx, req)
	if CodeOf(err) != pb.Code_NOT_FOUND {
		return err
	}
	if !block {
		return nil // no conversation: nothing is blocked
	}
	_, err = n.create(ctx, &pb.CreateConversation{Conv: req.Conv, Kind: pb.ConvKind_DIRECT,
		Members: []*pb.Member{{User: user}, {User: target, Muted: true}}})
	if err != nil && CodeOf(err) != pb.Code_EXISTS {
		return err
	}
	// Created here or by a first message that came in between: block it.
	_, err = n.ChangeMembership(ctx, req)
	return err
}

// MaxBlockedPage bounds the direct conversations one BlockedUsers call
// reads.
const MaxBlockedPage = 1000

// BlockedUsers pages the users whom user blocks. A block lives in the
// blocked member's row of the pair's direct conversation (Block), so this
// reads user's direct conversations after afterConv (at most limit; 0 or
// over 1000: 1000) and the other member's row of each, and answers the
// blocked ones among them and the last conversation read ("": none left).
func (n *Runtime) BlockedUsers(ctx context.Context, user, afterConv string, limit int) (users []string, next string, err error) {
	if err := checkUser(user); err != nil {
		return nil, "", err
	}
	if afterConv != "" && !strings.HasPrefix(afterConv, DirectPrefix) {
		return nil, "", invalid("after %q: not a direct conversation id", afterConv)
	}
	if limit <= 0 || limit > MaxBlockedPage {
		limit = MaxBlockedPage
	}
	ms, err := n.store.ListMemberships(ctx, user, max(afterConv, DirectPrefix), limit)
	if err != nil {
		return nil, "", fromPB(storeErr(err))
	}
	var direct []storage.Member
	allDirect := true
	for _, m := range ms {
		if !strings.HasPrefix(m.ConvID, DirectPrefix) {
			allDirect = false
			break // ordered by id: the direct ones are over
		}
		if wirepb.DirectTopic(m.ConvID) == "" { // a topic's block is its pair's
			direct = append(direct, m)
		}
	}
	var mu sync.Mutex
	err = inParallel(direct, func(m storage.Member) error {
		peer, ok := wirepb.DirectPeer(m.ConvID, user)
		if !ok {
			return nil
		}
		pm, err := n.store.GetMember(ctx, m.ConvID, peer)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil
		case err != nil:
			return fromPB(storeErr(err))
		case pm.Muted:
			mu.Lock()
			users = append(users, peer)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	sort.Strings(users)
	if len(ms) == limit && allDirect {
		next = ms[len(ms)-1].ConvID
	}
	return users, next, nil
}

// Recall withdraws message seq; it returns the recall event's seq.
func (n *Runtime) Recall(ctx context.Context, conv, user string, seq uint64) (uint64, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return 0, err
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.RecallMessage{Conv: conv, User: user, Seq: seq})
	if err != nil {
		return 0, err
	}
	r := res.(*pb.RecallResponse)
	return r.Seq, fromPB(r.Error)
}

// OperatorSender names the operator as the sender of what it records in a
// conversation (a moderator's recall), as the store's gap messages name
// "system".
const OperatorSender = "system"

// RecallAsOperator withdraws message seq of conv for the operator (a
// moderator, through the admin API): any user message, any time, in any
// kind of conversation. The recall event's sender is OperatorSender.
func (n *Runtime) RecallAsOperator(ctx context.Context, conv string, seq uint64) (uint64, error) {
	if err := checkConv(conv); err != nil {
		return 0, err
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.RecallMessage{Conv: conv, Seq: seq, ByOperator: true})
	if err != nil {
		return 0, err
	}
	r := res.(*pb.RecallResponse)
	return r.Seq, fromPB(r.Error)
}

// MaxLogPage bounds one page of ConversationLog.
const MaxLogPage = 1000

// ConversationLog reads up to limit of conv's stored messages after seq
// after, oldest first, for the operator (a business's own servers copying
// a conversation into a ticket, an audit): every kind, recalled ones as
// their tombstones, and lastSeq, the conversation's newest seq. No
// member's rule applies: the admin API, behind its token, is the caller.
// A conversation that does not exist is NOT_FOUND.
func (n *Runtime) ConversationLog(ctx context.Context, conv string, after uint64, limit int) (msgs []*pb.Message, lastSeq uint64, err error) {
	if err := checkConv(conv); err != nil {
		return nil, 0, err
	}
	if limit < 1 || limit > MaxLogPage {
		return nil, 0, invalid("limit %d: want 1–%d", limit, MaxLogPage)
	}
	head, err := n.store.GetConversation(ctx, conv)
	if err != nil {
		return nil, 0, fromPB(storeErr(err))
	}
	if after >= head.LastSeq {
		return nil, head.LastSeq, nil
	}
	page, err := n.store.ListMessages(ctx, conv, after+1, head.LastSeq, storage.OldestFirst, limit)
	if err != nil {
		return nil, 0, fromPB(storeErr(err))
	}
	msgs = make([]*pb.Message, len(page))
	clock := n.contentClock(conv)
	for i := range page {
		msgs[i] = readable(&page[i], clock)
	}
	return msgs, head.LastSeq, nil
}

// ChangeMembership adds, removes, re-roles or mutes members; it returns the
// seq of the system message recording the change.
func (n *Runtime) ChangeMembership(ctx context.Context, req *pb.MembershipChange) (uint64, error) {
	return n.changeMembership(ctx, req, false)
}

// ChangeMembershipAsOperator is ChangeMembership for the operator acting
// as req.Actor (the admin API): the actor's role is checked as usual, but
// an add is not held by the added users' group_add_from (a school's
// system enrolling its pupils in their class).
func (n *Runtime) ChangeMembershipAsOperator(ctx context.Context, req *pb.MembershipChange) (uint64, error) {
	return n.changeMembership(ctx, req, true)
}

func (n *Runtime) changeMembership(ctx context.Context, req *pb.MembershipChange, operator bool) (uint64, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.Actor)); err != nil {
		return 0, err
	}
	for _, u := range req.Users {
		if err := checkUser(u); err != nil {
			return 0, err
		}
	}
	switch {
	case req.ForMs < 0 || req.UntilMs != 0:
		return 0, invalid("a mute's duration is a positive for_ms (0: until unmuted)")
	case req.ForMs > 0 && req.Op != pb.MembershipChange_MUTE:
		return 0, invalid("only a mute has a duration, not %v", req.Op)
	case req.ForMs > n.cfg.MaxMemberMuteFor.Milliseconds(): // in ms: a Duration of a huge for_ms wraps
		return 0, invalid("a mute for %d ms, longer than %v: mute without a duration (until unmuted)", req.ForMs, n.cfg.MaxMemberMuteFor)
	case req.ForMs > 0:
		req.UntilMs = time.Now().Add(time.Duration(req.ForMs) * time.Millisecond).UnixMilli()
	}
	if kind, _ := KindOfID(req.Conv); kind == storage.KindGroup && req.Op == pb.MembershipChange_ADD {
		if err := n.checkNotBlocked(ctx, req.Actor, req.Users); err != nil {
			return 0, err
		}
		if !operator {
			if err := n.checkGroupAddFrom(ctx, req.Actor, req.Users); err != nil {
				return 0, err
			}
		}
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return 0, err
	}
	r := res.(*pb.MembershipResponse)
	return r.Seq, fromPB(r.Error)
}

// History returns a page of messages the user may see, straight from the
// store (no grain needs to be active): a member sees from the seq it
// joined at, and nothing after it left.
func (n *Runtime) History(ctx context.Context, req *pb.GetHistory) ([]*pb.Message, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.User)); err != nil {
		return nil, err
	}
	mem, err := n.authorize(ctx, req.Conv, req.User, ActHistory)
	if err != nil {
		return nil, err
	}
	limit := int(req.Limit)
	if limit <= 0 || limit > n.cfg.MaxHistoryPage {
		limit = n.cfg.MaxHistoryPage
	}
	from, to := max(req.FromSeq, mem.VisibleFrom(), 1), req.ToSeq
	if mem.LeftSeq > 0 && (to == 0 || to > mem.LeftSeq) {
		to = mem.LeftSeq
	}
	if to != 0 && to < from {
		return nil, nil
	}
	order := storage.NewestFirst
	if req.OldestFirst {
		order = storage.OldestFirst
	}
	clock := n.contentClock(req.Conv)
	out := make([]*pb.Message, 0, limit)
	for {
		want := limit - len(out)
		msgs, err := n.store.ListMessages(ctx, req.Conv, from, to, order, want)
		if err != nil {
			return nil, fromPB(storeErr(err))
		}
		for i := range msgs {
			if !mem.HidesRow(&msgs[i]) {
				out = append(out, readable(&msgs[i], clock))
			}
		}
		if len(msgs) < want || len(out) == limit {
			return out, nil
		}
		// Rows the member deleted for themself left the page short: read
		// on past them, so that a short page still means the end.
		last := msgs[len(msgs)-1].Seq
		if order == storage.OldestFirst {
			if from = last + 1; to != 0 && from > to {
				return out, nil
			}
		} else if last <= from {
			return out, nil
		} else {
			to = last - 1
		}
	}
}

// Members lists conv's active members after user after, by user id, for
// a member: it reads up to limit stored rows (0 or over 1,000: 1,000) and
// leaves out those who left, so a page may be short; next is the last
// user read when there may be more ("": the end).
func (n *Runtime) Members(ctx context.Context, conv, user, after string, limit int) (members []*pb.Member, next string, err error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, "", err
	}
	if _, err := n.authorize(ctx, conv, user, ActMembers); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return n.memberPage(ctx, conv, after, limit)
}

// memberPage reads up to limit of conv's stored member rows after user
// after and keeps the active ones; next is the last user read when the
// page was full.
func (n *Runtime) memberPage(ctx context.Context, conv, after string, limit int) (members []*pb.Member, next string, err error) {
	ms, err := n.store.ListMembers(ctx, conv, after, limit)
	if err != nil {
		return nil, "", fromPB(storeErr(err))
	}
	members = make([]*pb.Member, 0, len(ms))
	for _, m := range ms {
		if m.Active() {
			members = append(members, toPBMember(m))
		}
	}
	if len(ms) == limit {
		next = ms[len(ms)-1].UserID
	}
	return members, next, nil
}

// MembersAsOperator lists up to limit of conv's active members after user
// after, by user id, for the operator (the admin API): no member's rule
// applies. next is the last user read when there may be more. A
// conversation that does not exist is NOT_FOUND.
func (n *Runtime) MembersAsOperator(ctx context.Context, conv, after string, limit int) (members []*pb.Member, next string, err error) {
	if err := checkConv(conv); err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > MaxLogPage {
		return nil, "", invalid("limit %d: want 1–%d", limit, MaxLogPage)
	}
	if _, err := n.store.GetConversation(ctx, conv); err != nil {
		return nil, "", fromPB(storeErr(err))
	}
	return n.memberPage(ctx, conv, after, limit)
}

// registerDevice marks s's device online at its session actor (which
// receives *pb.Push) and returns its stored cursor; renew is a
// re-registration (see registration). It is idempotent, so its first
// attempt may be short (requestEach).
func (n *Runtime) registerDevice(ctx context.Context, s *deviceSession, renew bool, firstAttempt time.Duration) (*pb.RegisterDeviceResponse, error) {
	if err := errors.Join(checkUser(s.user), checkUser(s.device)); err != nil {
		return nil, err
	}
	res, err := n.requestEach(ctx, KindUser, s.user, s.registration(renew), firstAttempt)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.RegisterDeviceResponse)
	return r, fromPB(r.Error)
}

// registerDeviceAt renews s's registration with one activation of its
// user grain, the one that probed for it, without a lookup: this member
// may not yet see the topology that placed the grain there, and would
// register with the activation it replaces while the new one's pushes went
// nowhere. On success this member's requests for the user go to that
// activation too, so the resync that follows reads the inbox it writes.
func (n *Runtime) registerDeviceAt(grain *actor.PID, s *deviceSession, timeout time.Duration) (*pb.RegisterDeviceResponse, error) {
	res, err := n.ask(grain, s.registration(true), timeout)
	if err != nil {
		return nil, err
	}
	r, ok := res.(*pb.RegisterDeviceResponse)
	if !ok {
		return nil, fmt.Errorf("register device at %s: unexpected answer %T", grain, res)
	}
	if err := fromPB(r.Error); err != nil {
		return nil, err
	}
	n.cluster.PidCache.Set(s.user, KindUser, grain)
	return r, nil
}

// unregisterDevice marks a device offline, if conn is still its connection.
func (n *Runtime) unregisterDevice(ctx context.Context, user, device string, conn *actor.PID) error {
	_, err := n.request(ctx, KindUser, user, &pb.UnregisterDevice{User: user, Device: device, ConnId: conn.Id})
	return err
}

// Sync returns the conversations changed since cursor.
func (n *Runtime) Sync(ctx context.Context, user, device string, cursor uint64, limit int) (*pb.SyncResponse, error) {
	if err := errors.Join(checkUser(user), checkUser(device)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.Sync{User: user, Device: device, Cursor: cursor, Limit: uint32(max(0, limit))})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SyncResponse)
	return r, fromPB(r.Error)
}

// AckCursor records that a device consumed its inbox up to cursor.
func (n *Runtime) AckCursor(ctx context.Context, user, device string, cursor uint64) error {
	if err := errors.Join(checkUser(user), checkUser(device)); err != nil {
		return err
	}
	res, err := n.request(ctx, KindUser, user, &pb.AckCursor{User: user, Device: device, Cursor: cursor})
	if err != nil {
		return err
	}
	return fromPB(res.(*pb.Ack).Error)
}

// MarkRead moves the user's read cursor in conv to seq.
func (n *Runtime) MarkRead(ctx context.Context, user, device, conv string, seq uint64) (*pb.MarkReadResponse, error) {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.MarkRead{User: user, Device: device, Conv: conv, Seq: seq})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.MarkReadResponse)
	return r, fromPB(r.Error)
}

// MarkAllRead reads every conversation of user up to its last message
// ("mark all as read"), muted and archived ones too, and clears every
// unread mark; device (may be empty) is the one that asked, which gets no
// read push for it.
func (n *Runtime) MarkAllRead(ctx context.Context, user, device string) (*pb.MarkAllReadResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.MarkAllRead{User: user, Device: device})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.MarkAllReadResponse)
	return r, fromPB(r.Error)
}

// ListConversations lists the user's conversations: pinned first, then by
// last activity.
func (n *Runtime) ListConversations(ctx context.Context, user, afterConv string, limit int) (*pb.ListConversationsResponse, error) {
	return n.listConversations(ctx, user, session.ListOptions{After: afterConv, Limit: limit})
}

// ListArchived pages the user's archived conversations, in the main
// list's order.
func (n *Runtime) ListArchived(ctx context.Context, user, afterConv string, limit int) (*pb.ListConversationsResponse, error) {
	return n.listConversations(ctx, user, session.ListOptions{After: afterConv, Limit: limit, Archived: true})
}

// ListLabelled pages the conversations of the user's main list (archived:
// of the archived one) that the user labelled label (SetLabels), in the
// list's order.
func (n *Runtime) ListLabelled(ctx context.Context, user, label, afterConv string, limit int, archived bool) (*pb.ListConversationsResponse, error) {
	return n.ListConversationsWith(ctx, user, session.ListOptions{After: afterConv, Limit: limit, Archived: archived, Label: label})
}

// ListConversationsWith pages the user's main (or archived) list as o
// says: only what the user labelled o.Label, only the pair conversations
// about o.Topic (a seller's chats about one listing), in the list's
// order.
func (n *Runtime) ListConversationsWith(ctx context.Context, user string, o session.ListOptions) (*pb.ListConversationsResponse, error) {
	if o.Label != "" {
		if o.Label = strings.TrimSpace(o.Label); o.Label == "" || len(o.Label) > n.cfg.MaxLabelBytes {
			return nil, invalid("a label of 1–%d bytes", n.cfg.MaxLabelBytes)
		}
	}
	if o.Topic != "" && !session.ValidTopic(o.Topic) {
		return nil, invalid("topic %q: 1-%d letters, digits and ._@-", o.Topic, session.MaxTopicBytes)
	}
	return n.listConversations(ctx, user, o)
}

func (n *Runtime) listConversations(ctx context.Context, user string, o session.ListOptions) (*pb.ListConversationsResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.ListConversations{User: user, AfterConv: o.After, Limit: uint32(max(0, o.Limit)), Archived: o.Archived, Label: o.Label, Topic: o.Topic})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.ListConversationsResponse)
	return r, fromPB(r.Error)
}

// SetPinned pins or unpins a conversation for the user.
func (n *Runtime) SetPinned(ctx context.Context, user, conv string, pinned bool) error {
	return n.setOwnFlag(ctx, user, conv, &pb.SetPinned{User: user, Conv: conv, Pinned: pinned})
}

// setOwnFlag asks the user grain to change one of the user's own flags of
// conv (msg answered with an Ack).
func (n *Runtime) setOwnFlag(ctx context.Context, user, conv string, msg any) error {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return err
	}
	res, err := n.request(ctx, KindUser, user, msg)
	if err != nil {
		return err
	}
	return fromPB(res.(*pb.Ack).Error)
}

// SetArchived moves a conversation into the user's archived list or back
// to the main one. A new message from someone else brings it back by
// itself unless the user muted it.
func (n *Runtime) SetArchived(ctx context.Context, user, conv string, archived bool) error {
	return n.setOwnFlag(ctx, user, conv, &pb.SetArchived{User: user, Conv: conv, Archived: archived})
}

// Snooze archives conv for the user until until ("remind me tomorrow"):
// then it is back in the main list by itself, marked unread, until the
// user reads it (by the clock: nothing is written or pushed then). News
// from someone else brings it back earlier, as for any archive. until
// must be in the future and at most Config.MaxSnoozeFor ahead (INVALID).
func (n *Runtime) Snooze(ctx context.Context, user, conv string, until time.Time) error {
	switch now := time.Now(); {
	case !until.After(now):
		return invalid("a snooze until %s, not in the future", until.UTC().Format(time.RFC3339))
	case until.Sub(now) > n.cfg.MaxSnoozeFor:
		return invalid("a snooze until %s: at most %v ahead", until.UTC().Format(time.RFC3339), n.cfg.MaxSnoozeFor)
	}
	return n.setOwnFlag(ctx, user, conv, &pb.SetArchived{User: user, Conv: conv, Archived: true, UntilMs: millis(until)})
}

// SetMarkedUnread marks a conversation unread for the user, to come back
// to it, or clears the mark. The mark is apart from the unread count; the
// user's next read of the conversation (a mark_read, or sending news in it)
// clears it.
func (n *Runtime) SetMarkedUnread(ctx context.Context, user, conv string, marked bool) error {
	return n.setOwnFlag(ctx, user, conv, &pb.SetMarkedUnread{User: user, Conv: conv, Marked: marked})
}

// SetMuted mutes or unmutes a conversation for the user alone: its unread
// messages leave the total (the badge). A mute for a duration d ends by
// itself after it (0: until unmuted; at most Config.MaxMuteFor). Returns
// the new total.
func (n *Runtime) SetMuted(ctx context.Context, user, conv string, muted bool, d time.Duration) (uint64, error) {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return 0, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetMuted{User: user, Conv: conv, Muted: muted, ForMs: d.Milliseconds()})
	if err != nil {
		return 0, err
	}
	r := res.(*pb.SetMutedResponse)
	return r.TotalUnread, fromPB(r.Error)
}

// authorize reads user's membership of conv from the store and checks the
// action against the authorization table; it returns the member row.
func (n *Runtime) authorize(ctx context.Context, conv, user string, a Action) (*storage.Member, error) {
	kind, _ := KindOfID(conv)
	mem, err := n.store.GetMember(ctx, conv, user)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, fromPB(authorize(kind, conv, user, nil, a))
	case err != nil:
		return nil, fromPB(storeErr(err))
	}
	return &mem, fromPB(authorize(kind, conv, user, &mem, a))
}

// Presence tells viewer whether target is online. Presence is visible only
// within a conversation both are active members of: conv, or their direct
// conversation when conv is empty.
func (n *Runtime) Presence(ctx context.Context, viewer, target, conv string) (*pb.PresenceResponse, error) {
	if err := errors.Join(checkUser(viewer), checkUser(target)); err != nil {
		return nil, err
	}
	if viewer == target {
		return n.OnlineDevices(ctx, target)
	}
	own, err := n.sharedByViewer(ctx, viewer)
	if err != nil {
		return nil, err
	}
	return n.presenceFor(ctx, viewer, target, conv, nil, own)
}

// sharedByViewer is what viewer shows of their own presence, which bounds
// what they see of others' (user_privacy.go); everything with
// Config.PresenceOneSided.
func (n *Runtime) sharedByViewer(ctx context.Context, viewer string) (pb.PresenceSharing, error) {
	if n.cfg.PresenceOneSided {
		return pb.PresenceSharing_PRESENCE_EVERYONE, nil
	}
	return n.Privacy(ctx, viewer, nil)
}

// presenceFor is Presence of another user, given what the viewer shares
// (own) and, when conv is given and was authorized already, the viewer's
// member row of it (vmem).
func (n *Runtime) presenceFor(ctx context.Context, viewer, target, conv string, vmem *storage.Member, own pb.PresenceSharing) (*pb.PresenceResponse, error) {
	if conv == "" {
		conv = DirectConvID(viewer, target)
	}
	if err := checkConv(conv); err != nil {
		return nil, err
	}
	if vmem == nil {
		// Refusals say FORBIDDEN whichever side is missing: presence does
		// not tell a stranger who is in which conversation.
		var err error
		vmem, err = n.authorize(ctx, conv, viewer, ActSeePresence)
		if CodeOf(err) == pb.Code_NOT_MEMBER {
			return nil, forbidden("presence of %s is visible only to users who share a conversation", target)
		} else if err != nil {
			return nil, err
		}
	}
	tmem, err := n.store.GetMember(ctx, conv, target)
	if err != nil || !tmem.Active() {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, fromPB(storeErr(err))
		}
		return nil, forbidden("presence of %s is visible only to users who share a conversation", target)
	}
	if kind, _ := KindOfID(conv); kind == storage.KindDirect && (vmem.Muted || tmem.Muted) {
		return nil, forbidden("presence is not shared between two users when one blocked the other")
	}
	// What another user sees is what the target shares (user_privacy.go).
	res, err := n.request(ctx, KindUser, target, &pb.Presence{User: target, ForOther: true})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.PresenceResponse)
	if r.Error != nil {
		return nil, fromPB(r.Error)
	}
	cutPresence(r, own) // and at most what the viewer shows of themself
	return r, nil
}

// UserPresence is one user's answer to Presences (session.UserPresence).
type UserPresence = session.UserPresence

// Presences is Presence for each of users (at most
// Config.MaxPresenceUsers, else INVALID), in the order asked, a repeat
// once: a chat list's online dots in one request. With conv, the viewer
// must read it (else its refusal); without, each user is looked up
// through their direct conversation with the viewer. Users the viewer may
// not see (no conversation shared, a block) are left out rather than
// refused, as profiles does.
func (n *Runtime) Presences(ctx context.Context, viewer, conv string, users []string) ([]UserPresence, error) {
	if err := checkUser(viewer); err != nil {
		return nil, err
	}
	uniq, err := distinctUsers(users, n.cfg.MaxPresenceUsers, "presences")
	if err != nil {
		return nil, err
	}
	var vmem *storage.Member
	if conv != "" {
		if err := checkConv(conv); err != nil {
			return nil, err
		}
		var err error
		if vmem, err = n.authorize(ctx, conv, viewer, ActSeePresence); err != nil {
			return nil, err
		}
	}
	own, err := n.sharedByViewer(ctx, viewer)
	if err != nil {
		return nil, err
	}
	out := make([]UserPresence, len(uniq))
	err = inParallel(indexes(len(uniq)), func(i int) error {
		var r *pb.PresenceResponse
		var err error
		if uniq[i] == viewer {
			r, err = n.OnlineDevices(ctx, viewer)
		} else {
			r, err = n.presenceFor(ctx, viewer, uniq[i], conv, vmem, own)
		}
		switch {
		case CodeOf(err) == pb.Code_FORBIDDEN:
			return nil // not the viewer's to see: left out
		case err != nil:
			return err
		}
		out[i] = UserPresence{User: uniq[i], PresenceResponse: r}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(p UserPresence) bool { return p.PresenceResponse == nil }), nil
}

// OnlineDevices lists the user's online devices and the nodes they are on.
// It is the node's own routing lookup (signals, admin): users ask Presence.
func (n *Runtime) OnlineDevices(ctx context.Context, user string) (*pb.PresenceResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.Presence{User: user})
	if err != nil {
		return nil, err
	}
	return res.(*pb.PresenceResponse), nil
}
