// Package actors holds Switchboard's grains — conversation, user — the
// per-node hub that fans large-group messages out to local connections, and
// Node, the Go API the connection layer and the tests call.
package actors

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/linkpreview"
	"github.com/switchboard-im/switchboard/storage"
)

// PolicyMode is what the content policy does with a matching message.
type PolicyMode string

const (
	PolicyOff   PolicyMode = "off"
	PolicyBlock PolicyMode = "block" // the sender gets REJECTED_POLICY; nobody else sees it
	PolicyFlag  PolicyMode = "flag"  // delivered, marked for audit
)

// MinRetention is the shortest Config.Retention (and per kind).
const MinRetention = time.Hour

// MinSlowMode is the shortest slow-mode interval a group may set: below a
// second it would refuse a member's double tap, not slow a conversation.
const MinSlowMode = time.Second

// Config holds the grains' limits and behaviour. DefaultConfig documents the
// defaults; zero fields take them.
type Config struct {
	// MaxBodyBytes is the largest message body (zero: the store's limit,
	// storage.Limits.MaxBodyBytes, its one owner). NewRuntime refuses a
	// value above the store's: such a message would pass the grain and
	// fail in the store.
	MaxBodyBytes int
	// MaxGroupMembers is the largest group (default 10,000).
	MaxGroupMembers int
	// SystemMessageUsers is the most users a membership change's system
	// message names (default 20); it counts them all ("count"). Every
	// member reads that message, so a list of all of a thousand added
	// users would cost each member of a large group ~20 KB per change.
	SystemMessageUsers int
	// MaxMentions bounds the members one message mentions (default 20;
	// conv_mention.go). A group reply may mention one more: the author of
	// the message it answers (conv_reply.go).
	MaxMentions int
	// LinkPreviewsOff: the node reads no web page for a link preview
	// (link_preview.go); LinkPreview bounds the reads it makes.
	LinkPreviewsOff bool
	LinkPreview     linkpreview.Config
	// ReplyMentionsOff: a reply in a group does not mention the author of
	// the message it answers (by default it does: conv_reply.go).
	ReplyMentionsOff bool
	// MaxMediaBytes bounds one uploaded file (default 16 MiB).
	MaxMediaBytes int64
	// MaxMediaThumbBytes bounds an upload's preview image, which every
	// message carrying the file carries inline (default 4 KiB, at most
	// storage.MaxPreviewBytes).
	MaxMediaThumbBytes int
	// MaxReactionBytes bounds a reaction (default 64: the longest emoji
	// sequences, or an app's short code; conv_reaction.go).
	MaxReactionBytes int
	// MaxPollOptions bounds the options of a poll (default 12, at least
	// 2); MaxPollOptionBytes bounds each option's text (default 256;
	// conv_poll.go). A poll's question is bounded by MaxBodyBytes.
	MaxPollOptions     int
	MaxPollOptionBytes int
	// MaxQuizExplanationBytes bounds what a quiz's author says of its
	// answer (default 200; conv_quiz.go).
	MaxQuizExplanationBytes int
	// MaxLocationNameBytes bounds a shared location's name (default 200;
	// location.go).
	MaxLocationNameBytes int
	// MaxMetaBytes bounds an app's meta, its keys and values together: a
	// message's, a conversation's, a profile's (default 1024; meta.go).
	MaxMetaBytes int
	// MaxFreezeReasonBytes bounds what a frozen conversation's members are
	// told of why (default 500; conv_freeze.go).
	MaxFreezeReasonBytes int
	// MaxFreezeFor bounds how far ahead a freeze may end by itself (a
	// cool-down; default a year; conv_freeze.go).
	MaxFreezeFor time.Duration
	// CallRingTimeout is how long a call rings before it is missed
	// (default 45 s; conv_call.go).
	CallRingTimeout time.Duration
	// CallAliveTimeout: an answered call ends, dropped, when a side's
	// device has not said it is alive for this long (default 45 s; the
	// SDKs say so every 15 s).
	CallAliveTimeout time.Duration
	// MaxCallSignalBytes bounds one relayed call signal: an SDP offer or
	// answer, ICE candidates (default 16 KiB).
	MaxCallSignalBytes int
	// MaxLiveLocationFor bounds how long a live location is shared
	// (default 8 hours; location.go).
	MaxLiveLocationFor time.Duration
	// MaxPollDuration bounds how far ahead a poll's closes_at_ms may be
	// (default 90 days: a school term).
	MaxPollDuration time.Duration
	// PreJoinHistory: in groups without their own setting, a member added
	// later sees the last this many seqs before its join (default 0: from
	// its join on). MaxPreJoinHistory bounds a group's setting (default
	// 1,000).
	PreJoinHistory    int
	MaxPreJoinHistory int
	// MaxPinnedMessages bounds the messages a group holds pinned at once
	// (default 10): a pin past it is INVALID until one is unpinned.
	MaxPinnedMessages int
	// MaxStarredMessages bounds the messages one user keeps starred
	// (default 500): a star past it is TOO_MANY until one is unstarred.
	MaxStarredMessages int
	// User profiles (user_profile.go): a display name of at most
	// MaxProfileNameBytes (default 128), an avatar URL of at most
	// MaxAvatarURLBytes (default 1,024), and at most MaxProfileUsers
	// profiles read by one request (default 100).
	MaxProfileNameBytes int
	MaxAvatarURLBytes   int
	MaxProfileUsers     int
	// MaxPresenceUsers bounds the users one Presences request asks about
	// (default 100): a chat list's online dots in one request.
	MaxPresenceUsers int
	// MaxQuietIntervals bounds the quiet intervals of one day of a user's
	// quiet hours (default 4; user_quiet.go).
	MaxQuietIntervals int
	// Customer attributes (user_attributes.go): at most
	// MaxCustomerAttributes per user (default 32), each value at most
	// MaxAttributeBytes (default 256).
	MaxCustomerAttributes int
	MaxAttributeBytes     int
	// Drafts (user_drafts.go): at most MaxDrafts per user (default 100),
	// each at most MaxDraftBytes (default 4 KiB).
	MaxDrafts     int
	MaxDraftBytes int
	// MaxScheduledMessages bounds the messages one user has scheduled
	// and not yet sent (default 100): past it TOO_MANY. MaxScheduleAhead
	// bounds how far ahead one is due (default 365 days).
	MaxScheduledMessages int
	MaxScheduleAhead     time.Duration
	// ScheduleInterval is how often a node looks for scheduled messages
	// that are due (default 1 s): how late one may go out.
	ScheduleInterval time.Duration
	// MaxTitleBytes bounds a group's name (default 256),
	// MaxDescriptionBytes its description (default 1,024).
	MaxTitleBytes       int
	MaxDescriptionBytes int
	// MaxSlowMode bounds a group's slow mode, the interval between a plain
	// member's new messages (default 1 h; at least MinSlowMode).
	MaxSlowMode time.Duration
	// Group invites: a code is valid InviteTTL unless its creator asks for
	// another duration, at most MaxInviteTTL (defaults 7 and 30 days); a
	// group holds at most MaxGroupInvites live invites (default 20).
	InviteTTL       time.Duration
	MaxInviteTTL    time.Duration
	MaxGroupInvites int
	// Join requests (an invite that needs approval): a group holds at most
	// MaxJoinRequests waiting (default 500), each dropped unanswered after
	// JoinRequestTTL (default 7 days).
	MaxJoinRequests int
	JoinRequestTTL  time.Duration
	// MaxJoinNoteBytes: the longest note a request to join carries to the
	// group's managers (default 200).
	MaxJoinNoteBytes int
	// MaxMuteFor: the longest a user's mute of a conversation may be
	// given an end (default a year; a mute without one lasts until
	// unmuted).
	MaxMuteFor time.Duration
	// DirectFrom: who may start a direct conversation with a user who
	// never chose (privacy direct_from; direct_from.go): everyone unless
	// set. DirectFromScan bounds the membership rows read of each user
	// when the rule is "users who share a group" (default 2,000).
	DirectFrom     pb.DirectFrom
	DirectFromScan int
	// GroupAddFrom: who may add a user who never chose to a group
	// (privacy group_add_from; direct_from.go): everyone unless set. Its
	// "users who share a group" reads as many rows as DirectFromScan.
	GroupAddFrom pb.GroupAddFrom
	// MinDisappearAfter, MaxDisappearAfter: the shortest and longest timer
	// a conversation's disappearing messages may have (conv_disappear.go;
	// defaults 30 s and a year).
	MinDisappearAfter time.Duration
	MaxDisappearAfter time.Duration
	// MaxForwardHops: a copy that many forwards from its original is
	// forwarded no further (a chain letter stops; forward.go). 0: no
	// bound but storage.MaxForwardHops, where the count stops.
	MaxForwardHops int
	// MaxMemberMuteFor: the longest a group's managers may mute a member
	// for with an end (membership MUTE with for_ms; default a year; a
	// mute without one lasts until unmuted).
	MaxMemberMuteFor time.Duration
	// Away messages (user_away.go): at most MaxAwayBytes of text (default
	// 500), ending at most MaxAwayFor from when it is set (default a year).
	MaxAwayBytes int
	MaxAwayFor   time.Duration
	// MaxHiddenMessages: the most messages one member may delete for
	// themself in one conversation (conv_hide.go; default 500). Past it,
	// clearing the conversation (ClearHistory) is the way.
	MaxHiddenMessages int
	// Labels (user_labels.go): at most MaxConvLabels on one conversation
	// of a user's (default 10), each at most MaxLabelBytes (default 32).
	MaxConvLabels int
	MaxLabelBytes int
	// MaxSnoozeFor: the furthest ahead a snooze (an archive for a while)
	// may end (default a year).
	MaxSnoozeFor time.Duration
	// FanoutThreshold: conversations with at most this many members get one
	// Deliver (inbox entry) per member per message; larger groups use read
	// fan-out (default 500).
	FanoutThreshold int
	// MaxMentionSeqs bounds the seqs a read fan-out group keeps per member
	// for its unread mention count (default 1,000): the newest are kept,
	// and a member with more unread mentions sees the count stop there.
	MaxMentionSeqs int
	// Large groups' messages reach this node's connections in rounds
	// (broadcast.go): BroadcastChunk connections at a time (default 256),
	// waiting for a chunk's writes at most BroadcastChunkWait (default
	// 100 ms) before the next; at most BroadcastMaxPending messages of one
	// group wait for a round (default 4,096; past it the oldest are
	// dropped and clients fetch the gap).
	BroadcastChunk      int
	BroadcastChunkWait  time.Duration
	BroadcastMaxPending int
	// SendRate and SendBurst limit each sender in each conversation
	// (default 50 messages/s, burst 100).
	SendRate  float64
	SendBurst int
	// RecallWindow is how long a sender may recall its message (default
	// 2 min); owners and admins of a group may recall any message any time.
	RecallWindow time.Duration
	// EditWindow is how long a sender may edit the text of its message
	// (default 15 min).
	EditWindow time.Duration
	// MaxModerationReasonBytes bounds the reason an operator gives for
	// suspending a user (the user's client shows it) and the reason a user
	// gives when reporting a message (default 500).
	MaxModerationReasonBytes int
	// MaxOpenReports bounds the users' reports waiting for a moderator
	// (default 2,000); past it a new report is refused TOO_MANY. They are
	// kept in one stored list, rewritten at each change.
	MaxOpenReports int
	// MaxOpenReportsPerReporter bounds one user's reports waiting for a
	// moderator (default 20), so that one user cannot fill the list and
	// keep everyone else from reporting.
	MaxOpenReportsPerReporter int
	// AutoSuspendReports suspends a user, until a moderator lifts it, once
	// that many different users have open reports of their messages (a
	// scammer writing to buyer after buyer at night); 0, the default: a
	// moderator decides alone (reports.go).
	AutoSuspendReports int
	// NewDirectPerHour bounds the new direct conversations a user opens (a
	// first message to someone they never wrote to) in an hour (default
	// 100; negative: no bound), so one account cannot write to every user
	// of a marketplace. Past it the send is refused RATE_LIMITED with the
	// wait in retry_after_ms. Conversations that exist are not counted.
	NewDirectPerHour int
	// MediaBytesPerHour bounds the bytes of files a user uploads in an
	// hour (default 1 GiB; negative: no bound), so one account cannot fill
	// the store. Past it media_create is refused RATE_LIMITED with the
	// wait in retry_after_ms. At least MaxMediaBytes (a lower one is raised).
	MediaBytesPerHour int64
	// MediaUploadTTL is how long an upload may wait to be sent (attached
	// to a message) before it is deleted (default 24 h; negative: kept
	// for ever); sending it later is refused INVALID. Uploads older than it
	// are swept every MediaSweepInterval (default 10 min).
	MediaUploadTTL     time.Duration
	MediaSweepInterval time.Duration
	// Retention is how long a message's content is kept (default 0: for
	// ever; else at least MinRetention, the edit and the recall windows,
	// so nobody edits or recalls what has expired). Past it, a text, a
	// card, an edit or a card's update is read as expired (its body and
	// file gone, retention.go) and a sweep every RetentionSweepInterval
	// (default 1 h) takes the content out of the store; the rows, their
	// seqs and unread counts stay.
	Retention              time.Duration
	RetentionSweepInterval time.Duration
	// RetentionDirect, RetentionGroup and RetentionService set it for one
	// kind of conversation (0: Retention), e.g. support chats kept longer
	// than a marketplace's chats between users; the same bounds apply.
	RetentionDirect, RetentionGroup, RetentionService time.Duration
	// Now is the time retention reads and sweeps by, and slow mode counts
	// by (default time.Now); tests move it.
	Now func() time.Time
	// PolicyWords are matched case-insensitively against message bodies;
	// PolicyMode block adds them to the blocked list, flag to the monitor
	// list.
	PolicyWords []string
	PolicyMode  PolicyMode
	// BlockedWords refuse a send (REJECTED_POLICY); MonitorWords deliver
	// it flagged, counted and logged. Both apply at once and are replaced
	// at run time with Runtime.SetWordLists (wordlists.go), whose stored
	// lists every node reloads every WordListReload (default 5 s).
	BlockedWords   []string
	MonitorWords   []string
	WordListReload time.Duration
	// ContactDetails is what a phone number or an e-mail address in a
	// text does (contacts.go): off (default), mask, flag or block.
	// ContactDetailsIn names the conversation kinds it applies in
	// (direct, group, service; default direct), ContactMinDigits the
	// digits a phone number has at least (default 8, 6 to 20).
	// ContactNumberWords are the words that count as digits in a phone
	// number spelled out ("five five five one two…"), each "word=digit";
	// empty means English (zero, oh, one … nine), "none" none.
	ContactDetails     PolicyMode
	ContactDetailsIn   []string
	ContactMinDigits   int
	ContactNumberWords []string
	// ContactLinks: web links count as contact details too (with a
	// scheme, from "www." or a bare domain of a common top-level domain:
	// wa.me/…), except those to ContactLinksAllow's domains (the
	// marketplace's own; a domain allows its subdomains).
	ContactLinks      bool
	ContactLinksAllow []string
	// MaxCardActions bounds a card's action buttons (default 4),
	// MaxCardFields its fields (default 16).
	MaxCardActions int
	MaxCardFields  int
	// MaxWords bounds each list (default 10,000), MaxWordBytes each word
	// (default 128).
	MaxWords     int
	MaxWordBytes int
	// PresenceOneSided lets a user see other users' presence whatever
	// they share themselves. By default what a user sees of another is at
	// most what they show (user_privacy.go): with ONLINE_ONLY they see
	// nobody's last seen, with NOBODY nobody's presence at all.
	PresenceOneSided bool
	// IdleTimeout passivates a grain that received nothing for this long
	// (default 10 min).
	IdleTimeout time.Duration
	// DedupeWindow is how many recent messages' client ids a conversation
	// remembers (default 4096); rebuilt from the store on activation.
	DedupeWindow int
	// SeqReserve is how many seqs a conversation reserves per conditional
	// write of its head (default 1000).
	SeqReserve uint64
	// InboxReserve is how many inbox seqs a user grain reserves per
	// conditional write of its inbox head (default 1000).
	InboxReserve uint64
	// CursorFlushDelay is how long a user grain holds a device's cursor
	// ack when nothing else is to be written (no inbox entry, no read
	// cursor), so that it joins the next flush instead of costing a store
	// call of its own: its answer waits that much longer (default 250 ms;
	// negative: written at once).
	CursorFlushDelay time.Duration
	// NodeLease is how long a node's lease of its node number (the node
	// bits of message ids) lasts unrenewed; it is renewed every third of it
	// (default 30 s).
	NodeLease time.Duration
	// RequestTimeout bounds one grain request (default 5 s).
	RequestTimeout time.Duration
	// DeliverAttemptTimeout bounds the first attempt of a fan-out Deliver
	// to a member's grain; each retry waits twice as long, up to
	// RequestTimeout (default 1 s). Short, so that a grain on a node that
	// died is looked up again soon instead of after RequestTimeout.
	DeliverAttemptTimeout time.Duration
	// MaxHistoryPage caps one history page (default 200).
	MaxHistoryPage int
	// MaxSearchScan bounds the log rows one search reads (default 5,000):
	// a search of a long conversation goes on page by page from where
	// the last one stopped (search.go).
	MaxSearchScan int
	// MaxSearchConversations bounds the conversations one search of all
	// of a user's conversations reads (default 100): each costs a
	// membership check and a store read even when it holds nothing.
	MaxSearchConversations int
	// SyncPage caps the conversations of one sync answer (default 500).
	SyncPage int
	// Reregister is how often each session registers its device with the
	// user grain again (default 60 s); one node-wide sweep does it, a
	// 64th of the sessions every Reregister/64 (reregister.go). A grain
	// that moved learns of online devices at once through a presence
	// probe, and the sessions whose grain maps to another member after a
	// membership change register again at once; this only bounds the time
	// a device can go without pushes should both be missed (a second
	// activation alive for a moment while the topology changes). It was
	// 30 s ± 50% (gaps up to 45 s) with a timer per session; the sweep's
	// period is exact, so 60 s keeps the worst gap near what it was at
	// half the grain requests of an idle node (sync from the cursor, the
	// guarantee, does not depend on it).
	Reregister time.Duration
	// ReregisterWorkers caps the sweep's re-registrations in flight at
	// once (default 8): a slow user grain holds up one worker, and the
	// sweep never runs a goroutine per session.
	ReregisterWorkers int
	// MaxOnlineDevices caps one user's devices online at once across the
	// cluster (default 16); MaxDevices caps the devices a user has, where a
	// device unseen for DeviceExpiry (default 30 days) no longer counts
	// (default 64). Past either cap, connecting answers TOO_MANY.
	MaxOnlineDevices int
	MaxDevices       int
	DeviceExpiry     time.Duration
	// MaxPendingSends and MaxPendingDeliveries bound the accepted work a
	// node holds: sends not yet acked (default 2048) and fan-out jobs not
	// yet delivered (default 8192). Past either, a send is refused with
	// BUSY and a retry-after of about BusyRetryAfter (default 250 ms,
	// jittered ±50%) instead of queueing.
	MaxPendingSends      int
	MaxPendingDeliveries int
	BusyRetryAfter       time.Duration
	// MaxBusyRetryAfter caps the retry-after as it grows with the share of
	// sends refused (admission.go: a node refusing k sends per accepted one
	// asks for about k × BusyRetryAfter; default 2 s).
	MaxBusyRetryAfter time.Duration
	// SendLatencyTarget and SendLatencyInterval make the bound on pending
	// sends adapt to the latency sends get (admission.go): after an
	// interval (default 100 ms) in which more than half the sends took
	// longer than the target (default 100 ms) the bound drops, after one
	// whose median met it the bound grows back towards MaxPendingSends; it never goes below
	// MinPendingSends (default 64). The target must sit above what a send
	// costs on an idle node (its fsync included), or the node sheds
	// without being overloaded.
	SendLatencyTarget   time.Duration
	SendLatencyInterval time.Duration
	MinPendingSends     int
	// SchedLatencyTarget: the bound on pending sends drops too after an
	// interval in which this process's runnable goroutines waited longer
	// than this to run (90th percentile; default 50 ms, negative: off).
	// A node with CPU to spare runs them within a millisecond; a
	// saturated one queues every packet and grain message for tens to
	// hundreds of milliseconds, which a send's own latency does not see.
	SchedLatencyTarget time.Duration
	// TypingMaxMembers: typing signals are forwarded only in conversations
	// with at most this many members (default 50).
	TypingMaxMembers int
	// OnDurable, if set, is called by a conversation grain for each message
	// once it is durable, in seq order: the metrics hook. It must not block.
	OnDurable func(kind storage.ConvKind, m storage.Message)
	// OnRead, if set, is called by a user grain each time the user's read
	// cursor in a conversation moved forward (the export hook). It must
	// not block.
	OnRead func(user, conv string, seq uint64)
	// OnModeration, if set, is called once a moderation step is stored: a
	// report filed or resolved, a suspension set or lifted (the export
	// hook). It must not block.
	OnModeration func(ModerationEvent)
	// Push configures offline push notifications (push.go); off unless
	// a gateway is set.
	Push PushConfig
	// Reminders configures unread reminders (reminders.go); off unless
	// After and a gateway are set.
	Reminders ReminderConfig
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		MaxGroupMembers:           10000,
		SystemMessageUsers:        20,
		MaxMentions:               20,
		MaxReactionBytes:          64,
		MaxPollOptions:            12,
		MaxPollOptionBytes:        256,
		MaxQuizExplanationBytes:   200,
		MaxLocationNameBytes:      200,
		MaxFreezeReasonBytes:      500,
		MaxFreezeFor:              366 * 24 * time.Hour,
		CallRingTimeout:           45 * time.Second,
		CallAliveTimeout:          45 * time.Second,
		MaxCallSignalBytes:        16 << 10,
		MaxMetaBytes:              1024,
		MaxLiveLocationFor:        8 * time.Hour,
		MaxPollDuration:           90 * 24 * time.Hour,
		MaxMediaBytes:             16 << 20,
		MaxMediaThumbBytes:        4 << 10,
		MediaBytesPerHour:         1 << 30,
		MediaUploadTTL:            24 * time.Hour,
		MediaSweepInterval:        10 * time.Minute,
		RetentionSweepInterval:    time.Hour,
		MaxPreJoinHistory:         1000,
		MaxPinnedMessages:         10,
		MaxStarredMessages:        500,
		MaxProfileNameBytes:       128,
		MaxAvatarURLBytes:         1024,
		MaxProfileUsers:           100,
		MaxPresenceUsers:          100,
		MaxQuietIntervals:         4,
		MaxCustomerAttributes:     32,
		MaxAttributeBytes:         256,
		MaxDrafts:                 100,
		MaxDraftBytes:             4096,
		MaxScheduledMessages:      100,
		MaxScheduleAhead:          365 * 24 * time.Hour,
		ScheduleInterval:          time.Second,
		MaxSlowMode:               time.Hour,
		MaxTitleBytes:             256,
		MaxDescriptionBytes:       1024,
		InviteTTL:                 7 * 24 * time.Hour,
		MaxInviteTTL:              30 * 24 * time.Hour,
		MaxGroupInvites:           20,
		MaxJoinRequests:           500,
		MaxJoinNoteBytes:          200,
		JoinRequestTTL:            7 * 24 * time.Hour,
		MaxMuteFor:                366 * 24 * time.Hour,
		MaxMemberMuteFor:          366 * 24 * time.Hour,
		MinDisappearAfter:         30 * time.Second,
		MaxDisappearAfter:         366 * 24 * time.Hour,
		DirectFromScan:            2000,
		MaxAwayBytes:              500,
		MaxAwayFor:                366 * 24 * time.Hour,
		MaxHiddenMessages:         500,
		MaxConvLabels:             10,
		MaxLabelBytes:             32,
		MaxSnoozeFor:              366 * 24 * time.Hour,
		WordListReload:            5 * time.Second,
		MaxWords:                  10000,
		MaxCardActions:            4,
		MaxCardFields:             16,
		MaxWordBytes:              128,
		FanoutThreshold:           500,
		MaxMentionSeqs:            1000,
		BroadcastChunk:            256,
		BroadcastChunkWait:        100 * time.Millisecond,
		BroadcastMaxPending:       4096,
		SendRate:                  50,
		SendBurst:                 100,
		RecallWindow:              2 * time.Minute,
		EditWindow:                15 * time.Minute,
		MaxModerationReasonBytes:  500,
		MaxOpenReports:            2000,
		MaxOpenReportsPerReporter: 20,
		NewDirectPerHour:          100,
		PolicyMode:                PolicyOff,
		ContactDetails:            PolicyOff,
		ContactDetailsIn:          []string{"direct"},
		ContactMinDigits:          defaultContactMinDigits,
		IdleTimeout:               10 * time.Minute,
		DedupeWindow:              4096,
		SeqReserve:                1000,
		InboxReserve:              1000,
		CursorFlushDelay:          250 * time.Millisecond,
		NodeLease:                 30 * time.Second,
		RequestTimeout:            5 * time.Second,
		MaxHistoryPage:            200,
		MaxSearchScan:             5000,
		MaxSearchConversations:    100,
		SyncPage:                  500,
		Reregister:                60 * time.Second,
		ReregisterWorkers:         8,
		TypingMaxMembers:          50,
		MaxOnlineDevices:          16,
		MaxPendingSends:           2048,
		MaxPendingDeliveries:      8192,
		BusyRetryAfter:            250 * time.Millisecond,
		MaxBusyRetryAfter:         2 * time.Second,
		SendLatencyTarget:         100 * time.Millisecond,
		SendLatencyInterval:       100 * time.Millisecond,
		MinPendingSends:           64,
		SchedLatencyTarget:        50 * time.Millisecond,
		MaxDevices:                64,
		DeviceExpiry:              30 * 24 * time.Hour,
		Logger:                    slog.Default(),
	}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDuration := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&c.MaxGroupMembers, d.MaxGroupMembers)
	setInt(&c.SystemMessageUsers, d.SystemMessageUsers)
	setInt(&c.MaxMentions, d.MaxMentions)
	setInt(&c.MaxReactionBytes, d.MaxReactionBytes)
	setInt(&c.MaxPollOptionBytes, d.MaxPollOptionBytes)
	setInt(&c.MaxQuizExplanationBytes, d.MaxQuizExplanationBytes)
	setInt(&c.MaxLocationNameBytes, d.MaxLocationNameBytes)
	setInt(&c.MaxFreezeReasonBytes, d.MaxFreezeReasonBytes)
	setDuration(&c.MaxFreezeFor, d.MaxFreezeFor)
	setDuration(&c.CallRingTimeout, d.CallRingTimeout)
	setDuration(&c.CallAliveTimeout, d.CallAliveTimeout)
	setInt(&c.MaxCallSignalBytes, d.MaxCallSignalBytes)
	setInt(&c.MaxMetaBytes, d.MaxMetaBytes)
	setDuration(&c.MaxLiveLocationFor, d.MaxLiveLocationFor)
	setInt(&c.MaxPollOptions, d.MaxPollOptions)
	setDuration(&c.MaxPollDuration, d.MaxPollDuration)
	if c.MaxPollOptions < MinPollOptions || c.MaxPollOptions > MaxPollOptionsLimit {
		return c, fmt.Errorf("max poll options %d: want %d to %d", c.MaxPollOptions, MinPollOptions, MaxPollOptionsLimit)
	}
	if c.MaxMediaBytes <= 0 {
		c.MaxMediaBytes = d.MaxMediaBytes
	}
	setInt(&c.MaxMediaThumbBytes, d.MaxMediaThumbBytes)
	if c.MaxMediaThumbBytes > storage.MaxPreviewBytes {
		return c, fmt.Errorf("max media thumb bytes %d: at most %d", c.MaxMediaThumbBytes, storage.MaxPreviewBytes)
	}
	setInt(&c.MaxPreJoinHistory, d.MaxPreJoinHistory)
	setInt(&c.MaxPinnedMessages, d.MaxPinnedMessages)
	setInt(&c.MaxStarredMessages, d.MaxStarredMessages)
	setInt(&c.MaxProfileNameBytes, d.MaxProfileNameBytes)
	setInt(&c.MaxAvatarURLBytes, d.MaxAvatarURLBytes)
	setInt(&c.MaxProfileUsers, d.MaxProfileUsers)
	setInt(&c.MaxPresenceUsers, d.MaxPresenceUsers)
	setInt(&c.MaxQuietIntervals, d.MaxQuietIntervals)
	setInt(&c.MaxCustomerAttributes, d.MaxCustomerAttributes)
	setInt(&c.MaxAttributeBytes, d.MaxAttributeBytes)
	setInt(&c.MaxDrafts, d.MaxDrafts)
	setInt(&c.MaxDraftBytes, d.MaxDraftBytes)
	setInt(&c.MaxScheduledMessages, d.MaxScheduledMessages)
	setDuration(&c.MaxScheduleAhead, d.MaxScheduleAhead)
	setDuration(&c.ScheduleInterval, d.ScheduleInterval)
	setInt(&c.MaxTitleBytes, d.MaxTitleBytes)
	setInt(&c.MaxDescriptionBytes, d.MaxDescriptionBytes)
	if c.Reminders.MaxPending == 0 {
		c.Reminders.MaxPending = DefaultReminderMaxPending
	}
	if c.Reminders.PreviewBytes == 0 {
		c.Reminders.PreviewBytes = DefaultPushPreviewBytes
	}
	if c.Reminders.QueueSize == 0 {
		c.Reminders.QueueSize = DefaultReminderQueue
	}
	if c.Reminders.After < 0 || c.Reminders.MaxPending < 0 || c.Reminders.QueueSize < 0 {
		return c, fmt.Errorf("unread reminders after %v, max pending %d, queue %d: want 0 (default, or off) or more",
			c.Reminders.After, c.Reminders.MaxPending, c.Reminders.QueueSize)
	}
	if c.MaxSlowMode == 0 {
		c.MaxSlowMode = d.MaxSlowMode
	}
	if c.MaxSlowMode < MinSlowMode || c.MaxSlowMode > math.MaxUint32*time.Millisecond {
		return c, fmt.Errorf("max slow mode %v: want %v to %v", c.MaxSlowMode, MinSlowMode, math.MaxUint32*time.Millisecond)
	}
	setInt(&c.MaxGroupInvites, d.MaxGroupInvites)
	setInt(&c.MaxJoinRequests, d.MaxJoinRequests)
	setInt(&c.MaxJoinNoteBytes, d.MaxJoinNoteBytes)
	setDuration(&c.JoinRequestTTL, d.JoinRequestTTL)
	setDuration(&c.MaxMuteFor, d.MaxMuteFor)
	setDuration(&c.MaxMemberMuteFor, d.MaxMemberMuteFor)
	setDuration(&c.MinDisappearAfter, d.MinDisappearAfter)
	setDuration(&c.MaxDisappearAfter, d.MaxDisappearAfter)
	if c.MinDisappearAfter > c.MaxDisappearAfter {
		return c, fmt.Errorf("disappearing messages: the shortest timer %v is longer than the longest %v", c.MinDisappearAfter, c.MaxDisappearAfter)
	}
	setInt(&c.DirectFromScan, d.DirectFromScan)
	if c.DirectFrom == pb.DirectFrom_DIRECT_FROM_DEFAULT {
		c.DirectFrom = pb.DirectFrom_DIRECT_FROM_EVERYONE
	}
	if pb.DirectFrom_name[int32(c.DirectFrom)] == "" {
		return c, fmt.Errorf("direct from %d: want everyone, groups or nobody", c.DirectFrom)
	}
	if c.GroupAddFrom == pb.GroupAddFrom_GROUP_ADD_FROM_DEFAULT {
		c.GroupAddFrom = pb.GroupAddFrom_GROUP_ADD_FROM_EVERYONE
	}
	if pb.GroupAddFrom_name[int32(c.GroupAddFrom)] == "" {
		return c, fmt.Errorf("group add from %d: want everyone, groups or nobody", c.GroupAddFrom)
	}
	setInt(&c.MaxAwayBytes, d.MaxAwayBytes)
	setInt(&c.MaxHiddenMessages, d.MaxHiddenMessages)
	if c.MaxForwardHops < 0 {
		return c, fmt.Errorf("max forward hops %d: want 0 (no bound) or more", c.MaxForwardHops)
	}
	setInt(&c.MaxConvLabels, d.MaxConvLabels)
	setInt(&c.MaxLabelBytes, d.MaxLabelBytes)
	setDuration(&c.MaxSnoozeFor, d.MaxSnoozeFor)
	setDuration(&c.MaxAwayFor, d.MaxAwayFor)
	setDuration(&c.MaxInviteTTL, d.MaxInviteTTL)
	if c.InviteTTL <= 0 {
		c.InviteTTL = min(d.InviteTTL, c.MaxInviteTTL)
	}
	if c.InviteTTL > c.MaxInviteTTL {
		return c, fmt.Errorf("invite ttl %v: at most the max invite ttl %v", c.InviteTTL, c.MaxInviteTTL)
	}
	setInt(&c.MaxWords, d.MaxWords)
	setInt(&c.MaxCardActions, d.MaxCardActions)
	setInt(&c.MaxCardFields, d.MaxCardFields)
	setInt(&c.MaxWordBytes, d.MaxWordBytes)
	setDuration(&c.WordListReload, d.WordListReload)
	if c.PreJoinHistory < 0 || c.PreJoinHistory > c.MaxPreJoinHistory {
		return c, fmt.Errorf("actors: pre-join history %d, want 0..%d", c.PreJoinHistory, c.MaxPreJoinHistory)
	}
	setInt(&c.FanoutThreshold, d.FanoutThreshold)
	setInt(&c.MaxMentionSeqs, d.MaxMentionSeqs)
	setInt(&c.BroadcastChunk, d.BroadcastChunk)
	setInt(&c.BroadcastMaxPending, d.BroadcastMaxPending)
	setDuration(&c.BroadcastChunkWait, d.BroadcastChunkWait)
	setInt(&c.SendBurst, d.SendBurst)
	setInt(&c.DedupeWindow, d.DedupeWindow)
	setInt(&c.MaxHistoryPage, d.MaxHistoryPage)
	setInt(&c.MaxSearchScan, d.MaxSearchScan)
	setInt(&c.MaxSearchConversations, d.MaxSearchConversations)
	setInt(&c.SyncPage, d.SyncPage)
	setInt(&c.TypingMaxMembers, d.TypingMaxMembers)
	setInt(&c.MaxOnlineDevices, d.MaxOnlineDevices)
	setInt(&c.ReregisterWorkers, d.ReregisterWorkers)
	setInt(&c.MaxPendingSends, d.MaxPendingSends)
	setInt(&c.MaxPendingDeliveries, d.MaxPendingDeliveries)
	setDuration(&c.BusyRetryAfter, d.BusyRetryAfter)
	setDuration(&c.MaxBusyRetryAfter, d.MaxBusyRetryAfter)
	c.MaxBusyRetryAfter = max(c.MaxBusyRetryAfter, c.BusyRetryAfter)
	setDuration(&c.SendLatencyTarget, d.SendLatencyTarget)
	setDuration(&c.SendLatencyInterval, d.SendLatencyInterval)
	setInt(&c.MinPendingSends, d.MinPendingSends)
	if c.SchedLatencyTarget == 0 {
		c.SchedLatencyTarget = d.SchedLatencyTarget
	}
	setInt(&c.MaxDevices, d.MaxDevices)
	setDuration(&c.DeviceExpiry, d.DeviceExpiry)
	setDuration(&c.Reregister, d.Reregister)
	if c.SendRate <= 0 {
		c.SendRate = d.SendRate
	}
	setDuration(&c.RecallWindow, d.RecallWindow)
	setInt(&c.MaxModerationReasonBytes, d.MaxModerationReasonBytes)
	setInt(&c.MaxOpenReports, d.MaxOpenReports)
	setInt(&c.MaxOpenReportsPerReporter, d.MaxOpenReportsPerReporter)
	if c.NewDirectPerHour == 0 {
		c.NewDirectPerHour = d.NewDirectPerHour
	}
	if c.MediaBytesPerHour == 0 {
		c.MediaBytesPerHour = d.MediaBytesPerHour
	}
	if c.MediaBytesPerHour > 0 && c.MediaBytesPerHour < c.MaxMediaBytes {
		c.MediaBytesPerHour = c.MaxMediaBytes // a file at the limit must fit an hour's budget
	}
	if c.MediaUploadTTL == 0 {
		c.MediaUploadTTL = d.MediaUploadTTL
	}
	setDuration(&c.MediaSweepInterval, d.MediaSweepInterval)
	setDuration(&c.RetentionSweepInterval, d.RetentionSweepInterval)
	if c.Now == nil {
		c.Now = time.Now
	}
	setDuration(&c.EditWindow, d.EditWindow)
	for _, r := range []struct {
		what string
		d    time.Duration
	}{{"retention", c.Retention}, {"direct retention", c.RetentionDirect}, {"group retention", c.RetentionGroup}, {"service retention", c.RetentionService}} {
		if r.d != 0 && (r.d < MinRetention || r.d < c.EditWindow || r.d < c.RecallWindow) {
			return c, fmt.Errorf("%s %v: want 0 (keep for ever) or at least %v, the edit window (%v) and the recall window (%v)",
				r.what, r.d, MinRetention, c.EditWindow, c.RecallWindow)
		}
	}
	setDuration(&c.IdleTimeout, d.IdleTimeout)
	if c.SeqReserve == 0 {
		c.SeqReserve = d.SeqReserve
	}
	if c.CursorFlushDelay == 0 {
		c.CursorFlushDelay = d.CursorFlushDelay
	}
	if c.InboxReserve == 0 {
		c.InboxReserve = d.InboxReserve
	}
	setDuration(&c.NodeLease, d.NodeLease)
	setDuration(&c.RequestTimeout, d.RequestTimeout)
	if c.DeliverAttemptTimeout <= 0 {
		c.DeliverAttemptTimeout = defaultDeliverAttemptTimeout
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	switch c.PolicyMode {
	case "":
		c.PolicyMode = PolicyOff
	case PolicyOff, PolicyBlock, PolicyFlag:
	default:
		return c, fmt.Errorf("policy mode %q: want off, block or flag", c.PolicyMode)
	}
	switch c.ContactDetails {
	case "":
		c.ContactDetails = PolicyOff
	case PolicyOff, PolicyMask, PolicyFlag, PolicyBlock:
	default:
		return c, fmt.Errorf("contact details %q: want off, mask, flag or block", c.ContactDetails)
	}
	if len(c.ContactDetailsIn) == 0 {
		c.ContactDetailsIn = []string{"direct"}
	}
	if c.ContactMinDigits == 0 {
		c.ContactMinDigits = defaultContactMinDigits
	}
	if c.ContactMinDigits < 6 || c.ContactMinDigits > 20 {
		return c, fmt.Errorf("contact min digits %d: want 6 to 20", c.ContactMinDigits)
	}
	switch {
	case c.ContactLinks && c.ContactDetails == PolicyOff:
		return c, fmt.Errorf("contact links: set contact details to mask, flag or block, which links then count as")
	case len(c.ContactLinksAllow) > 0 && !c.ContactLinks:
		return c, fmt.Errorf("contact links allow %v: links are not read (contact links off)", c.ContactLinksAllow)
	}
	return c, nil
}

// retentionOf is how long the content of a conversation of kind is kept
// (0: for ever).
func (c *Config) retentionOf(kind storage.ConvKind) time.Duration {
	var d time.Duration
	switch kind {
	case storage.KindDirect:
		d = c.RetentionDirect
	case storage.KindGroup:
		d = c.RetentionGroup
	case storage.KindService:
		d = c.RetentionService
	}
	if d == 0 {
		d = c.Retention
	}
	return d
}

// retains reports whether any kind of conversation has a retention.
func (c *Config) retains() bool {
	return c.Retention > 0 || c.RetentionDirect > 0 || c.RetentionGroup > 0 || c.RetentionService > 0
}
