package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// MembersRequest is the body of POST /api/v1/conversations/{conv}/members:
// a membership change made by Actor, held to Actor's rights (a group's
// owner or admin adds and removes; a member leaves), as over the protocol.
type MembersRequest struct {
	Actor string   `json:"actor"`
	Op    string   `json:"op"` // add, remove, leave, set_role, mute, unmute, disband
	Users []string `json:"users,omitempty"`
	Role  string   `json:"role,omitempty"` // with add or set_role: member or admin
	// ForMs: with mute, the mute ends by itself this long after (0: until
	// unmuted).
	ForMs int64 `json:"for_ms,omitempty"`
}

var membershipOps = map[string]pb.MembershipChange_Op{"add": pb.MembershipChange_ADD, "remove": pb.MembershipChange_REMOVE,
	"leave": pb.MembershipChange_LEAVE, "set_role": pb.MembershipChange_SET_ROLE, "mute": pb.MembershipChange_MUTE,
	"unmute": pb.MembershipChange_UNMUTE, "disband": pb.MembershipChange_DISBAND,
	"approve": pb.MembershipChange_APPROVE, "decline": pb.MembershipChange_DECLINE}

// MembershipChanged answers it: the seq of the change's system message.
type MembershipChanged struct {
	Conv string `json:"conv"`
	Seq  uint64 `json:"seq"`
}

func (s *Server) changeMembers(w http.ResponseWriter, r *http.Request) {
	var req MembersRequest
	if !readDeskBodyUpTo(w, r, &req, maxPostBody) {
		return
	}
	op, ok := membershipOps[req.Op]
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "op: want add, remove, leave, set_role, mute, unmute, disband, approve or decline, got " + strconv.Quote(req.Op), "code": "INVALID"})
		return
	}
	role, ok := roleNames[req.Role]
	if !ok || role != pb.Role_MEMBER && role != pb.Role_ADMIN {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "role: want member or admin, got " + strconv.Quote(req.Role), "code": "INVALID"})
		return
	}
	if op == pb.MembershipChange_LEAVE && len(req.Users) == 0 {
		req.Users = []string{req.Actor}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	conv := r.PathValue("conv")
	seq, err := s.node.ChangeMembershipAsOperator(ctx, &pb.MembershipChange{Conv: conv, Actor: req.Actor, Op: op, Users: req.Users, Role: role, ForMs: req.ForMs})
	if err != nil {
		sendRefused(w, err)
		return
	}
	writeJSON(w, http.StatusOK, MembershipChanged{Conv: conv, Seq: seq})
}

// SettingsRequest is the body of POST /api/v1/conversations/{conv}/settings:
// a group's settings read (no setting named) or changed as actor, who must
// be an owner or admin of the group to change them.
type SettingsRequest struct {
	Actor          string  `json:"actor"`
	AdminsOnly     *bool   `json:"admins_only,omitempty"`     // only owners and admins post
	PrejoinHistory *uint32 `json:"prejoin_history,omitempty"` // seqs before its join a new member sees
	PinSeq         uint64  `json:"pin_seq,omitempty"`         // pin this message (alone in a request)
	UnpinSeq       uint64  `json:"unpin_seq,omitempty"`       // unpin this message (alone in a request)
	SlowModeMs     *uint32 `json:"slow_mode_ms,omitempty"`    // a plain member posts at most once per this many ms (0: off)
	Title          *string `json:"title,omitempty"`           // the group's name
	Description    *string `json:"description,omitempty"`     // what it is for
}

// Settings answers it: the group's settings after the change, and the seq
// of the system message recording a change of admins_only or slow mode,
// of the name or description, a pin or an unpin (0: none).
type Settings struct {
	Conv           string   `json:"conv"`
	AdminsOnly     bool     `json:"admins_only"`
	PrejoinHistory uint32   `json:"prejoin_history"`
	PinnedSeqs     []uint64 `json:"pinned_seqs"`
	SlowModeMs     uint32   `json:"slow_mode_ms"`
	Title          string   `json:"title"`
	Description    string   `json:"description"`
	MemberCount    uint32   `json:"member_count"` // active members now
	// Managers: a group's owners, then its admins, by user id (at most 100)
	Managers []ConversationUser `json:"managers"`
	Seq      uint64             `json:"seq,omitempty"`
}

func (s *Server) groupSettings(w http.ResponseWriter, r *http.Request) {
	var req SettingsRequest
	if !readDeskBodyUpTo(w, r, &req, maxPostBody) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	conv := r.PathValue("conv")
	res, err := s.node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: req.Actor, AdminsOnly: req.AdminsOnly, PrejoinHistory: req.PrejoinHistory,
		PinSeq: req.PinSeq, UnpinSeq: req.UnpinSeq, SlowModeMs: req.SlowModeMs, Title: req.Title, Description: req.Description})
	if err != nil {
		sendRefused(w, err)
		return
	}
	pinned := res.PinnedSeqs
	if pinned == nil {
		pinned = []uint64{} // [] rather than null in the JSON
	}
	writeJSON(w, http.StatusOK, Settings{Conv: conv, AdminsOnly: res.AdminsOnly, PrejoinHistory: res.PrejoinHistory, PinnedSeqs: pinned, SlowModeMs: res.SlowModeMs,
		Title: res.Title, Description: res.Description, MemberCount: res.MemberCount, Managers: conversationUsers(res.Managers), Seq: res.Seq})
}

// Conversation answers GET /api/v1/conversations/{conv}: what a back
// office shows of a chat, read as the operator (no member's rule): its
// kind, name, when it began, its last seq, its size and managers, and its
// settings with every pin.
type Conversation struct {
	Conv           string             `json:"conv"`
	Kind           string             `json:"kind"`
	Title          string             `json:"title"`
	Description    string             `json:"description"`
	Created        time.Time          `json:"created,omitzero"`
	LastSeq        uint64             `json:"last_seq"`
	MemberCount    uint32             `json:"member_count"`
	Managers       []ConversationUser `json:"managers"`
	AdminsOnly     bool               `json:"admins_only"`
	SlowModeMs     uint32             `json:"slow_mode_ms"`
	PrejoinHistory uint32             `json:"prejoin_history"`
	PinnedSeqs     []uint64           `json:"pinned_seqs"`
	Frozen         *FrozenState       `json:"frozen,omitempty"` // absent: open
	Meta           map[string]string  `json:"meta,omitempty"`   // the app's own data about it (PUT …/meta)
}

func (s *Server) conversation(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	conv := r.PathValue("conv")
	info, err := s.node.ConversationAsOperator(ctx, conv)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	st, h := info.Settings, info.Conv
	title := st.Title
	if title == "" {
		title = h.Title
	}
	writeJSON(w, http.StatusOK, Conversation{Conv: conv, Kind: strings.ToLower(h.Kind.String()), Title: title, Description: st.Description,
		Created: h.CreatedAt.UTC(), LastSeq: h.LastSeq, MemberCount: st.MemberCount, Managers: conversationUsers(st.Managers),
		AdminsOnly: st.AdminsOnly, SlowModeMs: st.SlowModeMs, PrejoinHistory: st.PrejoinHistory, PinnedSeqs: append([]uint64{}, st.PinnedSeqs...),
		Frozen: frozenState(st.Frozen), Meta: st.Meta})
}

// InvitesRequest is the body of POST /api/v1/conversations/{conv}/invites:
// as actor (an owner or admin of the group), create an invite code
// (create, with ttl and max_uses), revoke one (revoke: its id) or, with
// neither, list the live ones.
type InvitesRequest struct {
	Actor   string `json:"actor"`
	Create  bool   `json:"create,omitempty"`
	TTL     string `json:"ttl,omitempty"`      // a Go duration ("72h"); empty: the node's default
	MaxUses uint32 `json:"max_uses,omitempty"` // 0: any number
	Revoke  string `json:"revoke,omitempty"`
	// Approval: joins with the code wait for the group's owners and admins
	// (op approve or decline on the members route)
	Approval bool `json:"approval,omitempty"`
}

// Invites answers it: a created invite's code (once) and id, and the
// group's live invites.
type Invites struct {
	Conv    string        `json:"conv"`
	Code    string        `json:"code,omitempty"`
	ID      string        `json:"id,omitempty"`
	Invites []GroupInvite `json:"invites"`
	// Requests: the users who asked to join with an approval invite and
	// wait, oldest first
	Requests []JoinRequest `json:"requests"`
}

// JoinRequest is a user waiting to join a group.
type JoinRequest struct {
	User      string    `json:"user"`
	Name      string    `json:"name,omitempty"`
	At        time.Time `json:"at"`
	Invite    string    `json:"invite"`
	ExpiresAt time.Time `json:"expires_at"`
	Note      string    `json:"note,omitempty"` // the user's words to the managers
}

// GroupInvite is a live invite (never its code).
type GroupInvite struct {
	ID        string    `json:"id"`
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   uint32    `json:"max_uses,omitempty"`
	Uses      uint32    `json:"uses"`
	Approval  bool      `json:"approval,omitempty"`
}

func (s *Server) groupInvites(w http.ResponseWriter, r *http.Request) {
	var req InvitesRequest
	if !readDeskBodyUpTo(w, r, &req, maxPostBody) {
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "ttl: want a positive duration such as 72h, got " + strconv.Quote(req.TTL), "code": "INVALID"})
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	conv := r.PathValue("conv")
	res, err := s.node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: req.Actor, Create: req.Create, TtlMs: ttl.Milliseconds(), MaxUses: req.MaxUses, Revoke: req.Revoke,
		Approval: req.Approval})
	if err != nil {
		sendRefused(w, err)
		return
	}
	out := Invites{Conv: conv, Code: res.Token, ID: res.Id, Invites: []GroupInvite{}, Requests: []JoinRequest{}}
	for _, i := range res.Invites {
		out.Invites = append(out.Invites, GroupInvite{ID: i.Id, By: i.By, CreatedAt: time.UnixMilli(i.CreatedMs).UTC(), ExpiresAt: time.UnixMilli(i.ExpiresMs).UTC(),
			MaxUses: i.MaxUses, Uses: i.Uses, Approval: i.Approval})
	}
	for _, q := range res.Requests {
		out.Requests = append(out.Requests, JoinRequest{User: q.User, Name: q.Name, At: time.UnixMilli(q.AtMs).UTC(), Invite: q.Invite,
			ExpiresAt: time.UnixMilli(q.ExpiresMs).UTC(), Note: q.Note})
	}
	writeJSON(w, http.StatusOK, out)
}

// Members answers GET /api/v1/conversations/{conv}/members: a page of the
// active members by user id.
type Members struct {
	Conv    string             `json:"conv"`
	Members []ConversationUser `json:"members"`
	Next    string             `json:"next,omitempty"` // more after: ask again with after = next
}

// ConversationUser is an active member.
type ConversationUser struct {
	User      string `json:"user"`
	Role      string `json:"role"`
	JoinedSeq uint64 `json:"joined_seq"`
	Muted     bool   `json:"muted,omitempty"`
	// MutedUntilMs: when a timed mute ends (omitted: none).
	MutedUntilMs int64 `json:"muted_until_ms,omitempty"`
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	conv, q := r.PathValue("conv"), r.URL.Query()
	limit, ok := pageLimit(w, q)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ms, next, err := s.node.MembersAsOperator(ctx, conv, q.Get("after"), limit)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, Members{Conv: conv, Members: conversationUsers(ms), Next: next})
}

// conversationUsers is members as the admin API answers them.
func conversationUsers(ms []*pb.Member) []ConversationUser {
	out := make([]ConversationUser, len(ms))
	for i, m := range ms {
		out[i] = ConversationUser{User: m.User, Role: strings.ToLower(m.Role.String()), JoinedSeq: m.JoinedSeq, Muted: m.Muted, MutedUntilMs: m.MutedUntilMs}
	}
	return out
}

// PostMessageRequest is the body of POST /api/v1/messages: Conv, or To
// for the direct conversation of Sender and To (created on first use).
type PostMessageRequest struct {
	Sender string `json:"sender"`         // the user it is posted as, under their rights
	Conv   string `json:"conv,omitempty"` // an existing conversation of theirs
	To     string `json:"to,omitempty"`   // or a user: their direct conversation with the sender
	// Topic, with To: the pair's conversation about it (an order, a
	// listing; docs/PROTOCOL.md, "Topics"), started by this post if new.
	Topic       string          `json:"topic,omitempty"`
	ClientMsgID string          `json:"client_msg_id"`  // the idempotency key: a retry with it is answered with the first
	Text        string          `json:"text,omitempty"` // the message's text; with a location, its caption
	Card        json.RawMessage `json:"card,omitempty"` // a card (docs/PROTOCOL.md, "Cards") instead of a text
	Poll        json.RawMessage `json:"poll,omitempty"` // a poll (docs/PROTOCOL.md, "Polls") instead of a text
	// Location: a place the text shares ("where the courier is"), which
	// may then be empty (docs/PROTOCOL.md, "Locations").
	Location *TranscriptPlace `json:"location,omitempty"`
	// Meta: the app's own data about the message (an order's id), which
	// its members' apps read and nobody is shown (docs/PROTOCOL.md, "Meta").
	Meta     map[string]string `json:"meta,omitempty"`
	ReplyTo  uint64            `json:"reply_to,omitempty"` // the seq of the message it answers
	Mentions []string          `json:"mentions,omitempty"` // the members it mentions, by user id
	// MentionAll mentions every member of the group but the sender
	// ("@all": the sender must be one of its owners or admins).
	MentionAll bool `json:"mention_all,omitempty"`
	// SendAt schedules the message (docs/PROTOCOL.md, "Scheduled
	// messages"): the node sends it then, under the rules of that time;
	// the post is answered 202 with a ScheduledPost.
	SendAt *time.Time `json:"send_at,omitempty"`
}

// ScheduledPost is a message scheduled and not yet sent: the answer to a
// post with send_at, and an entry of GET /api/v1/users/{user}/scheduled.
type ScheduledPost struct {
	ID          string    `json:"id"` // DELETE /api/v1/users/{user}/scheduled/{id} cancels it
	Sender      string    `json:"sender"`
	Conv        string    `json:"conv,omitempty"`
	To          string    `json:"to,omitempty"`
	Topic       string    `json:"topic,omitempty"`
	ClientMsgID string    `json:"client_msg_id"` // the sent message will carry it
	Kind        string    `json:"kind"`
	Text        string    `json:"text"`
	SendAt      time.Time `json:"send_at"`
	// Failed: when it was due the node refused it for good (the code and
	// why); it stays listed until cancelled.
	Failed string `json:"failed,omitempty"`
}

func scheduledPost(user string, sc session.Scheduled) ScheduledPost {
	return ScheduledPost{ID: sc.ID, Sender: user, Conv: sc.Send.Conv, To: sc.To, Topic: sc.Send.Topic, ClientMsgID: sc.Send.ClientMsgId,
		Kind: kindName(storage.MessageKind(sc.Send.Kind), 0), Text: string(sc.Send.Body), SendAt: sc.At.UTC(), Failed: sc.Failed}
}

// PostedMessage answers POST /api/v1/messages once the message is durable.
type PostedMessage struct {
	Conv      string    `json:"conv"`
	Seq       uint64    `json:"seq"`
	MsgID     uint64    `json:"msg_id,string"` // a string: beyond 2^53, which JavaScript rounds
	SentAt    time.Time `json:"sent_at"`
	Duplicate bool      `json:"duplicate"` // a retry: the first post's answer
	Flagged   bool      `json:"flagged,omitempty"`
	// StoredText is the text as stored, when the node changed it
	// (contact details masked, --contact-details).
	StoredText string `json:"stored_text,omitempty"`
}

// maxPostBody bounds a post's body: the largest message body and its JSON.
const maxPostBody = 1 << 20

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var req PostMessageRequest
	if !readDeskBodyUpTo(w, r, &req, maxPostBody) {
		return
	}
	bad := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg, "code": "INVALID"})
	}
	switch {
	case req.Sender == "":
		bad("sender: required (the user the message is from)")
		return
	case (req.Conv == "") == (req.To == ""):
		bad("give conv or to, not both")
		return
	case req.ClientMsgID == "":
		bad("client_msg_id: required (your idempotency key: a retry with it is answered with the first post)")
		return
	case btoi(req.Text != "" || req.Location != nil)+btoi(len(req.Card) > 0)+btoi(len(req.Poll) > 0) != 1:
		bad("give one of text (or a location), card and poll")
		return
	}
	msg := &pb.SendMessage{Conv: req.Conv, Sender: req.Sender, Topic: req.Topic, ClientMsgId: req.ClientMsgID, Body: []byte(req.Text), Location: req.Location.pb(),
		Meta: req.Meta, ReplyTo: req.ReplyTo, Mentions: req.Mentions, ClientTsMs: time.Now().UnixMilli()}
	if req.MentionAll {
		if len(req.Mentions) > 0 {
			bad("mention_all names nobody else: give mentions or mention_all")
			return
		}
		msg.Mentions = []string{storage.MentionAll}
	}
	switch {
	case len(req.Card) > 0:
		msg.Kind, msg.Body = pb.MessageKind_CARD, req.Card
	case len(req.Poll) > 0:
		msg.Kind, msg.Body = pb.MessageKind_POLL, req.Poll
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if req.SendAt != nil {
		sc, err := s.node.Schedule(ctx, req.Sender, req.To, msg, *req.SendAt)
		if err != nil {
			sendRefused(w, err)
			return
		}
		s.log.Info("message scheduled by the operator", "by", callerOf(r), "sender", req.Sender, "id", sc.ID, "at", sc.At)
		writeJSON(w, http.StatusAccepted, scheduledPost(req.Sender, sc))
		return
	}
	var res *pb.SendResponse
	var err error
	if req.To != "" {
		res, err = s.node.SendDirectAsOperator(ctx, req.To, msg)
	} else {
		res, err = s.node.Send(ctx, msg)
	}
	if err != nil {
		sendRefused(w, err)
		return
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, PostedMessage{Conv: msg.Conv, Seq: res.Seq, MsgID: res.MsgId, SentAt: time.UnixMilli(res.ServerTsMs).UTC(),
		Duplicate: res.Duplicate, Flagged: res.Flagged, StoredText: string(res.StoredBody)})
}

// sendRefused writes a refused post: the code, and the status an HTTP
// client retries by (429 and 503 with Retry-After).
func sendRefused(w http.ResponseWriter, err error) {
	code := actors.CodeOf(err)
	status := map[pb.Code]int{
		pb.Code_RATE_LIMITED: http.StatusTooManyRequests, pb.Code_SLOW_MODE: http.StatusTooManyRequests, pb.Code_BUSY: http.StatusServiceUnavailable,
		pb.Code_STORAGE_UNAVAILABLE: http.StatusServiceUnavailable, pb.Code_RETRY: http.StatusServiceUnavailable,
		pb.Code_MUTED: http.StatusForbidden, pb.Code_REJECTED_POLICY: http.StatusUnprocessableEntity,
	}[code]
	if status == 0 {
		deskAnswer(w, nil, err)
		return
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		var ms uint32
		if ae := (*actors.Error)(nil); errors.As(err, &ae) {
			ms = ae.RetryAfterMs
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((ms+999)/1000)))) // whole seconds, rounded up; no hint: 1
	}
	writeJSON(w, status, map[string]string{"error": err.Error(), "code": code.String()})
}

// Transcript answers GET /api/v1/conversations/{conv}/messages: a page of
// the conversation's log, oldest first.
type Transcript struct {
	Conv     string              `json:"conv"`
	LastSeq  uint64              `json:"last_seq"`
	Messages []TranscriptMessage `json:"messages"`
	Next     uint64              `json:"next,omitempty"` // more after: ask again with after = next
}

// TranscriptMessage is one message of a transcript; Kind is text, card,
// edit, reaction, recall (the event; RefSeq names the recalled message) or
// system (membership changes and desk steps, a JSON Text).
type TranscriptMessage struct {
	Seq    uint64 `json:"seq"`
	MsgID  uint64 `json:"msg_id,string"`
	Sender string `json:"sender"`
	// SenderName: the sender's display name (their profile's, as it is
	// now), absent when they set none.
	SenderName string   `json:"sender_name,omitempty"`
	Role       string   `json:"role,omitempty"` // customer or agent in a service conversation
	Kind       string   `json:"kind"`
	Text       string   `json:"text,omitempty"`
	RefSeq     uint64   `json:"ref_seq,omitempty"`
	ReplyTo    uint64   `json:"reply_to,omitempty"`
	Mentions   []string `json:"mentions,omitempty"`
	// MentionAll: it mentions every member but its sender ("@all").
	MentionAll bool           `json:"mention_all,omitempty"`
	File       *TranscriptRef `json:"file,omitempty"`
	// Location: a place the message shares (Text is its caption).
	Location *TranscriptPlace `json:"location,omitempty"`
	// Meta: the app's own data about the message, as its sender gave it.
	Meta     map[string]string `json:"meta,omitempty"`
	Recalled bool              `json:"recalled,omitempty"`
	Expired  bool              `json:"expired,omitempty"` // retention took its content (recalled is set too)
	Flagged  bool              `json:"flagged,omitempty"`
	// Forwarded: a copy of another message its sender forwarded; the node
	// keeps no trace of where it came from.
	Forwarded bool `json:"forwarded,omitempty"`
	// AutoReply: the node posted it for its sender, who set an away
	// message: not an answer of theirs.
	AutoReply bool      `json:"auto_reply,omitempty"`
	SentAt    time.Time `json:"sent_at"`
}

// TranscriptPlace is a shared place: WGS 84 degrees and its name.
type TranscriptPlace struct {
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Name string  `json:"name,omitempty"`
	// LiveUntilMs: a live share's end (its moves are messages with
	// ref_seq); 0: a fixed place.
	LiveUntilMs int64 `json:"live_until_ms,omitempty"`
}

func (l *TranscriptPlace) pb() *pb.Location {
	if l == nil {
		return nil
	}
	return &pb.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: l.LiveUntilMs}
}

// TranscriptRef describes a message's file (its bytes are read over the
// protocol, by a member: media_read).
type TranscriptRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

func (s *Server) transcript(w http.ResponseWriter, r *http.Request) {
	conv, q := r.PathValue("conv"), r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "after: want a seq, got " + v, "code": "INVALID"})
			return
		}
		after = n
	}
	limit, ok := pageLimit(w, q)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	msgs, last, err := s.node.ConversationLog(ctx, conv, after, limit)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := Transcript{Conv: conv, LastSeq: last, Messages: make([]TranscriptMessage, len(msgs))}
	senders := make([]string, len(msgs))
	for i, m := range msgs {
		out.Messages[i] = transcriptMessageOf(m)
		senders[i] = m.Sender
	}
	// A ticket's copy shows who wrote by name, as the members saw them.
	names := s.node.DisplayNames(ctx, senders...)
	for i := range out.Messages {
		out.Messages[i].SenderName = names[out.Messages[i].Sender]
	}
	if n := len(msgs); n > 0 && msgs[n-1].Seq < last {
		out.Next = msgs[n-1].Seq
	}
	s.log.Info("conversation read by the operator", "by", callerOf(r), "conv", conv, "after", after, "messages", len(msgs))
	writeJSON(w, http.StatusOK, out)
}

func transcriptMessageOf(m *pb.Message) TranscriptMessage {
	out := TranscriptMessage{Seq: m.Seq, MsgID: m.MsgId, Sender: m.Sender, Kind: kindName(storage.MessageKind(m.Kind), m.RefSeq), Text: string(m.Body),
		RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Mentions: m.Mentions, Recalled: m.Recalled, Expired: m.Expired, Flagged: m.Flagged,
		Forwarded: m.Forwarded, AutoReply: m.AutoReply, SentAt: time.UnixMilli(m.ServerTsMs).UTC()}
	if m.SenderRole == pb.Role_CUSTOMER || m.SenderRole == pb.Role_AGENT {
		out.Role = strings.ToLower(m.SenderRole.String())
	}
	if len(m.Mentions) == 1 && m.Mentions[0] == storage.MentionAll {
		out.Mentions, out.MentionAll = nil, true
	}
	out.Meta = m.Meta
	if l := m.Location; l != nil {
		out.Location = &TranscriptPlace{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: l.LiveUntilMs}
	}
	if f := m.Media; f != nil {
		out.File = &TranscriptRef{ID: f.Id, Name: f.Name, Type: f.Mime, Size: f.Size}
	}
	return out
}

// kindName is a message kind as the HTTP API names it: a normal message
// is text, or an edit (of refSeq); a poll with refSeq is its close
// (poll_close); the others by their names (card, reaction, poll, vote,
// recall, system).
func kindName(kind storage.MessageKind, refSeq uint64) string {
	switch {
	case kind == storage.MsgNormal && refSeq != 0:
		return "edit"
	case kind == storage.MsgNormal:
		return "text"
	case kind == storage.MsgPoll && refSeq != 0:
		return "poll_close"
	}
	return kind.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PollResults answers GET /api/v1/conversations/{conv}/polls/{seq}: the
// node's tally of a poll, each option with its first `voters` voters.
type PollResults struct {
	Conv       string              `json:"conv"`
	Seq        uint64              `json:"seq"`
	Question   string              `json:"question"`
	Multiple   bool                `json:"multiple"`
	Closed     bool                `json:"closed"`
	Voters     uint32              `json:"voters"`
	Options    []PollOptionResults `json:"options"`
	ThroughSeq uint64              `json:"through_seq"`
	ClosesAtMs int64               `json:"closes_at_ms,omitempty"` // when it closes by itself
	// Quiz: one option is right: Correct, with its author's Explanation
	// (the operator sees them before anyone answered).
	Quiz        bool    `json:"quiz,omitempty"`
	Correct     *uint32 `json:"correct,omitempty"`
	Explanation string  `json:"explanation,omitempty"`
	// Anonymous: votes are counted under aliases: no voters are listed,
	// not even to the operator.
	Anonymous bool `json:"anonymous,omitempty"`
}

// PollOptionResults is one option of PollResults.
type PollOptionResults struct {
	Text   string   `json:"text"`
	Votes  uint32   `json:"votes"`
	Voters []string `json:"voters"`
}

func (s *Server) pollResults(w http.ResponseWriter, r *http.Request) {
	conv := r.PathValue("conv")
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "seq: a message's seq (1 or more)", "code": "INVALID"})
		return
	}
	voters := 100
	if v := r.URL.Query().Get("voters"); v != "" {
		if voters, err = strconv.Atoi(v); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "voters: a number, 0 to 1000", "code": "INVALID"})
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := s.node.PollResultsAsOperator(ctx, conv, seq, voters)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := PollResults{Conv: conv, Seq: seq, Question: res.Question, Multiple: res.Multiple, Closed: res.Closed, Voters: res.Voters,
		ThroughSeq: res.ThroughSeq, ClosesAtMs: res.ClosesAtMs, Options: make([]PollOptionResults, len(res.Options)),
		Quiz: res.Quiz, Correct: res.Correct, Explanation: res.Explanation, Anonymous: res.Anonymous}
	for i, o := range res.Options {
		out.Options[i] = PollOptionResults{Text: o.Text, Votes: o.Votes, Voters: append([]string{}, o.Voters...)}
	}
	writeJSON(w, http.StatusOK, out)
}

// pageLimit reads a page's limit (default 200; its range is the node's to
// check), or answers 400.
func pageLimit(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("limit")
	if v == "" {
		return 200, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want a number, got " + v, "code": "INVALID"})
		return 0, false
	}
	return n, true
}

// ScheduledPosts answers GET /api/v1/users/{user}/scheduled.
type ScheduledPosts struct {
	User      string          `json:"user"`
	Scheduled []ScheduledPost `json:"scheduled"`
}

// listScheduled answers a user's messages scheduled and not yet sent,
// soonest first.
func (s *Server) listScheduled(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	list, err := s.node.ScheduledSends(r.Context(), user)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := make([]ScheduledPost, len(list))
	for i, sc := range list {
		out[i] = scheduledPost(user, sc)
	}
	writeJSON(w, http.StatusOK, ScheduledPosts{User: user, Scheduled: out})
}

// UserConversations answers GET /api/v1/users/{user}/conversations: a
// page of the user's conversation list, in its order, each with what a
// back office acts on; next is where the next page starts ("": the end).
type UserConversations struct {
	User          string             `json:"user"`
	Conversations []UserConversation `json:"conversations"`
	Next          string             `json:"next,omitempty"`
}

// UserConversation is one conversation of a user's list.
type UserConversation struct {
	Conv           string    `json:"conv"`
	Kind           string    `json:"kind"`
	Peer           string    `json:"peer,omitempty"`  // a direct conversation's other user
	Topic          string    `json:"topic,omitempty"` // a direct conversation's topic (docs/PROTOCOL.md, "Topics")
	Title          string    `json:"title,omitempty"` // a group's name
	LastSeq        uint64    `json:"last_seq"`
	Unread         uint64    `json:"unread"`
	LastActivityAt time.Time `json:"last_activity_at"`
	// Frozen: closed to new messages (PUT …/freeze); absent: open.
	Frozen *FrozenState `json:"frozen,omitempty"`
	// Meta: your data about the conversation (PUT …/meta).
	Meta map[string]string `json:"meta,omitempty"`
}

// userConversations pages a user's list (?archived=true: the archived
// one), with ?topic= only their direct conversations about it: a
// marketplace's backend finds every buyer's chat about a listing that
// sold, and posts into each.
func (s *Server) userConversations(w http.ResponseWriter, r *http.Request) {
	user, q := r.PathValue("user"), r.URL.Query()
	limit, ok := pageLimit(w, q)
	if !ok {
		return
	}
	if most := s.node.Config().SyncPage; limit < 1 || limit > most {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("limit: 1 to %d", most), "code": "INVALID"})
		return
	}
	res, err := s.node.ListConversationsWith(r.Context(), user, session.ListOptions{After: q.Get("after"), Limit: limit,
		Archived: q.Get("archived") == "true", Topic: q.Get("topic")})
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := UserConversations{User: user, Conversations: make([]UserConversation, len(res.Conversations))}
	for i, c := range res.Conversations {
		peer, _ := wirepb.DirectPeer(c.Conv, user)
		out.Conversations[i] = UserConversation{Conv: c.Conv, Kind: strings.ToLower(c.Kind.String()), Peer: peer, Topic: wirepb.DirectTopic(c.Conv),
			Title: c.Title, LastSeq: c.LastSeq, Unread: c.Unread, LastActivityAt: time.UnixMilli(c.LastActivityMs).UTC(),
			Frozen: frozenState(c.Frozen), Meta: c.Meta}
	}
	if len(res.Conversations) == limit {
		out.Next = res.Conversations[limit-1].Conv
	}
	writeJSON(w, http.StatusOK, out)
}

// cancelScheduled cancels one; 404 when it was sent already, or never was.
func (s *Server) cancelScheduled(w http.ResponseWriter, r *http.Request) {
	user, id := r.PathValue("user"), r.PathValue("id")
	if err := s.node.Unschedule(r.Context(), user, id); err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("scheduled message cancelled by the operator", "by", callerOf(r), "sender", user, "id", id)
	w.WriteHeader(http.StatusNoContent)
}
