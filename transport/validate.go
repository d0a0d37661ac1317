package transport

import (
	"math"
	"strings"
	"time"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/internal/linkpreview"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// RequestLimits bound the fields of one request. They are checked as the
// request is decoded, before it reaches a grain: a request past one is
// answered INVALID, naming the limit. The grains check what depends on
// their state (a group's size, a body against MaxBodyBytes).
type RequestLimits struct {
	// MaxClientMsgID bounds client_msg_id and after_client_msg_id, in bytes
	// (default 128).
	MaxClientMsgID int
	// MaxAckSeqs bounds the inbox seqs one ack names (default 16,384).
	MaxAckSeqs int
	// MaxListUsers bounds the users one create-group or membership request
	// names (default 1,000).
	MaxListUsers int
	// MaxTitle bounds a group's title, in bytes (default 256).
	MaxTitle int
}

// DefaultRequestLimits are the limits a zero RequestLimits field takes.
func DefaultRequestLimits() RequestLimits {
	return RequestLimits{MaxClientMsgID: 128, MaxAckSeqs: 16384, MaxListUsers: 1000, MaxTitle: 256}
}

func (l RequestLimits) withDefaults() RequestLimits {
	d := DefaultRequestLimits()
	for _, f := range []struct{ v, def *int }{{&l.MaxClientMsgID, &d.MaxClientMsgID}, {&l.MaxAckSeqs, &d.MaxAckSeqs},
		{&l.MaxListUsers, &d.MaxListUsers}, {&l.MaxTitle, &d.MaxTitle}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// decodeRequest decodes one request frame payload and validates it
// against lim: the server's whole parsing of untrusted request bytes, and
// the fuzz target's subject. The error is a *wirepb.Error (BAD_FRAME,
// UNKNOWN_TYPE, INVALID).
func decodeRequest(b []byte, lim RequestLimits) (*wirepb.Request, error) {
	var req wirepb.Request
	if err := wirepb.Unmarshal(b, &req); err != nil {
		return nil, wirepb.Errorf(wirepb.Code_BAD_FRAME, "%v", err)
	}
	return &req, validateRequest(&req, lim)
}

// Bounds of a group invite's fields: a code is the group's id (at most
// 128 bytes) in base64 and a 22-byte secret; an id is 16 hex digits.
const (
	MaxInviteCodeBytes = 256
	MaxInviteIDBytes   = 32
)

func invalid(format string, args ...any) error {
	return wirepb.Errorf(wirepb.Code_INVALID, format, args...)
}

func checkConv(id string) error {
	if !session.ValidConvID(id) {
		return invalid("bad conversation id %q", id)
	}
	return nil
}

func checkUsers(users []string, min, limit int) error {
	if len(users) < min {
		return invalid("no users named")
	}
	if len(users) > limit {
		return invalid("%d users, limit %d", len(users), limit)
	}
	for _, u := range users {
		if !session.ValidUserID(u) {
			return invalid("bad user id %q", u)
		}
	}
	return nil
}

// validateRequest checks the shape of a request; the grains check the rest
// (membership, roles, sizes against their configuration).
func validateRequest(r *wirepb.Request, lim RequestLimits) error {
	switch op := r.Op.(type) {
	case *wirepb.Request_Send:
		s := op.Send
		switch {
		case (s.Conv == "") == (s.To == ""):
			return invalid("a send names exactly one of conv and to")
		case s.To != "" && !session.ValidUserID(s.To):
			return invalid("bad user id %q", s.To)
		case len(s.Body) == 0 && !wirepb.EmptyBodyAllowed(s.Kind, s.RefSeq, s.MediaId != "" || s.ForwardConv != "" || s.Location != nil):
			return invalid("empty message body")
		case s.ClientMsgId == "":
			// The idempotency key makes a resend after a lost answer safe:
			// without it a retry stores the message twice.
			return invalid("client_msg_id is required")
		case len(s.ClientMsgId) > lim.MaxClientMsgID:
			return invalid("client_msg_id is %d bytes, limit %d", len(s.ClientMsgId), lim.MaxClientMsgID)
		case len(s.AfterClientMsgId) > lim.MaxClientMsgID:
			return invalid("after_client_msg_id is %d bytes, limit %d", len(s.AfterClientMsgId), lim.MaxClientMsgID)
		}
		// The conversation checks them against its members and its bound.
		if err := checkUsers(s.Mentions, 0, lim.MaxListUsers); err != nil {
			return err
		}
		if s.MentionAll && len(s.Mentions) > 0 {
			return invalid("a message that mentions everyone names nobody else")
		}
		if s.ForwardConv != "" {
			if err := checkConv(s.ForwardConv); err != nil {
				return err
			}
		}
		if s.Conv != "" {
			return checkConv(s.Conv)
		}
	case *wirepb.Request_Sync:
	case *wirepb.Request_Ack:
		if len(op.Ack.InboxSeqs) > lim.MaxAckSeqs {
			return invalid("%d inbox seqs in one ack, limit %d", len(op.Ack.InboxSeqs), lim.MaxAckSeqs)
		}
	case *wirepb.Request_History:
		h := op.History
		if h.ToSeq != 0 && h.ToSeq < h.FromSeq {
			return invalid("to_seq %d below from_seq %d", h.ToSeq, h.FromSeq)
		}
		return checkConv(h.Conv)
	case *wirepb.Request_MarkRead:
		return checkConv(op.MarkRead.Conv)
	case *wirepb.Request_Recall:
		if op.Recall.Seq == 0 {
			return invalid("no seq")
		}
		return checkConv(op.Recall.Conv)
	case *wirepb.Request_ListConversations:
		if a := op.ListConversations.AfterConv; a != "" {
			return checkConv(a)
		}
	case *wirepb.Request_CreateGroup:
		g := op.CreateGroup
		if len(g.Title) > lim.MaxTitle {
			return invalid("title is %d bytes, limit %d", len(g.Title), lim.MaxTitle)
		}
		if g.Conv != "" {
			if err := checkConv(g.Conv); err != nil {
				return err
			}
		}
		if n := len(g.Members) + len(g.Roles); n > lim.MaxListUsers {
			return invalid("%d users, limit %d", n, lim.MaxListUsers)
		}
		for _, m := range g.Roles {
			if !session.ValidUserID(m.GetUser()) {
				return invalid("bad user id %q", m.GetUser())
			}
		}
		return checkUsers(g.Members, 0, lim.MaxListUsers)
	case *wirepb.Request_Membership:
		m := op.Membership
		if _, ok := wirepb.MembershipRequest_Op_name[int32(m.Op)]; !ok {
			return invalid("unknown membership op %d", m.Op)
		}
		if _, ok := wirepb.Role_name[int32(m.Role)]; !ok {
			return invalid("unknown role %d", m.Role)
		}
		if m.ForMs < 0 || m.ForMs > 0 && m.Op != wirepb.MembershipRequest_MUTE {
			return invalid("for_ms: a mute's duration, positive, and only with MUTE")
		}
		need := 1
		if m.Op == wirepb.MembershipRequest_LEAVE || m.Op == wirepb.MembershipRequest_DISBAND {
			need = 0
		}
		if err := checkUsers(m.Users, need, lim.MaxListUsers); err != nil {
			return err
		}
		return checkConv(m.Conv)
	case *wirepb.Request_Members:
		if a := op.Members.After; a != "" && !session.ValidUserID(a) {
			return invalid("bad user id %q", a)
		}
		return checkConv(op.Members.Conv)
	case *wirepb.Request_ClearHistory:
		return checkConv(op.ClearHistory.Conv)
	case *wirepb.Request_Hide:
		return checkConv(op.Hide.Conv)
	case *wirepb.Request_Schedule:
		if op.Schedule.Send == nil {
			return invalid("schedule names no send")
		}
		if op.Schedule.AtMs <= 0 {
			return invalid("at_ms %d", op.Schedule.AtMs)
		}
		return validateRequest(&wirepb.Request{Op: &wirepb.Request_Send{Send: op.Schedule.Send}}, lim)
	case *wirepb.Request_Unschedule:
		if op.Unschedule.Id == "" || len(op.Unschedule.Id) > 64 {
			return invalid("a scheduled message's id of %d bytes", len(op.Unschedule.Id))
		}
	case *wirepb.Request_Star:
		if op.Star.Seq == 0 {
			return invalid("no seq")
		}
		if op.Star.RemindAtMs < 0 || op.Star.RemindAtMs > 0 && !op.Star.Starred {
			return invalid("remind_at_ms: a time in Unix ms, with starred")
		}
		return checkConv(op.Star.Conv)
	case *wirepb.Request_Starred:
		if op.Starred.BeforeMs < 0 {
			return invalid("before_ms %d", op.Starred.BeforeMs)
		}
	case *wirepb.Request_PollResults:
		if l := op.PollResults.VotersLimit; l > session.MaxPollVotersListed {
			return invalid("voters_limit %d: at most %d", l, session.MaxPollVotersListed)
		}
		return checkConv(op.PollResults.Conv)
	case *wirepb.Request_ReadBy:
		if a := op.ReadBy.After; a != "" && !session.ValidUserID(a) {
			return invalid("bad user id %q", a)
		}
		return checkConv(op.ReadBy.Conv)
	case *wirepb.Request_MediaCreate:
		if err := storage.CheckMediaName(op.MediaCreate.Name); err != nil {
			return invalid("%v", err)
		}
		if err := storage.CheckMediaType(op.MediaCreate.Mime); err != nil {
			return invalid("%v", err)
		}
		if op.MediaCreate.Size <= 0 {
			return invalid("file size %d", op.MediaCreate.Size)
		}
		mc := op.MediaCreate
		if err := (storage.Preview{Width: mc.Width, Height: mc.Height, Thumb: mc.Thumb, DurationMs: mc.DurationMs}).Check(); err != nil {
			return invalid("%v", err)
		}
		return checkConv(mc.Conv)
	case *wirepb.Request_MediaChunk:
		return checkMediaID(op.MediaChunk.Conv, op.MediaChunk.Id)
	case *wirepb.Request_MediaComplete:
		return checkMediaID(op.MediaComplete.Conv, op.MediaComplete.Id)
	case *wirepb.Request_MediaRead:
		if op.MediaRead.Picture && op.MediaRead.Seq != 0 {
			return invalid("media_read names a message (seq) or the group's picture, not both")
		}
		return checkConv(op.MediaRead.Conv)
	case *wirepb.Request_Presence:
		if !session.ValidUserID(op.Presence.User) {
			return invalid("bad user id %q", op.Presence.User)
		}
	case *wirepb.Request_Presences:
		if err := checkUsers(op.Presences.Users, 0, lim.MaxListUsers); err != nil {
			return err
		}
		if op.Presences.Conv != "" {
			return checkConv(op.Presences.Conv)
		}
	case *wirepb.Request_Search:
		// The node checks the query (actors.Search: its own limits).
		if op.Search.Conv == "" { // every conversation of the caller's
			if op.Search.FromConv == "" {
				return nil
			}
			return checkConv(op.Search.FromConv)
		}
		return checkConv(op.Search.Conv)
	case *wirepb.Request_Pin:
		return checkConv(op.Pin.Conv)
	case *wirepb.Request_Mute:
		// The handler makes a Duration of it: past that range it would wrap
		// into a short mute; the actors' own bound is far below.
		if op.Mute.ForMs > int64(math.MaxInt64/time.Millisecond) {
			return invalid("for_ms %d: beyond any mute's length", op.Mute.ForMs)
		}
		return checkConv(op.Mute.Conv)
	case *wirepb.Request_Archive:
		return checkConv(op.Archive.Conv)
	case *wirepb.Request_MarkUnread:
		return checkConv(op.MarkUnread.Conv)
	case *wirepb.Request_Label:
		return checkConv(op.Label.Conv)
	case *wirepb.Request_GroupSettings:
		return checkConv(op.GroupSettings.Conv)
	case *wirepb.Request_GroupInvite:
		if op.GroupInvite.TtlMs < 0 {
			return invalid("negative invite ttl")
		}
		if n := len(op.GroupInvite.Revoke); n > MaxInviteIDBytes {
			return invalid("invite id of %d bytes, limit %d", n, MaxInviteIDBytes)
		}
		return checkConv(op.GroupInvite.Conv)
	case *wirepb.Request_JoinGroup:
		if n := len(op.JoinGroup.Code); n == 0 || n > MaxInviteCodeBytes {
			return invalid("invite code of %d bytes: 1 to %d", n, MaxInviteCodeBytes)
		}
	case *wirepb.Request_Draft:
		return checkConv(op.Draft.Conv) // the text's rules are the actors' (SetDraft)
	case *wirepb.Request_Drafts:
	case *wirepb.Request_Away:
		// The text's and the end's rules are the actors' (SetAway).
		if op.Away.UntilMs < 0 {
			return invalid("until_ms %d: want a time, or 0 for none", op.Away.UntilMs)
		}
		return nil
	case *wirepb.Request_Profile:
		// The name's and the avatar's rules are the actors' (SetProfile).
	case *wirepb.Request_SeqAt:
		if op.SeqAt.AtMs < 0 {
			return invalid("at_ms %d: a time in Unix ms", op.SeqAt.AtMs)
		}
		return checkConv(op.SeqAt.Conv)
	case *wirepb.Request_Disappearing:
		// The timer's bounds are the actors' (Runtime.Disappearing).
		if a := op.Disappearing.AfterMs; a != nil && *a < 0 {
			return invalid("after_ms %d: want a duration in ms, or 0 for off", *a)
		}
		return checkConv(op.Disappearing.Conv)
	case *wirepb.Request_Freeze:
		// The reason's and the end's bounds are the actors' (Runtime.Freeze).
		if op.Freeze.UntilMs < 0 {
			return invalid("until_ms %d: a time in Unix ms, or 0", op.Freeze.UntilMs)
		}
		return checkConv(op.Freeze.Conv)
	case *wirepb.Request_Call:
		// The id's, the payload's and the reason's bounds are the actors'
		// (Runtime.CallStep).
		if _, ok := wirepb.CallRequest_Op_name[int32(op.Call.Op)]; !ok {
			return invalid("call op %d: no such step", op.Call.Op)
		}
		return checkConv(op.Call.Conv)
	case *wirepb.Request_LinkPreview:
		if _, err := linkpreview.CheckURL(op.LinkPreview.Url); err != nil {
			return invalid("%v", err)
		}
	case *wirepb.Request_QuietHours:
		// The hours' rules are the actors' (SetQuietHours, with openhours).
		if op.QuietHours.Set != nil && op.QuietHours.Off {
			return invalid("quiet hours are set or taken away, not both")
		}
	case *wirepb.Request_Profiles:
		if err := checkUsers(op.Profiles.Users, 0, lim.MaxListUsers); err != nil {
			return err
		}
		if op.Profiles.Conv != "" {
			return checkConv(op.Profiles.Conv)
		}
	case *wirepb.Request_Privacy:
		if p := op.Privacy.Presence; p != nil && wirepb.PresenceSharing_name[int32(*p)] == "" {
			return invalid("presence sharing %d", *p)
		}
		if d := op.Privacy.DirectFrom; d != nil && wirepb.DirectFrom_name[int32(*d)] == "" {
			return invalid("direct_from %d", *d)
		}
		if g := op.Privacy.GroupAddFrom; g != nil && wirepb.GroupAddFrom_name[int32(*g)] == "" {
			return invalid("group_add_from %d", *g)
		}
	case *wirepb.Request_Block:
		if !session.ValidUserID(op.Block.User) {
			return invalid("bad user id %q", op.Block.User)
		}
	case *wirepb.Request_Report:
		return checkConv(op.Report.Conv)
	case *wirepb.Request_Blocked:
		if op.Blocked.AfterConv != "" {
			return checkConv(op.Blocked.AfterConv)
		}
	case *wirepb.Request_Ping, *wirepb.Request_MarkAllRead, *wirepb.Request_Scheduled:
	case *wirepb.Request_RegisterPush:
		return validateRegisterPush(op.RegisterPush)
	case *wirepb.Request_UnregisterPush:
	case *wirepb.Request_CardClick:
		return validateCardClick(op.CardClick)
	case *wirepb.Request_DeskHandover:
		return checkConv(op.DeskHandover.Conv)
	case *wirepb.Request_DeskEnter, *wirepb.Request_DeskReach, *wirepb.Request_DeskStatus, *wirepb.Request_DeskQueue, *wirepb.Request_DeskTransfer, *wirepb.Request_DeskClose, *wirepb.Request_DeskRate,
		*wirepb.Request_DeskReplies, *wirepb.Request_DeskNote, *wirepb.Request_DeskSession, *wirepb.Request_DeskTag:
		return validateDesk(r)
	case *wirepb.Request_MyMetrics:
		return validateMyMetrics(op.MyMetrics)
	case *wirepb.Request_Signal:
		if k := op.Signal.GetKind(); k != wirepb.Signal_TYPING && k != wirepb.Signal_STOP_TYPING {
			return wirepb.Errorf(wirepb.Code_INVALID, "signal kind %d not accepted from clients", k)
		}
		return checkConv(op.Signal.GetConv())
	default:
		return wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "request %d names no known operation", r.Id)
	}
	return nil
}

// requestOp is the Request's oneof; its field names are the operations'
// names in metrics and logs, so a new operation needs no entry here.
var requestOp = (&wirepb.Request{}).ProtoReflect().Descriptor().Oneofs().ByName("op")

// opName names a request's operation for metrics and logs.
func opName(r *wirepb.Request) string {
	if f := r.ProtoReflect().WhichOneof(requestOp); f != nil {
		return string(f.Name())
	}
	return "unknown"
}

// decodeSignal decodes one client datagram; only typing signals with a
// valid conversation are accepted from clients.
func decodeSignal(b []byte) (*wirepb.Signal, error) {
	var s wirepb.Signal
	if err := wirepb.Unmarshal(b, &s); err != nil {
		return nil, wirepb.Errorf(wirepb.Code_BAD_FRAME, "%v", err)
	}
	if s.Kind != wirepb.Signal_TYPING && s.Kind != wirepb.Signal_STOP_TYPING {
		return nil, wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "signal kind %d not accepted from clients", s.Kind)
	}
	if err := checkConv(s.Conv); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeHello decodes the control stream's first frame.
func decodeHello(b []byte) (*wirepb.Hello, error) {
	var h wirepb.Hello
	if err := wirepb.Unmarshal(b, &h); err != nil {
		return nil, wirepb.Errorf(wirepb.Code_BAD_FRAME, "%v", err)
	}
	if h.Token == "" {
		return nil, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "no token in hello")
	}
	return &h, nil
}

// validateRegisterPush checks a push registration before the store does
// (storage.CheckPushRegistration).
func validateRegisterPush(r *wirepb.RegisterPushRequest) error {
	if err := storage.CheckPushRegistration(r.Platform, r.Token, r.VoipToken); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// checkMediaID checks an upload's conversation and id (32 hex digits, as
// the node makes them).
func checkMediaID(conv, id string) error {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return invalid("bad media id %q", id)
	}
	return checkConv(conv)
}
