package actors

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Join requests: an invite created with approval (a class code the
// teacher checks, a community that vets newcomers) does not admit whoever
// holds it. A join with it is a request that waits in the group's
// settings blob until an owner or admin approves it (the user joins as a
// member, at one system message {"op":"approve"}) or declines it, or
// until Config.JoinRequestTTL passes. The managers' devices get a lists
// push (JOIN_REQUESTS, naming the group) whenever the waiting list
// changes; group_invite lists it.

// storedJoinRequest is a user waiting for the group's managers.
type storedJoinRequest struct {
	User   string `json:"user"`
	Invite string `json:"invite"` // the invite's id
	AtMs   int64  `json:"at_ms"`
	Note   string `json:"note,omitempty"` // the user's words to the managers
}

// liveJoinRequests are s's requests not yet expired at now, oldest first.
func (c *conversation) liveJoinRequests(s *groupSettings, now int64) []storedJoinRequest {
	ttl := c.rt.cfg.JoinRequestTTL.Milliseconds()
	return slices.DeleteFunc(slices.Clone(s.JoinRequests), func(r storedJoinRequest) bool { return now >= r.AtMs+ttl })
}

// joinRequestsPB answers the waiting requests with the users' names.
func (c *conversation) joinRequestsPB(waiting []storedJoinRequest) []*pb.JoinRequest {
	if len(waiting) == 0 {
		return nil
	}
	users := make([]string, len(waiting))
	for i, r := range waiting {
		users[i] = r.User
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.rt.cfg.RequestTimeout)
	defer cancel()
	names := c.rt.DisplayNames(ctx, users...) // best effort: a name not read shows as the id
	ttl := c.rt.cfg.JoinRequestTTL.Milliseconds()
	out := make([]*pb.JoinRequest, len(waiting))
	for i, r := range waiting {
		out[i] = &pb.JoinRequest{User: r.User, Name: names[r.User], AtMs: r.AtMs, Invite: r.Invite, ExpiresMs: r.AtMs + ttl, Note: r.Note}
	}
	return out
}

// requestToJoin records user's request to join with the approval invite
// invite, with their note. Asking again while the request waits changes
// nothing (and tells nobody again), but a new note replaces the old.
func (c *conversation) requestToJoin(s *groupSettings, invite, user, note string, now int64) *pb.Error {
	waiting := c.liveJoinRequests(s, now)
	if i := slices.IndexFunc(waiting, func(r storedJoinRequest) bool { return r.User == user }); i >= 0 {
		if note == "" || note == waiting[i].Note {
			return nil
		}
		next := *s
		next.JoinRequests = waiting
		waiting[i].Note = note
		if err := c.saveSettings(&next); err != nil {
			return storeErr(err)
		}
		return nil
	}
	if limit := c.rt.cfg.MaxJoinRequests; len(waiting) >= limit {
		return pbErr(pb.Code_TOO_MANY, "%s has %d requests to join waiting, limit %d: ask again later", c.id, len(waiting), limit)
	}
	next := *s
	asked := storedJoinRequest{User: user, Invite: invite, AtMs: now, Note: note}
	next.JoinRequests = append(waiting, asked)
	if err := c.saveSettings(&next); err != nil {
		return storeErr(err)
	}
	c.tellManagers(&asked)
	return nil
}

// answerJoinRequests approves or declines the requests of m.Users (a
// checked APPROVE or DECLINE). The requests are dropped (and an approval
// counted on its invite) before the users are added: a crash between the
// two loses the requests, which their users make again, and never adds
// anyone twice.
func (c *conversation) answerJoinRequests(ctx actor.Context, m *pb.MembershipChange, reply func(*pb.Error, uint64)) {
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), 0)
		return
	}
	now := time.Now().UnixMilli()
	waiting := c.liveJoinRequests(s, now)
	next := *s
	next.Invites = slices.Clone(s.Invites)
	for _, u := range m.Users {
		i := slices.IndexFunc(waiting, func(r storedJoinRequest) bool { return r.User == u })
		if i < 0 {
			reply(pbErr(pb.Code_NOT_FOUND, "%s has no request to join %s waiting", u, c.id), 0)
			return
		}
		if m.Op == pb.MembershipChange_APPROVE {
			if j := slices.IndexFunc(next.Invites, func(inv storedInvite) bool { return inv.ID == waiting[i].Invite }); j >= 0 {
				next.Invites[j].Uses++
			}
		}
		waiting = slices.Delete(waiting, i, i+1)
	}
	next.JoinRequests = waiting
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), 0)
		return
	}
	c.tellManagers(nil)
	if m.Op == pb.MembershipChange_DECLINE {
		reply(nil, 0)
		return
	}
	var add []string
	for _, u := range m.Users {
		if mem := c.members[u]; mem == nil || !mem.Active() {
			add = append(add, u)
		}
	}
	change := &pb.MembershipChange{Conv: c.id, Actor: m.Actor, Op: pb.MembershipChange_ADD, Role: pb.Role_MEMBER, Users: add}
	users := add[:min(len(add), c.rt.cfg.SystemMessageUsers)]
	body, _ := json.Marshal(map[string]any{"op": opName(m.Op), "actor": m.Actor, "users": users, "count": len(add),
		"role": storage.RoleMember.String()})
	c.applyMembership(ctx, change, body, reply)
}

// tellManagers pushes JOIN_REQUESTS to the group's owners and admins (best
// effort, off the grain's mailbox: finding a grain may wait); asked, when
// set, is the new request that changed the list, which a manager with no
// device online is notified of.
func (c *conversation) tellManagers(asked *storedJoinRequest) {
	var managers []string
	for user, mem := range c.members {
		if mem.Active() && groupManagers.has(mem.Role) {
			managers = append(managers, user)
		}
	}
	rt, conv := c.rt, c.id
	go func() {
		for _, u := range managers {
			m := &pb.ListChanged{User: u, List: pb.ListsUpdate_JOIN_REQUESTS, Conv: conv}
			if asked != nil {
				m.From, m.Text, m.AtMs = asked.User, asked.Note, asked.AtMs
			}
			rt.tell(KindUser, u, m)
		}
	}()
}
