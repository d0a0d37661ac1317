package actors

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Who may do what. Every rule about a user acting on a conversation is a
// row of one table (rules, below), consulted by the grains and the Go API
// alike, so QUIC, a browser or a Go program get the same answers. The
// authorization test walks the whole table: every action, every kind, every
// standing.

// Action is something a user asks of a conversation.
type Action uint8

const (
	ActSend         Action = iota // post a message
	ActHistory                    // read messages (within one's visibility)
	ActMembers                    // list the members
	ActMarkRead                   // move one's read cursor
	ActPin                        // pin, mute, archive, clear or hide (and undo) in one's own view
	ActRecallOwn                  // recall one's own message within the recall window
	ActRecallAny                  // recall anybody's message, any time (and close anybody's poll)
	ActAdd                        // add members
	ActRemove                     // remove members
	ActLeave                      // leave
	ActSetRole                    // change a member's role
	ActMute                       // mute or unmute a member
	ActSeePresence                // see whether another member is online
	ActBlock                      // block or unblock the other member (direct conversations)
	ActReport                     // report another's message to the operator's moderators
	ActSettings                   // change a group's settings (who may post, history for new members)
	ActPinMessage                 // pin a message for every member to see (and unpin it)
	ActInvite                     // create, list and revoke invites (a code others join with)
	ActDisband                    // end a group for every member
	ActDisappearing               // set the timer of the conversation's disappearing messages
	ActFreeze                     // close the conversation to new messages (and open it again)
	ActCall                       // ring the other member, answer and hang up a call
	numActions
)

var actionNames = [numActions]string{"send", "history", "members", "mark_read", "pin", "recall_own",
	"recall_any", "add", "remove", "leave", "set_role", "mute", "see_presence", "block", "report", "settings", "pin_message", "invite", "disband", "disappearing", "freeze", "call"}

func (a Action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return "action(?)"
}

// Actions lists every action, for tests and documentation.
func Actions() []Action {
	out := make([]Action, numActions)
	for i := range out {
		out[i] = Action(i)
	}
	return out
}

// Standing is how a user stands in a conversation: not a member, a member
// who left, or an active member with a role.
type Standing struct {
	Member bool // was ever a member
	Left   bool
	Role   storage.Role
}

// StandingOf reads a member row (nil: not a member).
func StandingOf(m *storage.Member) Standing {
	if m == nil {
		return Standing{}
	}
	return Standing{Member: true, Left: !m.Active(), Role: m.Role}
}

func (s Standing) String() string {
	switch {
	case !s.Member:
		return "non-member"
	case s.Left:
		return "left"
	}
	return s.Role.String()
}

// roleSet is a set of roles, one bit each.
type roleSet uint8

func roles(rs ...storage.Role) roleSet {
	var s roleSet
	for _, r := range rs {
		s |= 1 << r
	}
	return s
}

func (s roleSet) has(r storage.Role) bool { return s&(1<<r) != 0 }

// who may do an action: active members with one of roles, and members who
// left if left is set.
type who struct {
	roles roleSet
	left  bool
}

var (
	anyGroupRole   = roles(storage.RoleMember, storage.RoleAdmin, storage.RoleOwner)
	anyServiceRole = roles(storage.RoleMember, storage.RoleCustomer, storage.RoleAgent)
	groupManagers  = roles(storage.RoleAdmin, storage.RoleOwner)
	serviceManager = roles(storage.RoleAgent)
	nobody         = who{}
)

// kindRoles are the roles a member of each kind of conversation can have
// (RolesOf lists them).
var kindRoles = map[storage.ConvKind]roleSet{
	storage.KindDirect:  roles(storage.RoleMember),
	storage.KindGroup:   anyGroupRole,
	storage.KindService: anyServiceRole,
}

// RolesOf lists the roles a member of kind can have.
func RolesOf(kind storage.ConvKind) []storage.Role {
	var out []storage.Role
	for r := storage.RoleMember; r <= storage.RoleAgent; r++ {
		if kindRoles[kind].has(r) {
			out = append(out, r)
		}
	}
	return out
}

// rules is the authorization table. A cell not listed is refused.
// Direct conversations have fixed members: nobody adds, removes or leaves.
var rules = map[storage.ConvKind][numActions]who{
	storage.KindDirect: {
		ActSend:         {roles: roles(storage.RoleMember)},
		ActHistory:      {roles: roles(storage.RoleMember)},
		ActMembers:      {roles: roles(storage.RoleMember)},
		ActMarkRead:     {roles: roles(storage.RoleMember)},
		ActPin:          {roles: roles(storage.RoleMember)},
		ActRecallOwn:    {roles: roles(storage.RoleMember)},
		ActRecallAny:    nobody,
		ActAdd:          nobody,
		ActRemove:       nobody,
		ActLeave:        nobody,
		ActSetRole:      nobody,
		ActMute:         nobody,
		ActSeePresence:  {roles: roles(storage.RoleMember)}, // unless either blocks the other
		ActBlock:        {roles: roles(storage.RoleMember)},
		ActReport:       {roles: roles(storage.RoleMember)},
		ActSettings:     nobody,
		ActPinMessage:   {roles: roles(storage.RoleMember)}, // the deal both agreed on, an address
		ActInvite:       nobody,
		ActDisband:      nobody,                             // either member blocks or archives instead
		ActDisappearing: {roles: roles(storage.RoleMember)}, // either of the two
		ActFreeze:       nobody,                             // the operator's (a listing sold), never one side's
		ActCall:         {roles: roles(storage.RoleMember)}, // unless either blocks the other
	},
	storage.KindGroup: {
		ActSend:         {roles: anyGroupRole},
		ActHistory:      {roles: anyGroupRole, left: true}, // up to the seq one left at
		ActMembers:      {roles: anyGroupRole},
		ActMarkRead:     {roles: anyGroupRole, left: true},
		ActPin:          {roles: anyGroupRole, left: true},
		ActRecallOwn:    {roles: anyGroupRole},
		ActRecallAny:    {roles: groupManagers},
		ActAdd:          {roles: groupManagers},
		ActRemove:       {roles: groupManagers}, // an admin cannot remove an owner (checked with the target)
		ActLeave:        {roles: anyGroupRole},  // the last owner hands ownership over first
		ActSetRole:      {roles: roles(storage.RoleOwner)},
		ActMute:         {roles: groupManagers},
		ActSeePresence:  {roles: anyGroupRole},
		ActBlock:        nobody,                            // a group's managers mute instead
		ActReport:       {roles: anyGroupRole, left: true}, // what one can read
		ActSettings:     {roles: groupManagers},
		ActPinMessage:   {roles: groupManagers},
		ActInvite:       {roles: groupManagers}, // whoever holds a code joins as a member (JoinGroup)
		ActDisband:      {roles: roles(storage.RoleOwner)},
		ActDisappearing: {roles: groupManagers},
		ActFreeze:       {roles: groupManagers},
		ActCall:         nobody, // calls are one-to-one: a direct or a service conversation
	},
	storage.KindService: {
		ActSend:         {roles: anyServiceRole},
		ActHistory:      {roles: anyServiceRole, left: true},
		ActMembers:      {roles: anyServiceRole},
		ActMarkRead:     {roles: anyServiceRole, left: true},
		ActPin:          {roles: anyServiceRole, left: true},
		ActRecallOwn:    {roles: anyServiceRole},
		ActRecallAny:    nobody,
		ActAdd:          {roles: serviceManager},
		ActRemove:       {roles: serviceManager},
		ActLeave:        {roles: anyServiceRole},
		ActSetRole:      nobody,
		ActMute:         {roles: serviceManager},
		ActSeePresence:  {roles: anyServiceRole},
		ActBlock:        nobody, // the desk's agents mute instead
		ActReport:       {roles: anyServiceRole, left: true},
		ActSettings:     nobody, // a service conversation's rules are the desk's
		ActPinMessage:   {roles: serviceManager},
		ActInvite:       nobody,                                                  // the desk adds a service conversation's members
		ActDisband:      nobody,                                                  // the desk closes sessions
		ActDisappearing: nobody,                                                  // a service conversation keeps its record
		ActFreeze:       nobody,                                                  // the desk closes sessions
		ActCall:         {roles: roles(storage.RoleCustomer, storage.RoleAgent)}, // the agent calls the customer
	},
}

// Allowed reports whether a user of standing s may do a in a conversation
// of kind.
func Allowed(kind storage.ConvKind, s Standing, a Action) bool {
	if !s.Member || a >= numActions {
		return false
	}
	w := rules[kind][a]
	if s.Left {
		return w.left
	}
	return w.roles.has(s.Role)
}

// authorize answers nil when the table allows the action, else the refusal:
// NOT_MEMBER for someone who is not (or no longer) a member, FORBIDDEN for
// a member whose role does not allow it.
func authorize(kind storage.ConvKind, conv, user string, m *storage.Member, a Action) *pb.Error {
	s := StandingOf(m)
	if Allowed(kind, s, a) {
		return nil
	}
	if !s.Member || s.Left {
		return pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", user, conv)
	}
	return pbErr(pb.Code_FORBIDDEN, "a %s of a %s conversation may not %s", s, kind, a)
}

// ---- anonymous visitors ------------------------------------------------------

// visitorRefusal answers the refusal when user may not hold role in a
// conversation of kind, nil when it may. An anonymous visitor
// (session.IsVisitor: a website's visitor chatting with the desk without
// signing in) is only ever the customer of a service conversation, so it
// reaches nobody but the desk, and nobody reaches it but the desk: no
// direct conversation, no group. Checked wherever membership is made
// (creation, adds, approvals, role changes, invites, merges), which makes
// every other rule of the table hold for visitors as for anyone.
func visitorRefusal(kind storage.ConvKind, user string, role storage.Role) *pb.Error {
	if !session.IsVisitor(user) || (kind == storage.KindService && role == storage.RoleCustomer) {
		return nil
	}
	return pbErr(pb.Code_FORBIDDEN, "%s is an anonymous visitor, only ever a customer of the desk: not a %s of a %s conversation", user, role, kind)
}

// ---- conversation id namespaces ---------------------------------------------

// Conversation ids carry their kind: "d:" direct, "g:" group, "s:" service.
// Each namespace is owned by the one path that creates its kind: a direct
// id only by the first direct send between its two users, a group id by
// create-group, a service id by the desk (or generated by the node), so no
// user can squat an id that belongs to others.
const (
	DirectPrefix  = "d:"
	GroupPrefix   = "g:"
	ServicePrefix = "s:"
)

// KindOfID returns the kind a conversation id belongs to, false for an id
// in no namespace.
func KindOfID(id string) (storage.ConvKind, bool) {
	switch {
	case strings.HasPrefix(id, DirectPrefix):
		return storage.KindDirect, true
	case strings.HasPrefix(id, GroupPrefix):
		return storage.KindGroup, true
	case strings.HasPrefix(id, ServicePrefix):
		return storage.KindService, true
	}
	return 0, false
}

// DirectConvID is the id of the direct conversation between a and b (the
// same whichever way round): the protocol's rule, which clients compute
// too, so it has one definition, in the wire package (a leaf package).
func DirectConvID(a, b string) string { return wirepb.DirectConvID(a, b) }

// NewConvID returns a fresh random id in kind's namespace.
func NewConvID(kind storage.ConvKind) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := GroupPrefix
	if kind == storage.KindService {
		prefix = ServicePrefix
	}
	return prefix + hex.EncodeToString(b[:])
}
