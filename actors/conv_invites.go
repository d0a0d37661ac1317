package actors

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Group invites: a group's owners and admins create a code that anyone
// holding it joins the group with, as a member (a class code, a link in
// a community's page). The invites live in the group's settings blob
// (conv_settings.go) with a hash of their secret, never the secret: the
// code is answered once, to its creator. A code names its group, so a
// join goes straight to the group's grain without an index.

// storedInvite is one invite of a group.
type storedInvite struct {
	ID        string `json:"id"`
	Hash      string `json:"hash"` // SHA-256 of the secret, hex
	By        string `json:"by"`
	CreatedMs int64  `json:"created_ms"`
	ExpiresMs int64  `json:"expires_ms"`
	MaxUses   uint32 `json:"max_uses,omitempty"` // 0: any number
	Uses      uint32 `json:"uses,omitempty"`
	// Approval: a join with the code is a request the group's managers
	// approve or decline (conv_joinrequests.go); Uses counts approvals.
	Approval bool `json:"approval,omitempty"`
}

// live: the invite still lets someone join at now (ms).
func (i storedInvite) live(now int64) bool {
	return now < i.ExpiresMs && (i.MaxUses == 0 || i.Uses < i.MaxUses)
}

func (i storedInvite) toPB() *pb.Invite {
	return &pb.Invite{Id: i.ID, By: i.By, CreatedMs: i.CreatedMs, ExpiresMs: i.ExpiresMs, MaxUses: i.MaxUses, Uses: i.Uses,
		Approval: i.Approval}
}

func inviteHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// liveInvites are s's invites that are live at now, oldest first.
func liveInvites(s *groupSettings, now int64) []storedInvite {
	return slices.DeleteFunc(slices.Clone(s.Invites), func(i storedInvite) bool { return !i.live(now) })
}

// InviteCode is the code a user joins conv with: the group's id and the
// invite's secret, URL-safe (a link can carry it as is).
func InviteCode(conv, secret string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(conv)) + "." + secret
}

// ParseInviteCode splits a code into its group and secret.
func ParseInviteCode(code string) (conv, secret string, err error) {
	enc, secret, ok := strings.Cut(code, ".")
	raw, derr := base64.RawURLEncoding.DecodeString(enc)
	if !ok || derr != nil || secret == "" || len(secret) > 64 {
		return "", "", invalid("malformed invite code")
	}
	conv = string(raw)
	if kind, ok := KindOfID(conv); !ok || kind != storage.KindGroup {
		return "", "", invalid("malformed invite code")
	}
	return conv, secret, checkConv(conv)
}

func (c *conversation) groupInvite(ctx actor.Context, m *pb.GroupInvite) {
	sender := ctx.Sender()
	reply := func(r *pb.GroupInviteResponse) { respond(ctx, sender, r) }
	fail := func(e *pb.Error) { reply(&pb.GroupInviteResponse{Error: e}) }
	if !c.ready(fail) {
		return
	}
	if e := authorize(c.kind, c.id, m.Actor, c.members[m.Actor], ActInvite); e != nil {
		fail(e)
		return
	}
	if m.Create && m.Revoke != "" {
		fail(pbErr(pb.Code_INVALID, "create or revoke, not both"))
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		fail(storeErr(err))
		return
	}
	now := time.Now().UnixMilli()
	live := liveInvites(s, now)
	out := &pb.GroupInviteResponse{}
	switch {
	case m.Create:
		ttl := time.Duration(m.TtlMs) * time.Millisecond
		if ttl == 0 {
			ttl = c.rt.cfg.InviteTTL
		}
		if ttl < 0 || ttl > c.rt.cfg.MaxInviteTTL {
			fail(pbErr(pb.Code_INVALID, "invite valid for %v: between 1 ms and %v", ttl, c.rt.cfg.MaxInviteTTL))
			return
		}
		if limit := c.rt.cfg.MaxGroupInvites; len(live) >= limit {
			fail(pbErr(pb.Code_TOO_MANY, "%s has %d live invites, limit %d: revoke one first", c.id, len(live), limit))
			return
		}
		var b [24]byte
		_, _ = rand.Read(b[:])
		secret := base64.RawURLEncoding.EncodeToString(b[:16])
		inv := storedInvite{ID: hex.EncodeToString(b[16:]), Hash: inviteHash(secret), By: m.Actor,
			CreatedMs: now, ExpiresMs: now + ttl.Milliseconds(), MaxUses: m.MaxUses, Approval: m.Approval}
		live = append(live, inv)
		out.Token, out.Id = secret, inv.ID
	case m.Revoke != "":
		before := len(live)
		live = slices.DeleteFunc(live, func(i storedInvite) bool { return i.ID == m.Revoke })
		if len(live) == before {
			fail(pbErr(pb.Code_NOT_FOUND, "no live invite %q in %s", m.Revoke, c.id))
			return
		}
	}
	waiting := c.liveJoinRequests(s, now)
	if m.Create || m.Revoke != "" || len(live) != len(s.Invites) || len(waiting) != len(s.JoinRequests) {
		next := *s
		next.Invites, next.JoinRequests = live, waiting
		if err := c.saveSettings(&next); err != nil {
			fail(storeErr(err))
			return
		}
	}
	for _, i := range live {
		out.Invites = append(out.Invites, i.toPB())
	}
	out.Requests = c.joinRequestsPB(waiting)
	reply(out)
}

// joinGroup adds m.Actor as a member with an invite's secret. The use is
// counted (saved) before the member is added: a crash between the two
// loses a use, never lets one more join than the invite allows.
func (c *conversation) joinGroup(ctx actor.Context, m *pb.JoinGroup) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, seq uint64, already bool) {
		respond(ctx, sender, &pb.JoinGroupResponse{Error: e, Seq: seq, Already: already, LastSeq: c.durable})
	}
	if !c.ready(func(e *pb.Error) { reply(e, 0, false) }) {
		return
	}
	notFound := pbErr(pb.Code_NOT_FOUND, "no such invite to %s: unknown, revoked, expired or used up", c.id)
	if c.kind != storage.KindGroup {
		reply(notFound, 0, false)
		return
	}
	if mem := c.members[m.Actor]; mem != nil && mem.Active() {
		reply(nil, c.durable, true)
		return
	}
	if e := visitorRefusal(c.kind, m.Actor, storage.RoleMember); e != nil {
		reply(e, 0, false)
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), 0, false)
		return
	}
	now := time.Now().UnixMilli()
	hash := inviteHash(m.Token)
	i := slices.IndexFunc(s.Invites, func(i storedInvite) bool {
		return subtle.ConstantTimeCompare([]byte(i.Hash), []byte(hash)) == 1 && i.live(now)
	})
	if i < 0 || s.Disbanded {
		reply(notFound, 0, false)
		return
	}
	if e := c.removedByManagers(m.Actor); e != nil {
		reply(e, 0, false)
		return
	}
	if c.active+1 > c.rt.cfg.MaxGroupMembers {
		reply(pbErr(pb.Code_GROUP_FULL, "%s has %d members, limit %d", c.id, c.active, c.rt.cfg.MaxGroupMembers), 0, false)
		return
	}
	if s.Invites[i].Approval {
		e := c.requestToJoin(s, s.Invites[i].ID, m.Actor, m.Note, now)
		respond(ctx, sender, &pb.JoinGroupResponse{Error: e, Pending: e == nil})
		return
	}
	next := *s
	next.Invites = slices.Clone(s.Invites)
	next.Invites[i].Uses++
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), 0, false)
		return
	}
	change := &pb.MembershipChange{Conv: c.id, Actor: m.Actor, Op: pb.MembershipChange_ADD, Role: pb.Role_MEMBER, Users: []string{m.Actor}}
	body, _ := json.Marshal(map[string]any{"op": "join", "actor": m.Actor, "users": []string{m.Actor}, "count": 1,
		"role": storage.RoleMember.String(), "invite": next.Invites[i].ID})
	c.applyMembership(ctx, change, body, func(e *pb.Error, seq uint64) { reply(e, seq, false) })
}

// removedByManagers refuses a join by a former member whom the group's
// managers removed (the system message at their LeftSeq says "remove"):
// only the managers add them back. One who left by themself may return.
func (c *conversation) removedByManagers(user string) *pb.Error {
	mem := c.members[user]
	if mem == nil || mem.Active() {
		return nil
	}
	msg, err := c.rt.store.GetMessage(context.Background(), c.id, mem.LeftSeq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return storeErr(err)
	}
	var body struct {
		Op string `json:"op"`
	}
	if json.Unmarshal(msg.Body, &body) == nil && body.Op == opName(pb.MembershipChange_REMOVE) {
		return pbErr(pb.Code_FORBIDDEN, "%s was removed from %s: its owners and admins add them back", user, c.id)
	}
	return nil
}

// GroupInvite creates, revokes or lists a group's invites (its owners and
// admins). A created invite's code (InviteCode) is in the answer's Token
// field, once.
func (n *Runtime) GroupInvite(ctx context.Context, req *pb.GroupInvite) (*pb.GroupInviteResponse, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.Actor)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.GroupInviteResponse)
	if r.Error == nil && r.Token != "" {
		r.Token = InviteCode(req.Conv, r.Token)
	}
	return r, fromPB(r.Error)
}

// JoinGroup: user joins the group an invite code names, as a member.
func (n *Runtime) JoinGroup(ctx context.Context, user, code, note string) (conv string, r *pb.JoinGroupResponse, err error) {
	if err := checkUser(user); err != nil {
		return "", nil, err
	}
	switch note = strings.TrimSpace(note); {
	case len(note) > n.cfg.MaxJoinNoteBytes:
		return "", nil, fromPB(pbErr(pb.Code_TOO_LARGE, "a note of %d bytes, limit %d", len(note), n.cfg.MaxJoinNoteBytes))
	case !plainText(note):
		return "", nil, invalid("a note is UTF-8 text without control characters")
	}
	conv, secret, err := ParseInviteCode(code)
	if err != nil {
		return "", nil, err
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.JoinGroup{Conv: conv, Actor: user, Token: secret, Note: note})
	if err != nil {
		return "", nil, fmt.Errorf("join %s: %w", conv, err)
	}
	r = res.(*pb.JoinGroupResponse)
	if err := fromPB(r.Error); err != nil || !r.Pending {
		return conv, r, err
	}
	// Where an erasure finds the request (and its note); asking again
	// records it again, so a failure here is the asker's to retry.
	ack, err := n.request(ctx, KindUser, user, &pb.RecordJoinAsk{User: user, Conv: conv})
	if err == nil {
		err = fromPB(ack.(*pb.Ack).Error)
	}
	if err != nil {
		return conv, nil, fmt.Errorf("join %s: record the request: %w", conv, err)
	}
	return conv, r, nil
}
