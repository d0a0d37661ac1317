// Package storage defines the Store interface over Switchboard's logical data
// model (conversations, members, messages, per-user conversation state, inbox,
// device cursors, metrics checkpoints) and the rules every backend obeys.
//
// Backends: storage/pebblestore (embedded, one node) and storage/cql (ScyllaDB or
// Apache Cassandra through gocqlx). Both pass the same conformance suite in
// storage/storagetest.
//
// Times are stored with millisecond precision; backends return them in UTC,
// truncated to the millisecond.
package storage

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ConvKind is the kind of a conversation.
type ConvKind uint8

const (
	KindDirect  ConvKind = 1 // two users
	KindGroup   ConvKind = 2 // many users, roles
	KindService ConvKind = 3 // a customer and one or more agents
)

func (k ConvKind) String() string {
	switch k {
	case KindDirect:
		return "direct"
	case KindGroup:
		return "group"
	case KindService:
		return "service"
	}
	return "unknown"
}

// Valid reports whether k is one of the defined kinds.
func (k ConvKind) Valid() bool { return k >= KindDirect && k <= KindService }

// Role is a member's role in a conversation.
type Role uint8

const (
	RoleMember   Role = 0
	RoleAdmin    Role = 1
	RoleOwner    Role = 2
	RoleCustomer Role = 3 // service conversations
	RoleAgent    Role = 4 // service conversations
)

func (r Role) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	case RoleOwner:
		return "owner"
	case RoleCustomer:
		return "customer"
	case RoleAgent:
		return "agent"
	}
	return "unknown"
}

// Conversation is a conversation's head row.
type Conversation struct {
	ID        string
	Kind      ConvKind
	Title     string
	CreatedAt time.Time
	// Epoch is the fencing token: an activation of the conversation grain
	// takes a new epoch with AcquireEpoch and checks it in ReserveSeqs.
	Epoch uint64
	// ReservedSeq is the highest seq the holder of Epoch may assign.
	ReservedSeq uint64
	// LastSeq is the highest seq stored in messages (computed on read).
	LastSeq uint64
}

// Member is one user's membership of a conversation.
//
// The member sees messages with JoinedSeq <= seq, and, once it has left
// (LeftSeq > 0), only those with seq <= LeftSeq. Joining again replaces the
// row: a new JoinedSeq, LeftSeq back to 0.
type Member struct {
	ConvID    string
	UserID    string
	Role      Role
	JoinedSeq uint64
	LeftSeq   uint64 // 0 while still a member
	Muted     bool   // muted by an admin: may read, may not send
	// MutedUntil: a mute by an admin ends by itself then ("mute for a
	// day"); zero: until unmuted. Judged by the clock, never written back.
	MutedUntil time.Time
	JoinedAt   time.Time
	// ClearedSeq: the member cleared the conversation for themself up to
	// here (0: never); they no longer see those messages. Others' view is
	// untouched.
	ClearedSeq uint64
	// Hidden: the seqs the member deleted for themself alone ("delete for
	// me"), ascending, at most the node's MaxHiddenMessages; they no
	// longer see those messages, nor what refers to them. Nil for most.
	Hidden []uint64
}

// Active reports whether the member has not left.
func (m Member) Active() bool { return m.LeftSeq == 0 }

// MutedAt reports whether the member is muted at now: muted, and the
// mute's end (if any) not reached.
func (m Member) MutedAt(now time.Time) bool {
	return m.Muted && (m.MutedUntil.IsZero() || now.Before(m.MutedUntil))
}

// Sees reports whether the member may see the message with this seq.
func (m Member) Sees(seq uint64) bool {
	return seq >= m.VisibleFrom() && (m.LeftSeq == 0 || seq <= m.LeftSeq) && !m.Hides(seq)
}

// Hides reports whether the member deleted the message at seq for
// themself.
func (m Member) Hides(seq uint64) bool {
	if len(m.Hidden) == 0 {
		return false
	}
	_, found := slices.BinarySearch(m.Hidden, seq)
	return found
}

// HidesRow reports whether the member deleted msg for themself, or the
// message msg edits, updates, closes, recalls, reacts to or votes on.
func (m Member) HidesRow(msg *Message) bool {
	return m.Hides(msg.Seq) || msg.RefSeq != 0 && m.Hides(msg.RefSeq)
}

// Equal reports whether two states are the same (UserConv holds a slice,
// so == does not compile).
func (u UserConv) Equal(o UserConv) bool {
	return u.UserID == o.UserID && u.ConvID == o.ConvID && u.ReadSeq == o.ReadSeq && u.Pinned == o.Pinned && u.Muted == o.Muted &&
		u.MutedUntil.Equal(o.MutedUntil) && u.ArchivedSeq == o.ArchivedSeq && u.ArchivedUntil.Equal(o.ArchivedUntil) && u.MarkedUnread == o.MarkedUnread &&
		u.LastActivity.Equal(o.LastActivity) && slices.Equal(u.Labels, o.Labels)
}

// CheckLabels refuses labels a store could not keep as given: not
// strictly ascending, empty, or holding a line break (the CQL column
// joins them with one).
func CheckLabels(labels []string) error {
	for i, l := range labels {
		if l == "" || strings.ContainsAny(l, "\n\r") || i > 0 && l <= labels[i-1] {
			return fmt.Errorf("labels: %q at %d is empty, holds a line break or is not above the one before: %w", l, i, ErrInvalid)
		}
	}
	return nil
}

// Equal reports whether two rows are the same (Member holds a slice, so
// == does not compile).
func (m Member) Equal(o Member) bool {
	return m.ConvID == o.ConvID && m.UserID == o.UserID && m.Role == o.Role && m.JoinedSeq == o.JoinedSeq &&
		m.LeftSeq == o.LeftSeq && m.Muted == o.Muted && m.MutedUntil.Equal(o.MutedUntil) && m.JoinedAt.Equal(o.JoinedAt) &&
		m.ClearedSeq == o.ClearedSeq && slices.Equal(m.Hidden, o.Hidden)
}

// VisibleFrom is the first seq the member sees: from their join, and past
// what they cleared.
func (m Member) VisibleFrom() uint64 { return max(m.JoinedSeq, m.ClearedSeq+1) }

// MessageKind distinguishes user messages from events that take a seq.
type MessageKind uint8

const (
	MsgNormal MessageKind = 0 // a user's message; with RefSeq set, an edit of the sender's message at RefSeq
	MsgRecall MessageKind = 1 // withdraws RefSeq; has its own seq so every device learns of it
	MsgSystem MessageKind = 2 // membership changes and other server notes
	// MsgCard is a business card (a JSON body, see actors/card.go); with
	// RefSeq set it is an update of the card at RefSeq.
	MsgCard MessageKind = 3
	// MsgReaction is a member's reaction (an emoji, the body) to the text
	// or card at RefSeq; an empty body takes it back. It has its own seq,
	// as a recall does, so every device learns of it.
	MsgReaction MessageKind = 4
	// MsgPoll is a poll (a JSON body, see actors/conv_poll.go); with RefSeq
	// set and no body it closes the poll at RefSeq.
	MsgPoll MessageKind = 5
	// MsgVote is a member's vote on the poll at RefSeq (a JSON array of
	// option indexes); an empty body takes it back. Like a reaction, the
	// newest of a sender's replaces the ones before.
	MsgVote MessageKind = 6
)

// Content reports whether a message of kind k (not an edit, update or
// close, which also carry RefSeq) is content members read: a text, a card
// or a poll, as opposed to an event about another message or a system
// note.
func (k MessageKind) Content() bool { return k == MsgNormal || k == MsgCard || k == MsgPoll }

// Annotation reports whether a message of kind k only marks another
// message (a reaction, a vote): it counts as no unread, is no
// conversation's last message and notifies nobody.
func (k MessageKind) Annotation() bool { return k == MsgReaction || k == MsgVote }

// String names the kind as exports and APIs do: normal, recall, system,
// card, reaction, poll, vote (kindN for a kind this build does not know).
func (k MessageKind) String() string {
	switch k {
	case MsgNormal:
		return "normal"
	case MsgRecall:
		return "recall"
	case MsgSystem:
		return "system"
	case MsgCard:
		return "card"
	case MsgReaction:
		return "reaction"
	case MsgPoll:
		return "poll"
	case MsgVote:
		return "vote"
	}
	return "kind" + strconv.Itoa(int(k))
}

// SenderRole is the sender's side in a service conversation (for metrics).
type SenderRole uint8

const (
	SenderUnspecified SenderRole = 0
	SenderCustomer    SenderRole = 1
	SenderAgent       SenderRole = 2
	SenderSystem      SenderRole = 3
)

// Message flags.
const (
	FlagRecalled  uint32 = 1 << 0 // tombstoned: body cleared
	FlagFlagged   uint32 = 1 << 1 // matched the content policy in "flag" mode
	FlagMasked    uint32 = 1 << 2 // stored with contact details masked by the content policy
	FlagForwarded uint32 = 1 << 3 // a copy of another message, forwarded by its sender
	FlagAutoReply uint32 = 1 << 4 // posted by the node for its sender, who is away
	// forwardHopsShift: bits 8–15 of a forwarded copy's flags count the
	// forwards from its original (ForwardHops).
	forwardHopsShift = 8
)

// MaxForwardHops is the most forwards a copy counts: a copy of one that
// many forwards away counts as many.
const MaxForwardHops = 255

// ForwardHops is how many forwards a message with flags is from its
// original: 0 for an original, 1 for its copy, 2 for a copy of that, …
func ForwardHops(flags uint32) uint32 { return flags >> forwardHopsShift & MaxForwardHops }

// WithForwardHops is flags counting hops forwards (at most MaxForwardHops).
func WithForwardHops(flags, hops uint32) uint32 {
	return flags&^(MaxForwardHops<<forwardHopsShift) | min(hops, MaxForwardHops)<<forwardHopsShift
}

// Message is one entry of a conversation's log.
type Message struct {
	ConvID      string
	Seq         uint64
	MsgID       uint64 // globally unique, time-ordered
	ClientMsgID string // the sender's idempotency key; may be empty
	Sender      string
	SenderRole  SenderRole
	Kind        MessageKind
	RefSeq      uint64   // for MsgRecall: the recalled seq; for MsgCard: the card it updates
	ReplyTo     uint64   // the earlier seq of the conversation this message answers; 0: none
	Mentions    []string // members the message mentions (@user); nil: none
	Media       MediaRef // the attached file; zero ID: none
	Body        []byte
	Flags       uint32
	ClientTS    time.Time // the client's send time (event time); zero if unknown
	ServerTS    time.Time
	// ExpiresAt: the message disappears then (the conversation's timer
	// when it was sent): its content is no longer readable, and is taken
	// out of the store. Zero: it stays.
	ExpiresAt time.Time
	// Location: a place the message shares (its Body is then the caption);
	// nil: none. It is content: a tombstone takes it.
	Location *Location
	// Meta: the app's own data about the message (EncodeMeta), kept and
	// handed out, never shown; nil: none. A tombstone takes it.
	Meta map[string]string
}

// MentionAll, alone in a message's Mentions, mentions every member of its
// conversation but its sender ("@all"): no user id is "*".
const MentionAll = "*"

// Mentioned reports whether a message from sender with mentions
// mentions user: by name, or everyone but its sender.
func Mentioned(mentions []string, sender, user string) bool {
	if len(mentions) == 1 && mentions[0] == MentionAll {
		return user != sender
	}
	return slices.Contains(mentions, user)
}

// Recalled reports whether the message was tombstoned.
func (m Message) Recalled() bool { return m.Flags&FlagRecalled != 0 }

// Edit reports whether the message is an edit: a user's message with
// RefSeq set replaces the text of that earlier message of the same sender.
// It is not a message of its own: it counts as no unread and notifies
// nobody offline.
func (m Message) Edit() bool { return m.Kind == MsgNormal && m.RefSeq != 0 }

// PollClose reports whether m closes a poll (a MsgPoll with RefSeq set).
func (m Message) PollClose() bool { return m.Kind == MsgPoll && m.RefSeq != 0 }

// GapBody is the body of a gap: a system message standing for a seq that
// holds no message (a batch that failed after its seqs were given, or seqs
// skipped by a repair or restore), so every seq up to the last has a row.
var GapBody = []byte(`{"op":"gap"}`)

// GapMessage is the gap at seq of conversation conv.
func GapMessage(conv string, seq uint64, at time.Time) Message {
	return Message{ConvID: conv, Seq: seq, Sender: "system", SenderRole: SenderSystem, Kind: MsgSystem, Body: GapBody, ServerTS: at}
}

// Gap reports whether the message is a gap (GapMessage).
func (m Message) Gap() bool { return m.Kind == MsgSystem && bytes.Equal(m.Body, GapBody) }

// Order is the direction of a page of messages.
type Order uint8

const (
	NewestFirst Order = 0
	OldestFirst Order = 1
)

// UserConv is a user's private state of one conversation.
type UserConv struct {
	UserID  string
	ConvID  string
	ReadSeq uint64 // highest seq the user has read; never moves backwards
	Pinned  bool
	Muted   bool // muted by the user: out of its total unread
	// MutedUntil: a muted conversation's mute ends by itself then (zero:
	// muted until the user unmutes it).
	MutedUntil time.Time
	// ArchivedSeq: the user archived the conversation, out of its main
	// list until a message at this seq or later brings it back (the last
	// seq + 1 when archived). 0: not archived.
	ArchivedSeq uint64
	// ArchivedUntil: an archive for a while (a snooze) ends by itself
	// then (zero: archived until a message or the user brings it back).
	ArchivedUntil time.Time
	// MarkedUnread: the user marked the conversation unread (to come back
	// to it); its next read clears the mark. Apart from the unread count.
	MarkedUnread bool
	LastActivity time.Time
	// Labels: the user's own labels of the conversation ("new customer",
	// "paid"), ascending; none for most.
	Labels []string
}

// InboxKind is what an inbox entry says changed.
type InboxKind uint8

const (
	InboxMessage    InboxKind = 1 // conversation advanced to ConvSeq
	InboxRead       InboxKind = 2 // read cursor moved to ConvSeq
	InboxMembership InboxKind = 3 // joined/left/role changed
	InboxRecall     InboxKind = 4 // a message was recalled
	InboxFlags      InboxKind = 5 // the user's own flags changed (pin, mute, archive, mark unread, labels)
)

// InboxEntry is one entry of a user's change log.
type InboxEntry struct {
	UserID  string
	Seq     uint64 // inbox_seq, assigned by the user grain: 1, 2, 3 …
	Kind    InboxKind
	ConvID  string
	ConvSeq uint64
	At      time.Time
	Payload []byte // optional, small (e.g. a preview)
}

// InboxLease is a user grain activation's hold on its inbox (AcquireInbox).
type InboxLease struct {
	Epoch       uint64
	ReservedSeq uint64 // the highest inbox seq the holder may assign
	LastSeq     uint64 // the highest inbox seq stored as of the takeover
}

// ReadMove moves a user's read cursor of a conversation to Seq (if higher).
type ReadMove struct {
	ConvID string
	Seq    uint64
}

// ActivityMove moves a conversation's last activity to At (if later).
type ActivityMove struct {
	ConvID string
	At     time.Time
}

// UserWrite is what a user grain writes at one flush.
type UserWrite struct {
	Inbox    []InboxEntry
	Reads    []ReadMove
	Activity []ActivityMove
	Devices  []Device // Cursor and LastSeen, each forward only
}

// Empty reports whether w writes nothing.
func (w *UserWrite) Empty() bool {
	return len(w.Inbox) == 0 && len(w.Reads) == 0 && len(w.Activity) == 0 && len(w.Devices) == 0
}

// Device is one installation of a client and how far it consumed the inbox.
type Device struct {
	UserID   string
	DeviceID string
	Cursor   uint64 // inbox_seq consumed; never moves backwards
	LastSeen time.Time
}

// Checkpoint is a metrics actor's state with the per-conversation seqs it
// covers, written atomically together.
type Checkpoint struct {
	Key      string
	ConvSeqs map[string]uint64
	State    []byte
	At       time.Time
}

// Store is the persistence interface of Switchboard. Implementations are
// safe for concurrent use.
//
// Errors are wrapped sentinels from errors.go; test them with errors.Is.
type Store interface {
	// CreateConversation inserts a new head with Epoch 0 and ReservedSeq 0.
	// ErrExists if the id is taken.
	CreateConversation(ctx context.Context, c Conversation) error
	// GetConversation returns the head with LastSeq filled in. ErrNotFound.
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// ListConversations pages through all conversations in an order of the
	// backend's choosing; pass the returned cursor back for the next page,
	// an empty cursor means done.
	ListConversations(ctx context.Context, cursor string, limit int) ([]Conversation, string, error)
	// AcquireEpoch moves the epoch from seen to seen+1 with a conditional
	// write and returns the new epoch. ErrEpochLost if the current epoch is
	// not seen (another activation got there first). ErrNotFound.
	//
	// It closes the previous epoch's range: once it returns, no write of an
	// earlier epoch above the conversation's LastSeq (as read after the
	// epoch moved) can become visible, and an earlier epoch's append that
	// was not yet durable fails with ErrEpochLost.
	AcquireEpoch(ctx context.Context, id string, seen uint64) (uint64, error)
	// ReserveSeqs raises ReservedSeq to upTo if the epoch is still epoch.
	// ErrEpochLost otherwise. Lowering is a no-op.
	ReserveSeqs(ctx context.Context, id string, epoch uint64, upTo uint64) error

	// PutMember adds a member or replaces its row (role, joined, left, muted);
	// leaving is a PutMember with LeftSeq set.
	PutMember(ctx context.Context, m Member) error
	// GetMember returns one membership row (active or left). ErrNotFound.
	GetMember(ctx context.Context, convID, userID string) (Member, error)
	// ListMembers pages a conversation's members (active and left) ordered
	// by user id, starting after afterUser.
	ListMembers(ctx context.Context, convID, afterUser string, limit int) ([]Member, error)
	// ListMemberships pages a user's memberships ordered by conversation id,
	// starting after afterConv.
	ListMemberships(ctx context.Context, userID, afterConv string, limit int) ([]Member, error)

	// AppendMessages durably stores a batch of one conversation's messages
	// with caller-assigned seqs. Returns only after the data is durable.
	//
	// epoch says how the write is fenced:
	//
	//   - 0: unfenced. ErrSeqExists if any seq is already stored (nothing of
	//     the batch is then guaranteed written; the caller must re-read).
	//     For tools, imports and tests; a conversation's live writer uses
	//     its epoch.
	//   - > 0: the caller holds epoch (from AcquireEpoch) and reserved every
	//     seq of the batch (ReserveSeqs); it never writes one seq twice
	//     within the epoch. ErrEpochLost if the conversation's epoch is not
	//     epoch once the batch is durable: the caller must not acknowledge
	//     it (its rows may stay visible until the new epoch's writer
	//     supersedes them, and a row of it that a later epoch read is only
	//     that epoch's to acknowledge after AdoptMessage). A later epoch's write of a seq always wins over
	//     an earlier epoch's, so the current writer's history is the one
	//     readers see. ErrSeqExists is not guaranteed here (a backend may
	//     write without a per-row check); fencing rests on the epoch.
	//     ErrInvalid if a seq is above the conversation's ReservedSeq.
	AppendMessages(ctx context.Context, convID string, epoch uint64, msgs []Message) error
	// AppendMessagesAsync is AppendMessages without waiting: done is called
	// exactly once, from a store goroutine, when the batch is durable or has
	// failed. It blocks only while the commit queue is full (back-pressure)
	// or until ctx ends, in which case done is called with the ctx error.
	AppendMessagesAsync(ctx context.Context, convID string, epoch uint64, msgs []Message, done func(error))
	// AdoptMessage makes the message stored at seq, which an earlier epoch
	// wrote, part of epoch's own history before the caller acknowledges it
	// (a retry answered as a duplicate): once it returns nil, no write of an
	// earlier epoch, however late it lands, can hide or replace it.
	// ErrNotFound if seq does not hold sender's clientMsgID (the row was
	// superseded: the message is not stored and must be written anew);
	// ErrEpochLost if epoch is no longer the conversation's.
	AdoptMessage(ctx context.Context, convID string, epoch, seq uint64, sender, clientMsgID string) error
	// GetMessage returns one message. ErrNotFound.
	GetMessage(ctx context.Context, convID string, seq uint64) (Message, error)
	// ListMessages returns up to limit messages with fromSeq <= seq <= toSeq
	// in the given order (toSeq 0 means no upper bound).
	ListMessages(ctx context.Context, convID string, fromSeq, toSeq uint64, order Order, limit int) ([]Message, error)
	// TombstoneMessage clears the body and the attachment and sets
	// FlagRecalled. ErrNotFound.
	// Tombstoning twice is a no-op.
	TombstoneMessage(ctx context.Context, convID string, seq uint64) error
	// RedactMessage replaces a message's body, keeping everything else
	// (an erasure takes a user's words out of a desk step and keeps the
	// step). A recalled message stays as it is. ErrNotFound.
	RedactMessage(ctx context.Context, convID string, seq uint64, body []byte) error

	// GetUserConv returns the user's state of a conversation; the zero
	// state (with ids filled) if none was written.
	GetUserConv(ctx context.Context, userID, convID string) (UserConv, error)
	// AdvanceReadCursor moves the read cursor to seq if that is higher and
	// returns the resulting cursor. Lower or equal seqs are a no-op. (A
	// backend without a read-modify-write may return a lower cursor than
	// stored when another process raised it concurrently; the stored
	// cursor is the highest ever written either way.)
	AdvanceReadCursor(ctx context.Context, userID, convID string, seq uint64) (uint64, error)
	// SetPinned and SetMuted set the user's own flags for a conversation
	// (a muted conversation's unread messages leave the user's total); a
	// mute lasts until `until` (zero: until unmuted; unmuting writes zero).
	SetPinned(ctx context.Context, userID, convID string, pinned bool) error
	SetMuted(ctx context.Context, userID, convID string, muted bool, until time.Time) error
	// SetArchived sets ArchivedSeq (0: back to the main list) and
	// ArchivedUntil (zero: no end).
	SetArchived(ctx context.Context, userID, convID string, seq uint64, until time.Time) error
	// SetMarkedUnread sets MarkedUnread.
	SetMarkedUnread(ctx context.Context, userID, convID string, marked bool) error
	// SetLabels replaces Labels (ascending, each without a line break).
	SetLabels(ctx context.Context, userID, convID string, labels []string) error
	// TouchConversation moves last activity forward to at (never backwards);
	// the user grain orders the conversation list by it, in memory.
	TouchConversation(ctx context.Context, userID, convID string, at time.Time) error

	// AppendInbox durably stores entries with caller-assigned inbox seqs.
	// ErrSeqExists if one exists.
	AppendInbox(ctx context.Context, userID string, entries []InboxEntry) error
	// ListInbox returns up to limit entries with seq > after, ascending.
	ListInbox(ctx context.Context, userID string, after uint64, limit int) ([]InboxEntry, error)
	// LastInboxSeq returns the highest stored inbox seq (0 if none).
	LastInboxSeq(ctx context.Context, userID string) (uint64, error)

	// AcquireInbox makes the caller the only writer of userID's inbox: it
	// moves the inbox epoch to the next one (creating the head at epoch 1)
	// and closes the previous epoch's range. Once it returns, no write of an
	// earlier epoch above the returned LastSeq can become visible, and an
	// earlier epoch's WriteUser that was not yet durable fails with
	// ErrEpochLost. The caller numbers its entries from LastSeq+1 and may
	// assign seqs up to ReservedSeq (then ReserveInboxSeqs for more).
	// ErrEpochLost only if other activations kept taking the epoch while
	// this one retried.
	AcquireInbox(ctx context.Context, userID string) (InboxLease, error)
	// ReserveInboxSeqs raises the inbox reservation to upTo if the inbox
	// epoch is still epoch. ErrEpochLost otherwise. Lowering is a no-op.
	ReserveInboxSeqs(ctx context.Context, userID string, epoch, upTo uint64) error
	// WriteUser durably writes one flush of a user grain in one call: its
	// inbox entries (fenced: the caller holds epoch from AcquireInbox and
	// reserved every seq; ErrEpochLost if the epoch moved on, in which case
	// the caller must not acknowledge them; a later epoch's entry always
	// wins over an earlier epoch's at the same seq), read cursors and
	// device cursors (each moves forward only) and last activities (forward
	// only). Entries may be empty (then epoch is not checked). ErrInvalid
	// for an entry above the reservation or a bad id.
	WriteUser(ctx context.Context, userID string, epoch uint64, w UserWrite) error

	// SetDeviceCursor records a device and moves its cursor forward (never
	// backwards); returns the resulting cursor (with the same caveat as
	// AdvanceReadCursor).
	SetDeviceCursor(ctx context.Context, userID, deviceID string, cursor uint64, seen time.Time) (uint64, error)
	// ListDevices returns all of a user's devices ordered by device id.
	ListDevices(ctx context.Context, userID string) ([]Device, error)

	// SetPushToken stores a device's push registration, replacing the
	// device's previous one (see PushToken).
	SetPushToken(ctx context.Context, t PushToken) error
	// DeletePushToken removes a device's push registration; with token
	// set, only if the stored one is still that token (a gateway that
	// rejected an old token must not remove a newer registration). No
	// error if there is none.
	DeletePushToken(ctx context.Context, userID, deviceID, token string) error
	// ListPushTokens returns a user's push registrations ordered by device id.
	ListPushTokens(ctx context.Context, userID string) ([]PushToken, error)

	// CreateMedia stores a new upload's description (Complete false).
	// ErrExists if its id is taken in its conversation.
	CreateMedia(ctx context.Context, m Media) error
	// GetMedia reads an upload's description. ErrNotFound.
	GetMedia(ctx context.Context, convID, id string) (Media, error)
	// PutMediaChunk stores chunk i of an upload, replacing any before it.
	// ErrNotFound without the upload; ErrInvalid when i or len(data) does
	// not fit it (Media.CheckChunk) or it is complete.
	PutMediaChunk(ctx context.Context, convID, id string, i int, data []byte) error
	// CompleteMedia marks an upload complete once every chunk is stored at
	// its length, and returns it; ErrInvalid naming the first chunk that
	// is not. Completing a complete one returns it.
	CompleteMedia(ctx context.Context, convID, id string) (Media, error)
	// ReadMediaChunk reads chunk i of an upload. ErrNotFound.
	ReadMediaChunk(ctx context.Context, convID, id string, i int) ([]byte, error)
	// AttachMedia records that message seq of convID carries the upload
	// (Media.AttachedSeq), before that message is written: a claim. The
	// upload stays listed (UnsettledMedia) until SettleMedia or
	// DeleteMedia, so a claim whose message never got stored is not kept
	// for ever. ErrNotFound.
	AttachMedia(ctx context.Context, convID, id string, seq uint64) error
	// UnsettledMedia lists at most limit uploads created in the hour that
	// starts at hour (UTC; truncated to the hour) that no SettleMedia or
	// DeleteMedia took off the list: those never attached, and those
	// attached whose message a sweep has not yet found. Fewer than limit:
	// the hour has no more.
	UnsettledMedia(ctx context.Context, hour time.Time, limit int) ([]Media, error)
	// SettleMedia takes an upload off UnsettledMedia's list for good (a
	// sweep found the message that carries it); the upload stays. No
	// error if absent.
	SettleMedia(ctx context.Context, convID, id string) error
	// DeleteMedia removes an upload and its chunks; no error if absent.
	DeleteMedia(ctx context.Context, convID, id string) error

	// PutScheduled stores a scheduled send, replacing the user's one with
	// its ID (and its place in the due index, wherever it was due).
	PutScheduled(ctx context.Context, s ScheduledSend) error
	// ScheduledOf lists at most limit of user's scheduled sends, by ID.
	ScheduledOf(ctx context.Context, user string, limit int) ([]ScheduledSend, error)
	// ScheduledDue lists at most limit scheduled sends due in the UTC day
	// that starts at day (ScheduleDay) at or before until, soonest first.
	// Fewer than limit: no more are due then.
	ScheduledDue(ctx context.Context, day, until time.Time, limit int) ([]ScheduledSend, error)
	// DeleteScheduled removes user's scheduled send id; no error if absent.
	DeleteScheduled(ctx context.Context, user, id string) error

	// SaveCheckpoint writes a checkpoint atomically (state and seqs together).
	SaveCheckpoint(ctx context.Context, cp Checkpoint) error
	// LoadCheckpoint returns the last saved checkpoint. ErrNotFound.
	LoadCheckpoint(ctx context.Context, key string) (Checkpoint, error)

	// ClaimNodeSlot takes or renews the lease of one node number (the node
	// bits of message ids) for owner until expires, with a conditional
	// write: it succeeds if the slot is free, already owner's, or its lease
	// ended before now. ErrExists if another owner holds it.
	ClaimNodeSlot(ctx context.Context, slot uint32, owner string, now, expires time.Time) error
	// ReleaseNodeSlot ends owner's lease of slot; a no-op if owner does
	// not hold it.
	ReleaseNodeSlot(ctx context.Context, slot uint32, owner string) error

	// Limits are the size limits this store enforces, so that the layers
	// above check the same ones first (one owner for each limit).
	Limits() Limits

	// Close releases resources; pending async appends complete first.
	Close() error
}

// MaxNodeSlots is how many node numbers message ids can carry (10 bits).
const MaxNodeSlots = 1024
