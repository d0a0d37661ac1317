package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Creating a conversation and changing its members, checked against the
// authorization table (authz.go).

func (c *conversation) create(ctx actor.Context, m *pb.CreateConversation) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) {
		respond(ctx, sender, &pb.CreateConversationResponse{Error: e, LastSeq: c.lastSeq})
	}
	if c.fenced || !c.loaded {
		reply(pbErr(pb.Code_RETRY, "conversation %s is moving", c.id))
		return
	}
	// The id's namespace fixes the kind (authz.go); the grain checks it
	// again so that no path, however it reaches the grain, squats an id.
	kind := storage.ConvKind(m.Kind)
	if idKind, ok := KindOfID(c.id); !ok || idKind != kind || !kind.Valid() {
		reply(pbErr(pb.Code_FORBIDDEN, "conversation id %s is not in the namespace of %v conversations", c.id, m.Kind))
		return
	}
	if e := c.checkTitle(m.Title); e != nil {
		reply(e)
		return
	}
	members := map[string]storage.Role{}
	blocked := map[string]bool{} // a direct conversation created by a block (Runtime.Block)
	for _, mm := range m.Members {
		if mm.GetUser() == "" {
			continue
		}
		if mm.Muted && kind == storage.KindDirect {
			blocked[mm.User] = true
		}
		role := storage.Role(mm.Role)
		if !kindRoles[kind].has(role) || (role == storage.RoleOwner && m.Creator != "") {
			reply(pbErr(pb.Code_INVALID, "role %v for %s", mm.Role, mm.User))
			return
		}
		members[mm.User] = role
	}
	if kind == storage.KindDirect {
		pair := make([]string, 0, 2)
		for u := range members {
			pair = append(pair, u)
		}
		if len(pair) != 2 || wirepb.DirectTopicConvID(pair[0], pair[1], wirepb.DirectTopic(c.id)) != c.id {
			reply(pbErr(pb.Code_FORBIDDEN, "%s belongs to the two users it names", c.id))
			return
		}
	}
	if m.Creator != "" {
		if _, ok := members[m.Creator]; !ok || kind == storage.KindGroup {
			members[m.Creator] = map[storage.ConvKind]storage.Role{
				storage.KindGroup: storage.RoleOwner, storage.KindService: storage.RoleCustomer,
			}[kind]
		}
	}
	for user, role := range members {
		if e := visitorRefusal(kind, user, role); e != nil {
			reply(e)
			return
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
	if c.exists {
		if c.sameCreation(kind, members) {
			// A retried create (its first answer was lost: a grain
			// request timed out and went again) finds what it made.
			reply(nil)
			return
		}
		reply(pbErr(pb.Code_EXISTS, "conversation %s exists", c.id))
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
		rows = append(rows, storage.Member{ConvID: c.id, UserID: user, Role: role, JoinedSeq: 1, JoinedAt: now, Muted: blocked[user]})
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

// sameCreation reports whether the conversation is still exactly what a
// create of kind with members made: the same members in the same roles,
// all of them joined at one instant (the creation's) and none gone.
// Asked again, such a create succeeds.
func (c *conversation) sameCreation(kind storage.ConvKind, members map[string]storage.Role) bool {
	if c.kind != kind || len(c.members) != len(members) {
		return false
	}
	var at time.Time
	for user, role := range members {
		m := c.members[user]
		if m == nil || !m.Active() || m.Role != role || m.JoinedSeq != 1 {
			return false
		}
		if at.IsZero() {
			at = m.JoinedAt
		} else if !m.JoinedAt.Equal(at) {
			return false
		}
	}
	return true
}

func (c *conversation) noticeFor(user string) *pb.MembershipNotice {
	mem, s := c.members[user], c.shownSettings()
	return &pb.MembershipNotice{User: user, Conv: c.id, Kind: convKindToPB(c.kind), Member: toPBMember(*mem), LastSeq: c.durable, Large: c.large(), Title: c.title(), PictureId: c.pictureID(),
		Frozen: s.Frozen.at(c.rt.cfg.Now()).toPB(), Meta: s.Meta}
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
	if m.Op == pb.MembershipChange_BLOCK || m.Op == pb.MembershipChange_UNBLOCK {
		c.block(ctx, m, func(e *pb.Error) { reply(e, 0) })
		return
	}
	if m.Op == pb.MembershipChange_APPROVE || m.Op == pb.MembershipChange_DECLINE {
		c.answerJoinRequests(ctx, m, reply)
		return
	}
	if m.Op == pb.MembershipChange_DISBAND {
		// Marked first: if the removals then fail, the group is closed to
		// newcomers and its owner disbands again.
		if e := c.markDisbanded(); e != nil {
			reply(e, 0)
			return
		}
	}
	c.applyMembership(ctx, m, membershipBody(m, c.rt.cfg.SystemMessageUsers), reply)
}

// applyMembership makes a checked change: the member rows, then the
// system message (body) recording it, in order with the messages.
// reply gets that message's seq once it is durable (the last durable seq
// when the change changed nothing).
func (c *conversation) applyMembership(ctx actor.Context, m *pb.MembershipChange, body []byte, reply func(*pb.Error, uint64)) {
	seq := c.lastSeq + 1 // the system message recording the change
	if e := c.reserveFor(ctx, seq); e != nil {
		reply(e, 0)
		return
	}
	joined := seq
	if m.Op == pb.MembershipChange_ADD {
		var e *pb.Error
		if joined, e = c.joinedSeq(seq); e != nil {
			reply(e, 0)
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
			mem = storage.Member{ConvID: c.id, UserID: user, Role: role, JoinedSeq: joined, JoinedAt: now}
		case pb.MembershipChange_REMOVE, pb.MembershipChange_LEAVE, pb.MembershipChange_DISBAND:
			mem = *old
			mem.LeftSeq = seq
		case pb.MembershipChange_SET_ROLE:
			mem = *old
			mem.Role = storage.Role(m.Role)
		case pb.MembershipChange_MUTE, pb.MembershipChange_UNMUTE:
			mem = *old
			mem.Muted, mem.MutedUntil = m.Op == pb.MembershipChange_MUTE, time.Time{}
			if mem.Muted && m.UntilMs > 0 {
				mem.MutedUntil = time.UnixMilli(m.UntilMs)
			}
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
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.Actor, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: body, ServerTS: now}
	c.enqueue(ctx, &ev, func(e *pb.Error) {
		reply(e, seq)
		if e != nil {
			return
		}
		// Every user whose row changed is told (a membership push with the
		// group's name): one added learns the conversation's kind and title
		// with the join, not at their next sync; one who left gets a last
		// notice (the system message is their last visible seq); in read
		// fan-out groups the notice is all they get, as no Deliver follows.
		for _, mem := range changed {
			c.fanout.notice(c.noticeFor(mem.UserID))
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

// block sets the blocked flag of the direct conversation's other member
// (its member row's Muted: a direct conversation has no admin to mute
// anyone, so there it means "blocked by the other member"). It records no
// system message and tells nobody: the blocked user learns of it only when
// a send is refused, and the conversation's history stays the pair's. A
// call between them ends, as the blocker's hang-up.
func (c *conversation) block(ctx actor.Context, m *pb.MembershipChange, reply func(*pb.Error)) {
	want := m.Op == pb.MembershipChange_BLOCK
	row := *c.members[m.Users[0]]
	if row.Muted == want {
		reply(nil)
		return
	}
	row.Muted = want
	if err := c.rt.store.PutMember(context.Background(), row); err != nil {
		reply(storeErr(fmt.Errorf("put member: %w", err)))
		return
	}
	c.addMember(row)
	if want && c.call != nil {
		c.endCall(ctx, c.call.outcomeOf(m.Actor), m.Actor, "", c.rt.cfg.Now(), true)
	}
	reply(nil)
}

// blockRefusal refuses user's attempt to do what (write, call) in a direct
// conversation where either member blocks the other: MUTED for the
// blocked one, FORBIDDEN for the blocker (who unblocks first).
func (c *conversation) blockRefusal(user, what string) *pb.Error {
	switch {
	case c.kind == storage.KindDirect && c.members[user] != nil && c.members[user].Muted:
		return pbErr(pb.Code_MUTED, "%s cannot %s in %s: the other member blocked them", user, what, c.id)
	case c.blocksPeer(user):
		return pbErr(pb.Code_FORBIDDEN, "%s blocked the other member of %s: unblock them to %s", user, c.id, what)
	}
	return nil
}

// blocksPeer reports whether user blocks the other member of a direct
// conversation (whose row is then muted). That user's own muted row, in a
// direct conversation, means the other blocks them.
func (c *conversation) blocksPeer(user string) bool {
	if c.kind != storage.KindDirect {
		return false
	}
	for u, mem := range c.members {
		if u != user && mem.Muted {
			return true
		}
	}
	return false
}

// putMembers writes membership rows concurrently: each PutMember waits for
// a group commit, and many in flight share one (a 10,000-member group is
// created in a few commits, not 10,000).
func (c *conversation) putMembers(bg context.Context, rows []storage.Member) error {
	err := inParallel(rows, func(r storage.Member) error { return c.rt.store.PutMember(bg, r) })
	if err != nil {
		return fmt.Errorf("put member: %w", err)
	}
	return nil
}

// storeParallel is how many store calls one bulk step (a membership
// change of thousands) has in flight.
const storeParallel = 64

// inParallel calls fn for every item, storeParallel at a time, and returns
// the first error (after all calls ended).
func inParallel[T any](items []T, fn func(T) error) error {
	sem := make(chan struct{}, storeParallel)
	errs := make(chan error, len(items))
	for _, it := range items {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- fn(it)
		}()
	}
	var first error
	for range items {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// membershipBody is the JSON body of the system message recording m: its
// first maxUsers users, and how many it named in all.
func membershipBody(m *pb.MembershipChange, maxUsers int) []byte {
	users := m.Users
	if len(users) > maxUsers {
		users = users[:maxUsers]
	}
	fields := map[string]any{"op": opName(m.Op), "actor": m.Actor, "users": users, "count": len(m.Users),
		"role": storage.Role(m.Role).String()}
	if m.UntilMs > 0 {
		fields["until_ms"] = m.UntilMs // a mute's end
	}
	body, _ := json.Marshal(fields)
	return body
}

func opName(op pb.MembershipChange_Op) string {
	return map[pb.MembershipChange_Op]string{
		pb.MembershipChange_ADD: "add", pb.MembershipChange_REMOVE: "remove", pb.MembershipChange_LEAVE: "leave",
		pb.MembershipChange_SET_ROLE: "set_role", pb.MembershipChange_MUTE: "mute", pb.MembershipChange_UNMUTE: "unmute",
		pb.MembershipChange_BLOCK: "block", pb.MembershipChange_UNBLOCK: "unblock", pb.MembershipChange_DISBAND: "disband",
		pb.MembershipChange_APPROVE: "approve", pb.MembershipChange_DECLINE: "decline",
	}[op]
}

// membershipActions maps a membership op to its row of the authorization
// table.
var membershipActions = map[pb.MembershipChange_Op]Action{
	pb.MembershipChange_ADD: ActAdd, pb.MembershipChange_REMOVE: ActRemove, pb.MembershipChange_LEAVE: ActLeave,
	pb.MembershipChange_SET_ROLE: ActSetRole, pb.MembershipChange_MUTE: ActMute, pb.MembershipChange_UNMUTE: ActMute,
	pb.MembershipChange_BLOCK: ActBlock, pb.MembershipChange_UNBLOCK: ActBlock, pb.MembershipChange_DISBAND: ActDisband,
	// answering a request to join is adding a member (or not)
	pb.MembershipChange_APPROVE: ActAdd, pb.MembershipChange_DECLINE: ActAdd,
}

// checkMembership checks a membership change against the authorization
// table and the rules that depend on its targets: one leaves only oneself,
// an admin does not act on an owner, roles exist in the kind, and a group
// never loses its last owner while it has members.
func (c *conversation) checkMembership(m *pb.MembershipChange) *pb.Error {
	action, ok := membershipActions[m.Op]
	if !ok {
		return pbErr(pb.Code_INVALID, "membership op %v", m.Op)
	}
	actorMem := c.members[m.Actor]
	if e := authorize(c.kind, c.id, m.Actor, actorMem, action); e != nil {
		return e
	}
	if m.UntilMs != 0 && (m.Op != pb.MembershipChange_MUTE || m.UntilMs < 0) {
		return pbErr(pb.Code_INVALID, "only a mute has an end, a time ahead, not %v", m.Op)
	}
	if m.Op == pb.MembershipChange_DISBAND {
		if len(m.Users) > 0 {
			return pbErr(pb.Code_INVALID, "a disband names no users: every member leaves")
		}
		for user, mem := range c.members {
			if mem.Active() {
				m.Users = append(m.Users, user)
			}
		}
		slices.Sort(m.Users)
		return nil // every active member, the owner among them: nothing else to check
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
	role := storage.Role(m.Role)
	if (m.Op == pb.MembershipChange_ADD || m.Op == pb.MembershipChange_SET_ROLE) && !kindRoles[c.kind].has(role) {
		return pbErr(pb.Code_INVALID, "role %v does not exist in a %s conversation", m.Role, c.kind)
	}
	seen := map[string]bool{}
	adds, ownersLost := 0, 0
	for _, u := range m.Users {
		if !ValidUserID(u) {
			return pbErr(pb.Code_INVALID, "bad user id %q", u)
		}
		if seen[u] {
			return pbErr(pb.Code_INVALID, "user %s named twice", u)
		}
		seen[u] = true
		switch m.Op {
		case pb.MembershipChange_ADD, pb.MembershipChange_SET_ROLE:
			if e := visitorRefusal(c.kind, u, role); e != nil {
				return e
			}
		case pb.MembershipChange_APPROVE:
			if e := visitorRefusal(c.kind, u, storage.RoleMember); e != nil {
				return e
			}
		}
		target := c.members[u]
		active := target != nil && target.Active()
		switch m.Op {
		case pb.MembershipChange_ADD, pb.MembershipChange_APPROVE:
			if !active {
				adds++
			}
			continue
		case pb.MembershipChange_DECLINE:
			continue // whether a request waits is the settings' (answerJoinRequests)
		case pb.MembershipChange_LEAVE:
			if u != m.Actor {
				return pbErr(pb.Code_FORBIDDEN, "one can only leave oneself")
			}
		case pb.MembershipChange_BLOCK, pb.MembershipChange_UNBLOCK:
			if u == m.Actor {
				return pbErr(pb.Code_INVALID, "one cannot block oneself")
			}
			if !active {
				return pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", u, c.id)
			}
		default:
			if !active {
				return pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", u, c.id)
			}
			if m.Op != pb.MembershipChange_SET_ROLE && target.Role == storage.RoleOwner && actorMem.Role != storage.RoleOwner {
				return pbErr(pb.Code_FORBIDDEN, "an admin cannot act on the owner")
			}
		}
		leaves := m.Op == pb.MembershipChange_LEAVE || m.Op == pb.MembershipChange_REMOVE ||
			(m.Op == pb.MembershipChange_SET_ROLE && role != storage.RoleOwner)
		if leaves && target.Role == storage.RoleOwner {
			ownersLost++
		}
	}
	if ownersLost > 0 && c.kind == storage.KindGroup {
		owners, remaining := 0, 0
		for _, mem := range c.members {
			if mem.Active() {
				remaining++
				if mem.Role == storage.RoleOwner {
					owners++
				}
			}
		}
		if m.Op != pb.MembershipChange_SET_ROLE {
			remaining -= len(m.Users)
		}
		if owners-ownersLost == 0 && remaining > 0 {
			return pbErr(pb.Code_FORBIDDEN, "%s would have no owner: make another member owner first", c.id)
		}
	}
	if c.active+adds > c.rt.cfg.MaxGroupMembers {
		return pbErr(pb.Code_GROUP_FULL, "%s would have %d members, limit %d", c.id, c.active+adds, c.rt.cfg.MaxGroupMembers)
	}
	return nil
}
