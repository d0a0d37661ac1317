package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport"
)

// tuning holds serve's limits and service-metrics definitions: every limit
// and every metrics default is a flag (and so an environment variable).
type tuning struct {
	actors  actors.Config
	metrics analytics.Config
	windows []string
	zone    string
	desk    desk.Config
	cards   cardFlags
	push    pushFlags
	// directFrom is --direct-from, actors.Config.DirectFrom by name.
	directFrom string
	// groupAddFrom is --group-add-from, actors.Config.GroupAddFrom by name.
	groupAddFrom string
	// remoteDialWait is NodeConfig.RemoteDialWait.
	remoteDialWait time.Duration
	// remoteWriteTimeout is NodeConfig.RemoteWriteTimeout.
	remoteWriteTimeout time.Duration
}

func (t *tuning) register(f *pflag.FlagSet) {
	a, m := actors.DefaultConfig(), analytics.DefaultConfig()
	f.IntVar(&t.actors.MaxBodyBytes, "max-body-bytes", storage.DefaultLimits().MaxBodyBytes, "largest message body: the grains' and the store's limit")
	f.IntVar(&t.actors.MaxGroupMembers, "max-group-members", a.MaxGroupMembers, "largest group")
	f.IntVar(&t.actors.SystemMessageUsers, "system-message-users", a.SystemMessageUsers, "most users a membership change's system message names (it counts them all)")
	f.IntVar(&t.actors.PreJoinHistory, "prejoin-history", a.PreJoinHistory, "in groups without their own setting, how many messages before its join a member added later sees")
	f.IntVar(&t.actors.MaxPreJoinHistory, "max-prejoin-history", a.MaxPreJoinHistory, "most messages before its join a group's setting may show a new member")
	f.IntVar(&t.actors.MaxPinnedMessages, "max-pinned-messages", a.MaxPinnedMessages, "most messages a group holds pinned at once")
	f.IntVar(&t.actors.MaxStarredMessages, "max-starred", a.MaxStarredMessages, "most messages one user keeps starred")
	f.IntVar(&t.actors.MaxProfileNameBytes, "max-profile-name-bytes", a.MaxProfileNameBytes, "longest display name of a user's profile")
	f.IntVar(&t.actors.MaxAvatarURLBytes, "max-avatar-url-bytes", a.MaxAvatarURLBytes, "longest avatar URL of a user's profile")
	f.IntVar(&t.actors.MaxProfileUsers, "max-profile-users", a.MaxProfileUsers, "most users whose profiles one request reads")
	f.IntVar(&t.actors.MaxPresenceUsers, "max-presence-users", a.MaxPresenceUsers, "most users whose presence one request reads")
	f.IntVar(&t.actors.MaxQuietIntervals, "max-quiet-intervals", a.MaxQuietIntervals, "most quiet intervals in one day of a user's quiet hours")
	f.IntVar(&t.actors.MaxCustomerAttributes, "max-customer-attributes", a.MaxCustomerAttributes, "most attributes the business keeps about one customer for the desk's agents")
	f.IntVar(&t.actors.MaxAttributeBytes, "max-attribute-bytes", a.MaxAttributeBytes, "longest value of a customer attribute")
	f.IntVar(&t.actors.MaxDrafts, "max-drafts", a.MaxDrafts, "most drafts (unsent text kept for the user's other devices) one user keeps")
	f.IntVar(&t.actors.MaxDraftBytes, "max-draft-bytes", a.MaxDraftBytes, "longest draft")
	f.IntVar(&t.actors.MaxScheduledMessages, "max-scheduled", a.MaxScheduledMessages, "most messages one user has scheduled and not yet sent")
	f.DurationVar(&t.actors.MaxScheduleAhead, "max-schedule-ahead", a.MaxScheduleAhead, "furthest ahead a message may be scheduled")
	f.DurationVar(&t.actors.ScheduleInterval, "schedule-interval", a.ScheduleInterval, "how often a node looks for scheduled messages that are due (how late one may go out)")
	f.IntVar(&t.actors.MaxDescriptionBytes, "max-description-bytes", a.MaxDescriptionBytes, "longest group description")
	f.DurationVar(&t.actors.MaxSlowMode, "max-slow-mode", a.MaxSlowMode, "longest slow mode a group may set (the interval between a plain member's messages)")
	f.DurationVar(&t.actors.InviteTTL, "invite-ttl", a.InviteTTL, "how long a group invite's code is valid when its creator names no duration")
	f.DurationVar(&t.actors.MaxInviteTTL, "max-invite-ttl", a.MaxInviteTTL, "longest a group invite's code may be valid")
	f.IntVar(&t.actors.MaxGroupInvites, "max-group-invites", a.MaxGroupInvites, "most live invites a group holds at once")
	f.IntVar(&t.actors.MaxJoinNoteBytes, "max-join-note-bytes", a.MaxJoinNoteBytes, "longest note a request to join carries to the group's managers, in bytes")
	f.IntVar(&t.actors.MaxJoinRequests, "max-join-requests", a.MaxJoinRequests, "most requests to join (with an invite that needs approval) a group holds waiting")
	f.IntVar(&t.actors.MaxAwayBytes, "max-away-bytes", a.MaxAwayBytes, "longest away message (an automatic reply while away), in bytes")
	f.DurationVar(&t.actors.MaxSnoozeFor, "max-snooze-for", a.MaxSnoozeFor, "furthest ahead a snooze (an archive for a while) may end")
	f.IntVar(&t.actors.MaxConvLabels, "max-conv-labels", a.MaxConvLabels, "most labels a user puts on one conversation of theirs")
	f.IntVar(&t.actors.MaxLabelBytes, "max-label-bytes", a.MaxLabelBytes, "longest label of a conversation, in bytes")
	f.IntVar(&t.actors.MaxHiddenMessages, "max-hidden-messages", a.MaxHiddenMessages, "most messages a member may delete for themself in one conversation (then clear it)")
	f.DurationVar(&t.actors.MaxAwayFor, "max-away-for", a.MaxAwayFor, "latest end an away message may be given, from when it is set")
	f.DurationVar(&t.actors.MaxMuteFor, "max-mute-for", a.MaxMuteFor, "longest a user may mute a conversation for (mute --for); a mute without a duration lasts until unmuted")
	f.StringVar(&t.directFrom, "direct-from", "everyone", "who may start a direct conversation with a user who never chose (privacy direct_from): everyone, groups (users who share a group with them) or nobody")
	f.StringVar(&t.groupAddFrom, "group-add-from", "everyone", "who may add a user who never chose to a group (privacy group_add_from): everyone, groups (users who share a group with them) or nobody (they join by invite code)")
	f.IntVar(&t.actors.DirectFromScan, "direct-from-scan", a.DirectFromScan, "most memberships read of each user when looking for a group they share (direct_from and group_add_from groups)")
	f.DurationVar(&t.actors.MinDisappearAfter, "min-disappear-after", a.MinDisappearAfter, "shortest timer a conversation's disappearing messages may have (disappearing)")
	f.DurationVar(&t.actors.MaxDisappearAfter, "max-disappear-after", a.MaxDisappearAfter, "longest timer a conversation's disappearing messages may have (disappearing)")
	f.IntVar(&t.actors.MaxForwardHops, "max-forward-hops", a.MaxForwardHops, "a copy this many forwards from its original is forwarded no further, a chain letter stopped (0: no bound)")
	f.DurationVar(&t.actors.MaxMemberMuteFor, "max-member-mute-for", a.MaxMemberMuteFor, "longest a group's owners and admins may mute a member for (membership MUTE with for_ms); a mute without a duration lasts until unmuted")
	f.DurationVar(&t.actors.JoinRequestTTL, "join-request-ttl", a.JoinRequestTTL, "how long a request to join waits for a group's owners and admins before it is dropped")
	f.BoolVar(&t.actors.PresenceOneSided, "presence-one-sided", a.PresenceOneSided, "users see others' presence whatever they share themselves (by default a user who hides their last seen sees nobody's)")
	f.StringVar((*string)(&t.actors.ContactDetails), "contact-details", string(a.ContactDetails), "phone numbers and e-mail addresses in users' texts: off, mask (shown as ***), flag (delivered, flagged) or block (REJECTED_POLICY); a desk's agents are exempt")
	f.StringSliceVar(&t.actors.ContactDetailsIn, "contact-details-in", a.ContactDetailsIn, "conversation kinds --contact-details applies in: direct, group, service")
	f.IntVar(&t.actors.ContactMinDigits, "contact-min-digits", a.ContactMinDigits, "digits a phone number has at least, for --contact-details (6 to 20)")
	f.StringSliceVar(&t.actors.ContactNumberWords, "contact-number-words", a.ContactNumberWords, "words that count as digits of a phone number spelled out, for --contact-details, as word=digit (e.g. null=0,eins=1,…); empty: English zero, oh, one … nine; none: off")
	f.BoolVar(&t.actors.ContactLinks, "contact-links", a.ContactLinks, "web links in users' texts count as contact details too (https://…, www.…, wa.me/…), for --contact-details")
	f.StringSliceVar(&t.actors.ContactLinksAllow, "contact-links-allow", a.ContactLinksAllow, "domains whose links stay with --contact-links (your own, e.g. shop.example; a domain allows its subdomains)")
	f.IntVar(&t.actors.MaxMentions, "max-mentions", a.MaxMentions, "most members one message mentions")
	f.BoolVar(&t.actors.LinkPreviewsOff, "no-link-previews", a.LinkPreviewsOff, "read no web page for a link preview (link_preview requests are refused INVALID)")
	f.DurationVar(&t.actors.LinkPreview.Timeout, "link-preview-timeout", 5*time.Second, "longest a link preview's page read may take, redirects included")
	f.Int64Var(&t.actors.LinkPreview.MaxBytes, "link-preview-max-bytes", 512<<10, "most bytes of a page read for its preview")
	f.BoolVar(&t.actors.LinkPreview.AllowPrivate, "link-preview-private", false, "let link previews read pages at private, loopback and link-local addresses (a closed intranet; by default refused, so users cannot probe the node's network)")
	f.BoolVar(&t.actors.ReplyMentionsOff, "no-reply-mentions", a.ReplyMentionsOff, "a reply in a group does not mention the author of the message it answers (by default it does: they are notified even where they muted the group)")
	f.IntVar(&t.actors.MaxSearchScan, "max-search-scan", a.MaxSearchScan, "most messages one search request reads (a longer search goes on page by page)")
	f.IntVar(&t.actors.MaxSearchConversations, "max-search-conversations", a.MaxSearchConversations, "most conversations one search of all of a user's conversations reads (it goes on page by page)")
	f.IntVar(&t.actors.MaxReactionBytes, "max-reaction-bytes", a.MaxReactionBytes, "longest reaction (an emoji), bytes")
	f.IntVar(&t.actors.MaxPollOptions, "max-poll-options", a.MaxPollOptions, "most options a poll offers (2 to 100)")
	f.IntVar(&t.actors.MaxPollOptionBytes, "max-poll-option-bytes", a.MaxPollOptionBytes, "longest text of a poll's option, bytes")
	f.IntVar(&t.actors.MaxQuizExplanationBytes, "max-quiz-explanation-bytes", a.MaxQuizExplanationBytes, "longest explanation a quiz's author gives of its answer, bytes")
	f.DurationVar(&t.actors.MaxLiveLocationFor, "max-live-location-for", a.MaxLiveLocationFor, "longest a live location is shared (the courier on the way)")
	f.IntVar(&t.actors.MaxMetaBytes, "max-meta-bytes", a.MaxMetaBytes, "most bytes of an app's meta (keys and values together) on a message, a conversation or a user's profile")
	f.DurationVar(&t.actors.MaxFreezeFor, "max-freeze-for", a.MaxFreezeFor, "furthest ahead a freeze may end by itself (a cool-down: freeze --for 1h)")
	f.DurationVar(&t.actors.CallRingTimeout, "call-ring-timeout", a.CallRingTimeout, "how long a call rings before it is missed")
	f.DurationVar(&t.actors.CallAliveTimeout, "call-alive-timeout", a.CallAliveTimeout, "an answered call ends, dropped, when a side's device has not said it is alive for this long (the SDKs say so every 15 s)")
	f.IntVar(&t.actors.MaxCallSignalBytes, "max-call-signal-bytes", a.MaxCallSignalBytes, "largest call signal the node relays between two devices (an SDP offer or answer, ICE candidates), bytes")
	f.IntVar(&t.actors.MaxFreezeReasonBytes, "max-freeze-reason-bytes", a.MaxFreezeReasonBytes, "longest reason a frozen conversation's members are shown (\"this listing has sold\"), bytes")
	f.IntVar(&t.actors.MaxLocationNameBytes, "max-location-name-bytes", a.MaxLocationNameBytes, "longest name of a location a message shares (\"Café am Markt\"), bytes")
	f.DurationVar(&t.actors.MaxPollDuration, "max-poll-duration", a.MaxPollDuration, "furthest ahead a poll may set the time it closes by itself (closes_at_ms)")
	f.Int64Var(&t.actors.MaxMediaBytes, "max-media-bytes", a.MaxMediaBytes, "largest uploaded file (an attachment), bytes")
	f.IntVar(&t.actors.MaxMediaThumbBytes, "max-media-thumb-bytes", a.MaxMediaThumbBytes, "largest preview image of an upload, carried inline by its message, bytes (at most 16384)")
	f.Int64Var(&t.actors.MediaBytesPerHour, "media-bytes-per-hour", a.MediaBytesPerHour, "bytes of files one user may upload in an hour (negative: no bound)")
	f.DurationVar(&t.actors.MediaUploadTTL, "media-upload-ttl", a.MediaUploadTTL, "how long an upload may wait to be sent before it is deleted (negative: kept for ever)")
	f.DurationVar(&t.actors.Retention, "retention", a.Retention, "how long messages' content is kept, e.g. 2160h for 90 days (0: for ever; else at least 1h and the edit and recall windows); older texts, cards and files are read as expired and swept out of the store")
	f.DurationVar(&t.actors.RetentionDirect, "retention-direct", a.RetentionDirect, "--retention for direct conversations (0: --retention)")
	f.DurationVar(&t.actors.RetentionGroup, "retention-group", a.RetentionGroup, "--retention for groups (0: --retention)")
	f.DurationVar(&t.actors.RetentionService, "retention-service", a.RetentionService, "--retention for service-desk conversations (0: --retention)")
	f.DurationVar(&t.actors.RetentionSweepInterval, "retention-sweep-interval", a.RetentionSweepInterval, "how often a node sweeps expired content out of the store (with --retention)")
	f.IntVar(&t.actors.MaxMentionSeqs, "max-mention-seqs", a.MaxMentionSeqs, "unread mentions a large group counts per member (the newest; past it the count stops)")
	f.IntVar(&t.actors.FanoutThreshold, "fanout-threshold", a.FanoutThreshold, "conversations with more members use read fan-out (no per-member inbox entry per message)")
	f.Float64Var(&t.actors.SendRate, "send-rate", a.SendRate, "messages/s each sender may send into one conversation")
	f.IntVar(&t.actors.SendBurst, "send-burst", a.SendBurst, "burst above --send-rate")
	f.DurationVar(&t.actors.RecallWindow, "recall-window", a.RecallWindow, "how long a sender may recall its message")
	f.DurationVar(&t.actors.EditWindow, "edit-window", a.EditWindow, "how long a sender may edit the text of its message")
	f.IntVar(&t.actors.MaxModerationReasonBytes, "max-moderation-reason-bytes", a.MaxModerationReasonBytes, "longest reason of a suspension or of a user's report of a message")
	f.IntVar(&t.actors.MaxOpenReports, "max-open-reports", a.MaxOpenReports, "users' reports waiting for a moderator past which new ones are refused TOO_MANY")
	f.IntVar(&t.actors.NewDirectPerHour, "new-direct-per-hour", a.NewDirectPerHour, "new direct conversations a user may open in an hour (a first message to someone new); past it RATE_LIMITED with the wait; negative: no bound")
	f.IntVar(&t.actors.AutoSuspendReports, "auto-suspend-reports", a.AutoSuspendReports, "suspend a user until a moderator lifts it once this many different users have open reports of their messages (0: never by itself)")
	f.IntVar(&t.actors.MaxOpenReportsPerReporter, "max-open-reports-per-user", a.MaxOpenReportsPerReporter, "one user's reports waiting for a moderator past which that user's new ones are refused TOO_MANY")
	f.DurationVar(&t.actors.IdleTimeout, "idle-timeout", a.IdleTimeout, "passivate grains idle this long")
	f.IntVar(&t.actors.DedupeWindow, "dedupe-window", a.DedupeWindow, "recent messages per conversation whose client ids are remembered")
	f.IntVar(&t.actors.MaxOnlineDevices, "max-online-devices", a.MaxOnlineDevices, "devices one user may have online at once (also: connections per user per node)")
	f.IntVar(&t.actors.MaxDevices, "max-devices", a.MaxDevices, "devices one user may have (a device unseen for --device-expiry no longer counts)")
	f.DurationVar(&t.actors.DeviceExpiry, "device-expiry", a.DeviceExpiry, "a device unseen this long no longer counts against --max-devices")
	f.IntVar(&t.actors.MaxPendingSends, "max-pending-sends", a.MaxPendingSends, "sends awaiting their ack on this node past which new sends are refused BUSY")
	f.IntVar(&t.actors.MaxPendingDeliveries, "max-pending-deliveries", a.MaxPendingDeliveries, "fan-out jobs awaiting delivery on this node past which new sends are refused BUSY")
	f.DurationVar(&t.actors.SendLatencyTarget, "send-latency-target", a.SendLatencyTarget, "while most sends take longer than this, the bound on pending sends drops (sends past it are refused BUSY); keep it above an idle node's send latency")
	f.DurationVar(&t.actors.SchedLatencyTarget, "sched-latency-target", a.SchedLatencyTarget, "while this process's goroutines wait longer than this to run (90th percentile: its CPU is saturated), the bound on pending sends drops too (negative, e.g. -1s: off)")
	f.DurationVar(&t.actors.SendLatencyInterval, "send-latency-interval", a.SendLatencyInterval, "how often the adaptive bound on pending sends is moved")
	f.IntVar(&t.actors.MinPendingSends, "min-pending-sends", a.MinPendingSends, "the adaptive bound on pending sends never drops below this")
	f.DurationVar(&t.actors.BusyRetryAfter, "busy-retry-after", a.BusyRetryAfter, "retry-after hint of a BUSY answer (jittered ±50%) while few sends are refused")
	f.DurationVar(&t.actors.MaxBusyRetryAfter, "max-busy-retry-after", a.MaxBusyRetryAfter, "the retry-after grows with the share of sends refused (k refused per accepted: about k × --busy-retry-after), up to this")
	f.IntVar(&t.actors.BroadcastChunk, "broadcast-chunk", a.BroadcastChunk, "large groups: connections a broadcast round writes to before it waits for their writes (fewer: acks and other work wait less behind a fan-out; more: a faster fan-out)")
	f.DurationVar(&t.actors.BroadcastChunkWait, "broadcast-chunk-wait", a.BroadcastChunkWait, "large groups: the longest a broadcast round waits for one chunk's writes before the next")
	f.IntVar(&t.actors.BroadcastMaxPending, "broadcast-max-pending", a.BroadcastMaxPending, "large groups: messages of one group that may wait for a broadcast round on this node; past it the oldest are dropped and the clients fetch the gap")
	f.DurationVar(&t.actors.CursorFlushDelay, "cursor-flush-delay", a.CursorFlushDelay, "how long a user grain holds a device's cursor ack with nothing else to write, so that it joins the next write instead of costing a store call of its own (negative: written at once; a crash loses at most this much cursor progress, which the device resyncs)")
	f.DurationVar(&t.actors.RequestTimeout, "grain-request-timeout", a.RequestTimeout, "how long one request to a grain may take before it is retried (raise it when the store answers slowly; a crashed node's grains are also given up on after it)")

	f.DurationVar(&t.metrics.ReplyThreshold, "metrics-reply-threshold", m.ReplyThreshold, "a reply within this is timely")
	f.DurationVar(&t.metrics.SessionGap, "metrics-session-gap", m.SessionGap, "messages at most this far apart belong to one session")
	f.DurationVar(&t.metrics.OutOfOrderness, "metrics-out-of-order", m.OutOfOrderness, "bounded out-of-orderness of event times (watermark lag)")
	f.DurationVar(&t.metrics.AllowedLateness, "metrics-lateness", m.AllowedLateness, "allowed lateness beyond the out-of-orderness")
	f.DurationVar(&t.metrics.FutureBound, "metrics-future-bound", m.FutureBound, "events further ahead of server time are rejected")
	var def []string
	for _, w := range m.Windows {
		def = append(def, windowFlag(w))
	}
	f.StringSliceVar(&t.windows, "metrics-windows", def, "window families: SIZE (tumbling) or SIZE/SLIDE (sliding), e.g. 1m,1h,30s/15s")
	f.StringVar(&t.zone, "metrics-zone", "UTC", "IANA time zone (e.g. Asia/Shanghai) whose wall clock aligns the tumbling windows that divide a day (24h = the local day)")
	registerDeskFlags(f, &t.desk)
	f.IntVar(&t.actors.MaxCardActions, "max-card-actions", a.MaxCardActions, "most action buttons on a business card")
	f.IntVar(&t.actors.MaxCardFields, "max-card-fields", a.MaxCardFields, "most fields on a business card")
	t.cards.register(f)
	t.push.register(f)
	f.DurationVar(&t.remoteDialWait, "remote-dial-wait", boot.DefaultRemoteDialWait, "how long a connection to another cluster member keeps dialing its address before giving up (a member restarted on it is reached without losing what was queued for it; negative: one attempt)")
	f.DurationVar(&t.remoteWriteTimeout, "remote-write-timeout", boot.DefaultRemoteWriteTimeout, "a connection to another cluster member whose writes stay unacknowledged this long (a network cut) is closed and dialed anew, so it gets through as soon as the network does; negative: the OS's timeout (minutes)")
}

func windowFlag(w analytics.WindowSpec) string {
	if w.IsTumbling() {
		return w.Size.String()
	}
	return w.Size.String() + "/" + w.Slide.String()
}

// checkBodyLimit refuses a body limit a frame of maxFrame bytes cannot
// carry: such a message would be refused as FRAME_TOO_LARGE, or its push
// dropped, instead of TOO_LARGE.
func (t *tuning) checkBodyLimit(maxFrame int) error {
	if b := t.actors.MaxBodyBytes; b <= 0 || b+transport.FrameEnvelope > maxFrame {
		return fmt.Errorf("--max-body-bytes %d: want 1 to %d (the %d-byte --max-frame less %d for the envelope)",
			b, maxFrame-transport.FrameEnvelope, maxFrame, transport.FrameEnvelope)
	}
	return nil
}

// storeLimits are the store's limits with serve's body limit: one flag
// feeds the store and the grains, which refuse to start if they differ.
func (t *tuning) storeLimits() storage.Limits {
	l := storage.DefaultLimits()
	l.MaxBodyBytes = t.actors.MaxBodyBytes
	return l
}

// directFromNames are --direct-from's words.
var directFromNames = map[string]pb.DirectFrom{
	"everyone": pb.DirectFrom_DIRECT_FROM_EVERYONE, "groups": pb.DirectFrom_DIRECT_FROM_GROUPS, "nobody": pb.DirectFrom_DIRECT_FROM_NOBODY,
}

// groupAddFromNames are --group-add-from's words.
var groupAddFromNames = map[string]pb.GroupAddFrom{
	"everyone": pb.GroupAddFrom_GROUP_ADD_FROM_EVERYONE, "groups": pb.GroupAddFrom_GROUP_ADD_FROM_GROUPS, "nobody": pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY,
}

// apply puts the flags into a node's configuration, validating them.
func (t *tuning) apply(cfg *boot.NodeConfig) error {
	if t.actors.RequestTimeout <= 0 {
		return fmt.Errorf("--grain-request-timeout %s: must be positive", t.actors.RequestTimeout)
	}
	df, ok := directFromNames[t.directFrom]
	if !ok {
		return fmt.Errorf("--direct-from %q: want everyone, groups or nobody", t.directFrom)
	}
	t.actors.DirectFrom = df
	ga, ok := groupAddFromNames[t.groupAddFrom]
	if !ok {
		return fmt.Errorf("--group-add-from %q: want everyone, groups or nobody", t.groupAddFrom)
	}
	t.actors.GroupAddFrom = ga
	pol := cfg.Actors
	cfg.Actors = t.actors
	cfg.Actors.PolicyMode, cfg.Actors.PolicyWords = pol.PolicyMode, pol.PolicyWords
	cfg.Actors.BlockedWords, cfg.Actors.MonitorWords, cfg.Actors.WordListReload = pol.BlockedWords, pol.MonitorWords, pol.WordListReload
	m := t.metrics
	m.Windows = nil
	for _, s := range t.windows {
		size, slide, sliding := strings.Cut(s, "/")
		d, err := time.ParseDuration(size)
		if err != nil {
			return fmt.Errorf("--metrics-windows %q: %w", s, err)
		}
		w := analytics.Tumbling(d)
		if sliding {
			sl, err := time.ParseDuration(slide)
			if err != nil {
				return fmt.Errorf("--metrics-windows %q: %w", s, err)
			}
			w = analytics.Sliding(d, sl)
		}
		m.Windows = append(m.Windows, w)
	}
	loc, err := metricsZone(t.zone)
	if err != nil {
		return err
	}
	m.Location = loc
	if err := m.Validate(); err != nil {
		return fmt.Errorf("metrics flags: %w", err)
	}
	cfg.Metrics.Engine = m
	cfg.Desk = t.desk
	cfg.RemoteDialWait = t.remoteDialWait
	cfg.RemoteWriteTimeout = t.remoteWriteTimeout
	cc, err := t.cards.config()
	if err != nil {
		return err
	}
	cfg.Cards = cc
	if cfg.Actors.Push, err = t.push.config(); err != nil {
		return err
	}
	if cfg.Actors.Reminders, err = t.push.reminderConfig(); err != nil {
		return err
	}
	return nil
}

// metricsZone loads --metrics-zone. "Local" is refused: the windows would
// move with the machine's setting, and a checkpoint taken under another
// would be discarded.
func metricsZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("--metrics-zone %q: name an IANA time zone such as Europe/Berlin, or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--metrics-zone %q: %w", name, err)
	}
	return loc, nil
}
