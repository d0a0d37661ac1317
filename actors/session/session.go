// Package session is the contract between the actors and the transports
// that carry clients to them (QUIC today; WebTransport and WebSocket are
// the same shape). A transport authenticates a device, then asks the node
// to Connect it with a Sink the transport implements; the node answers with
// a Session through which every request of that device goes, as that user
// and device: no request names its sender.
//
// The package knows no actor system, so a transport that imports it (and
// not package actors) never depends on protoactor-go.
package session

import (
	"context"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/linkpreview"
)

// SearchQuery is what a search looks for: messages whose text holds Text
// (ignoring case), and of those only the ones that pass every filter set:
// sent by Sender, carrying a file (Files: a conversation's shared media),
// replying to the message at ReplyTo (a thread; one conversation only),
// mentioning the searching user (Mentions: by name, as the author a group
// reply answers, or everyone). Text may be empty when a filter is set:
// then every message that passes the filters is found, with its newest
// edit's text.
type SearchQuery struct {
	Text     string
	Sender   string
	Files    bool
	ReplyTo  uint64
	Mentions bool
}

// Filtered reports whether q sets a filter.
func (q SearchQuery) Filtered() bool {
	return q.Sender != "" || q.Files || q.ReplyTo != 0 || q.Mentions
}

// Starred is one of a user's starred messages: as the user reads it now,
// and when they starred it.
type Starred struct {
	Message   *pb.Message
	StarredAt time.Time
	RemindAt  time.Time // a reminder due then (zero: none, or it came)
}

// Scheduled is one of a user's scheduled messages (Session.Schedule).
type Scheduled struct {
	ID      string
	To      string          // a direct send: the other user (Send.Conv is empty)
	Send    *pb.SendMessage // what goes out, as the user's
	At      time.Time       // when it is due
	Created time.Time
	// Failed: refused for good when it was due (the code and why); kept
	// for its user to see until they cancel it.
	Failed string
}

// MaxStarredPage bounds the starred messages one Starred call answers.
const MaxStarredPage = 50

// MaxPollVotersListed bounds the voters a poll's results list per option
// (PollResults' votersLimit).
const MaxPollVotersListed = 1000

// Sink is one client connection as the node sees it, in the shape of
// centrifugal/centrifuge's Transport. Its methods are called from actor
// mailboxes and must never block: a sink queues within a bound and, past
// it, drops its queue and makes its client resync.
type Sink interface {
	// Push delivers an inbox event (message, read, membership, receipt)
	// for this device.
	Push(p *pb.Push)
	// Signal delivers a best-effort signal (typing, delivered).
	Signal(s *pb.Signal)
}

// Resyncer is a Sink that can make its client sync from its cursor. The
// node asks for it when pushes may have been missed: the device's user
// grain moved to another member (a topology change) and the new activation
// did not know the device was online until it registered again.
type Resyncer interface {
	Resync()
}

// Ender is a Sink that can end its connection. The node asks for it when
// the device may no longer be connected (its user was suspended), with the
// error its client is told; the transport then closes the session.
type Ender interface {
	End(err error)
}

// Node is what a transport needs of the node it runs on.
type Node interface {
	// Connect registers an authenticated device as online and returns its
	// session; pushes for the device go to sink until Session.Close.
	Connect(ctx context.Context, user, device string, sink Sink) (Session, error)
	// Address names this node (for clients and logs).
	Address() string
}

// Session is one connected device's view of the node. Every method acts as
// the session's user and device and applies the same rules as any other
// caller of the actors API (the authorization table, limits).
type Session interface {
	User() string
	Device() string
	// Cursor is the device's stored inbox cursor when it connected.
	Cursor() uint64

	// Send posts into conv, or into the direct conversation with `to`
	// (created on first use) when to is set.
	Send(ctx context.Context, to string, req *pb.SendMessage) (*pb.SendResponse, error)
	Sync(ctx context.Context, cursor uint64, limit int) (*pb.SyncResponse, error)
	// AckCursor stores how far the device consumed its inbox.
	AckCursor(ctx context.Context, cursor uint64) error
	History(ctx context.Context, req *pb.GetHistory) ([]*pb.Message, error)
	// SeqAt finds the first message of conv the user sees sent at or
	// after at (Runtime.SeqAt): 0 when none is.
	SeqAt(ctx context.Context, conv string, at time.Time) (seq uint64, sent time.Time, err error)
	// Search finds, newest first, the user's readable messages of conv
	// whose text holds query, from before (0: the latest); next is where
	// to go on, 0 at the start.
	Search(ctx context.Context, conv string, q SearchQuery, before uint64, limit int) (found []*pb.Message, next uint64, err error)
	// SearchEverywhere is Search across all the user's conversations in
	// their list's order, from fromConv (inclusive; empty: the top) before
	// before; nextConv and nextBefore are where to go on, nextConv empty
	// once the last conversation was read.
	SearchEverywhere(ctx context.Context, q SearchQuery, fromConv string, before uint64, limit int) (found []*pb.Message, nextConv string, nextBefore uint64, err error)
	MarkRead(ctx context.Context, conv string, seq uint64) (*pb.MarkReadResponse, error)
	// MarkAllRead reads every conversation of the user up to its last
	// message and clears every unread mark.
	MarkAllRead(ctx context.Context) (*pb.MarkAllReadResponse, error)
	// ClearHistory clears conv for the user up to seq (0: all of it) and
	// reads it up to there.
	ClearHistory(ctx context.Context, conv string, seq uint64) (cleared, totalUnread uint64, err error)
	// Hide deletes the messages at seqs of conv for the user alone ("delete
	// for me"), or with unhide shows them again, and answers the user's
	// hidden seqs of conv after.
	Hide(ctx context.Context, conv string, seqs []uint64, unhide bool) (hidden []uint64, err error)
	// Schedule schedules a new message of the user's (to a user with to
	// set, else to req.Conv) for at; ScheduledSends lists those not yet
	// sent, soonest first; Unschedule cancels one.
	Schedule(ctx context.Context, to string, req *pb.SendMessage, at time.Time) (Scheduled, error)
	ScheduledSends(ctx context.Context) ([]Scheduled, error)
	Unschedule(ctx context.Context, id string) error
	// Star stars (or unstars) a message the user reads, for them alone,
	// and answers how many they keep starred.
	Star(ctx context.Context, conv string, seq uint64, starred bool) (count int, err error)
	// Disappearing reads a conversation's timer for disappearing messages
	// or, with afterMs set, changes it (Runtime.Disappearing).
	Disappearing(ctx context.Context, conv string, afterMs *int64) (after time.Duration, seq uint64, err error)
	// Freeze reads whether a conversation is frozen or, with frozen set,
	// freezes it (until then, unless zero) or opens it again
	// (Runtime.Freeze).
	Freeze(ctx context.Context, conv string, frozen *bool, reason string, until time.Time) (state *pb.Frozen, seq uint64, err error)
	// Call takes one step of a call on this device (op's user and device
	// are the session's) and answers the conversation's call after it
	// (Runtime.CallStep); a STATE answers also, to the callee while it
	// rings, the caller's offer (Runtime.CallState).
	Call(ctx context.Context, op *pb.CallOp) (call *pb.Call, offer []byte, err error)
	// LinkPreview reads what a web page says of itself (Runtime.LinkPreview).
	LinkPreview(ctx context.Context, url string) (linkpreview.Preview, error)
	// Remind stars the message with a reminder at at (Runtime.Remind).
	Remind(ctx context.Context, conv string, seq uint64, at time.Time) (count int, err error)
	// Starred lists the user's starred messages starred before before
	// (zero: from the newest), newest first; next is where to go on (zero:
	// the end).
	Starred(ctx context.Context, before time.Time, limit int) (msgs []Starred, next time.Time, err error)
	Recall(ctx context.Context, conv string, seq uint64) (uint64, error)
	// ListConversations pages the main list, or the archived one, as o
	// says.
	ListConversations(ctx context.Context, o ListOptions) (*pb.ListConversationsResponse, error)
	// SetLabels changes the user's own labels of conv (remove, then add)
	// and answers them after.
	SetLabels(ctx context.Context, conv string, add, remove []string) ([]string, error)
	CreateConversation(ctx context.Context, req *pb.CreateConversation) (*pb.CreateConversationResponse, error)
	ChangeMembership(ctx context.Context, req *pb.MembershipChange) (uint64, error)
	// GroupSettings reads a group's settings or, with a field of req set,
	// changes it (req.Actor is the session's user).
	GroupSettings(ctx context.Context, req *pb.GroupSettings) (*pb.GroupSettingsResponse, error)
	// GroupInvite creates, revokes or lists a group's invites (a created
	// one's code in the answer's Token, once).
	GroupInvite(ctx context.Context, req *pb.GroupInvite) (*pb.GroupInviteResponse, error)
	// JoinGroup joins the group an invite code names, as a member, or with
	// an invite that needs approval asks to, with note for the managers.
	JoinGroup(ctx context.Context, code, note string) (conv string, r *pb.JoinGroupResponse, err error)
	// Members lists conv's active members after user after, for a member: a
	// page of at most limit stored rows, next where the next page starts
	// ("": none).
	Members(ctx context.Context, conv, after string, limit int) (members []*pb.Member, next string, err error)
	// Readers tells the sender of the message at seq which members read it,
	// a page after `after`; next is where the next page starts ("": none).
	Readers(ctx context.Context, conv string, seq uint64, after string, limit int) (readers []Reader, next string, err error)
	// PollResults is the tally of the poll at seq, with up to votersLimit
	// voters listed per option.
	PollResults(ctx context.Context, conv string, seq uint64, votersLimit int) (*pb.PollResultsResponse, error)
	Presence(ctx context.Context, target, conv string) (*pb.PresenceResponse, error)
	// Presences is Presence of each of users at once; those the session's
	// user may not see are left out.
	Presences(ctx context.Context, conv string, users []string) ([]UserPresence, error)
	// Privacy reads the user's privacy settings or, with presence, changes
	// what other users see of the user's presence.
	Privacy(ctx context.Context, change *pb.SetPrivacy) (*pb.PrivacyResponse, error)
	// Away reads the user's away message (text nil), sets it until until
	// (zero: until cleared) or clears it (text empty); nil: none set.
	Away(ctx context.Context, text *string, until time.Time) (*pb.AwayMessage, error)
	// QuietHours reads the user's quiet hours (set nil, off false), sets
	// them or takes them away; nil: none.
	QuietHours(ctx context.Context, set *pb.QuietHours, off bool) (*pb.QuietHours, error)
	// Profile reads the user's profile or, with a field of change set,
	// changes it; Profiles reads the profiles of users who share conv
	// (empty: a direct conversation) with the user, leaving out the others.
	Profile(ctx context.Context, change *pb.SetProfile) (*pb.UserProfile, error)
	Profiles(ctx context.Context, conv string, users []string) ([]*pb.UserProfile, error)
	// SetDraft keeps (or, with text empty, clears) the user's draft of
	// conv for their other devices; Drafts lists them, the latest first.
	SetDraft(ctx context.Context, conv, text string) (count int, err error)
	Drafts(ctx context.Context) ([]*pb.Draft, error)
	// CreateMedia, PutMediaChunk and CompleteMedia upload a file into conv
	// (its id is in the first answer); ReadMedia reads chunk index of the
	// file attached to message seq of conv (actors/media.go).
	CreateMedia(ctx context.Context, conv string, file *pb.MediaRef) (*pb.MediaRef, error)
	PutMediaChunk(ctx context.Context, conv, id string, index int, data []byte) error
	CompleteMedia(ctx context.Context, conv, id string) (*pb.MediaRef, error)
	ReadMedia(ctx context.Context, conv string, seq uint64, index int) (*pb.MediaRef, []byte, error)
	// ReadGroupPicture reads chunk index of the group's picture.
	ReadGroupPicture(ctx context.Context, conv string, index int) (*pb.MediaRef, []byte, error)
	SetPinned(ctx context.Context, conv string, pinned bool) error
	// SetArchived moves conv into the user's archived list or back.
	// SetArchived with until set is a snooze (Runtime.Snooze).
	SetArchived(ctx context.Context, conv string, archived bool, until time.Time) error
	// SetMarkedUnread marks conv unread for the user or clears the mark.
	SetMarkedUnread(ctx context.Context, conv string, marked bool) error
	// SetMuted mutes conv for the user alone, for d (0: until unmuted);
	// returns the new total unread.
	SetMuted(ctx context.Context, conv string, muted bool, d time.Duration) (totalUnread uint64, err error)
	// Block stops target writing to the user in their direct conversation
	// (block false lets them again); see actors.Runtime.Block.
	Block(ctx context.Context, target string, block bool) error
	// BlockedUsers pages the users the user blocks; see
	// actors.Runtime.BlockedUsers.
	BlockedUsers(ctx context.Context, afterConv string, limit int) (users []string, next string, err error)
	// Report reports another user's message at seq of conv to the
	// operator's moderators; see actors.Runtime.Report.
	Report(ctx context.Context, conv string, seq uint64, reason string) (id string, duplicate bool, err error)

	// ClickCard clicks action of the card at seq of conv: the node calls
	// the business's card webhook and posts its answer (package actors/cards).
	ClickCard(ctx context.Context, conv string, seq uint64, action string) (*pb.CardClickResult, error)

	// RegisterPush stores the device's push token for platform ("apns",
	// "fcm" or "webhook"), replacing its previous one: the device is
	// notified of messages while no device of the user is connected.
	// voipToken (apns only, may be empty): the app's PushKit token, by
	// which a call rings the device as a call.
	RegisterPush(ctx context.Context, platform, token, voipToken string) error
	// UnregisterPush removes the device's push token.
	UnregisterPush(ctx context.Context) error

	// Typing tells the other members of conv (best effort).
	Typing(conv string, stop bool)
	// Delivered tells sender that this device received its messages in
	// conv up to seq (best effort).
	Delivered(conv, sender string, seq uint64)

	// Close marks the device offline and stops its pushes. Idempotent.
	Close()
}

// Reader is one member's state for a message: whether their read cursor
// reached it.
type Reader struct {
	User string
	Read bool
}

// UserPresence is one user's presence as Presences answers it.
type UserPresence struct {
	User string
	*pb.PresenceResponse
}

// ListOptions is what a page of a user's conversation list holds: the
// main list's (Archived: the archived one's) conversations after After,
// at most Limit (0: the node's page), only those the user labelled
// Label, only those about Topic (a pair's direct conversations about it,
// wirepb.DirectTopicConvID) when set.
type ListOptions struct {
	After    string
	Limit    int
	Archived bool
	Label    string
	Topic    string
}
