package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Target is where a message goes: a user (the direct conversation, or
// with Topic the pair's conversation about it) or a conversation.
type Target struct {
	User  string
	Topic string
	Conv  string
}

// ToUser, ToUserAbout and ToConv make Targets. ToUserAbout is the
// conversation with user about topic (a listing, an order: 1-64 letters,
// digits and ._@-), one per topic beside the plain one, started by the
// first message to it (wirepb.DirectTopicConvID).
func ToUser(user string) Target             { return Target{User: user} }
func ToUserAbout(user, topic string) Target { return Target{User: user, Topic: topic} }
func ToConv(conv string) Target             { return Target{Conv: conv} }

// toConvOrPeer is conv as a Target: a direct conversation's as its other
// user (and topic), so that a send starts it if it is not yet.
func (c *Client) toConvOrPeer(conv string) Target {
	if peer, ok := wirepb.DirectPeer(conv, c.User()); ok {
		return ToUserAbout(peer, wirepb.DirectTopic(conv))
	}
	return ToConv(conv)
}

// Send queues a message and returns at once; the message is in
// Messages(conv) immediately, as sending. clientMsgID may be empty (one is
// made); reuse one to make a resend idempotent.
func (c *Client) Send(to Target, body []byte, clientMsgID string) (*Pending, error) {
	return c.send(to, body, clientMsgID, time.Now(), wirepb.MessageKind_NORMAL, 0, 0)
}

// SendWithMeta is Send of a message carrying the app's own data about it
// (an order's id, a price, how to draw it): every member's app reads it
// as Message.Meta, the node shows it nowhere. At most the node's
// --max-meta-bytes of keys and values (TOO_LARGE); keys are 1–64 letters,
// digits and _.- (INVALID otherwise).
func (c *Client) SendWithMeta(to Target, body []byte, meta map[string]string, clientMsgID string) (*Pending, error) {
	return c.sendMessage(to, Message{ClientMsgID: clientMsgID, Kind: wirepb.MessageKind_NORMAL, Body: body, Meta: maps.Clone(meta), ClientTime: time.Now()})
}

// Reply is Send of a message that answers the message at seq of conv (one
// this user can see: NOT_FOUND otherwise); clients show it quoted above
// the reply (Message.ReplyTo).
func (c *Client) Reply(conv string, seq uint64, body []byte, clientMsgID string) (*Pending, error) {
	if seq == 0 {
		return nil, errors.New("client: a reply names the seq of the message it answers")
	}
	return c.send(ToConv(conv), body, clientMsgID, time.Now(), wirepb.MessageKind_NORMAL, 0, seq)
}

// Mention is Send of a message to conv that mentions members of it
// (@user): each a current member other than this user, each once, at
// most the node's --max-mentions (INVALID otherwise). A mentioned member
// is notified even where they muted the conversation (Message.Mentions).
func (c *Client) Mention(conv string, mentions []string, body []byte, clientMsgID string) (*Pending, error) {
	if len(mentions) == 0 {
		return nil, errors.New("client: a mention names members")
	}
	return c.send(ToConv(conv), body, clientMsgID, time.Now(), wirepb.MessageKind_NORMAL, 0, 0, slices.Clone(mentions)...)
}

// MentionAll is Send of a message to group conv that mentions every
// member but this user ("@all"): each is notified even where they muted
// the group, and counts it in their unread mentions. Only the group's
// owners and admins may (FORBIDDEN otherwise).
func (c *Client) MentionAll(conv string, body []byte, clientMsgID string) (*Pending, error) {
	return c.sendMessage(ToConv(conv), Message{ClientMsgID: clientMsgID, Kind: wirepb.MessageKind_NORMAL, MentionAll: true, Body: body, ClientTime: time.Now()})
}

// SendAt is Send with an explicit client send time (the event time the
// service metrics use), e.g. when replaying a recorded conversation.
func (c *Client) SendAt(to Target, body []byte, clientMsgID string, at time.Time) (*Pending, error) {
	if at.IsZero() {
		at = time.Now()
	}
	return c.send(to, body, clientMsgID, at, wirepb.MessageKind_NORMAL, 0, 0)
}

// Edit replaces the text of this user's message at seq of conv (within
// the node's edit window: EDIT_EXPIRED past it) and waits for the answer.
// The edit is a message of its own (RefSeq = seq, its own Seq); Messages
// shows the original with the newest edit's text and EditSeq set.
func (c *Client) Edit(ctx context.Context, conv string, seq uint64, text string) (Message, error) {
	if seq == 0 {
		return Message{}, errors.New("client: an edit names the seq of the message it edits")
	}
	p, err := c.send(ToConv(conv), []byte(text), "", time.Now(), wirepb.MessageKind_NORMAL, seq, 0)
	if err != nil {
		return Message{}, err
	}
	return p.Wait(ctx)
}

// React sets this user's reaction to the text or card at seq of conv
// (an emoji; one per user and message, the newest replacing the one
// before), or takes it back (emoji ""). It is sent in order with the
// conversation's other sends. Message.Reactions shows the reactions.
func (c *Client) React(ctx context.Context, conv string, seq uint64, emoji string) (Message, error) {
	if seq == 0 {
		return Message{}, errors.New("client: a reaction names the seq of the message it reacts to")
	}
	p, err := c.send(ToConv(conv), []byte(emoji), "", time.Now(), wirepb.MessageKind_REACTION, seq, 0)
	if err != nil {
		return Message{}, err
	}
	return p.Wait(ctx)
}

func (c *Client) send(to Target, body []byte, clientMsgID string, at time.Time, kind wirepb.MessageKind, refSeq, replyTo uint64, mentions ...string) (*Pending, error) {
	return c.sendMessage(to, Message{ClientMsgID: clientMsgID, Kind: kind, RefSeq: refSeq, ReplyTo: replyTo, Mentions: mentions, Body: body, ClientTime: at})
}

// sendMessage queues m (its content: kind, body, what it names) to to.
func (c *Client) sendMessage(to Target, m Message) (*Pending, error) {
	return c.queueSend(to, &outgoing{msg: m})
}

// SendLocation queues a message sharing a place (a meeting point, a
// shop): its coordinates in degrees and an optional name, with caption as
// its text (may be empty), like Send. The node checks the ranges
// (latitude -90 to 90, longitude -180 to 180) and the name's length.
func (c *Client) SendLocation(to Target, lat, lng float64, name, caption string) (*Pending, error) {
	return c.sendMessage(to, Message{Kind: wirepb.MessageKind_NORMAL, Body: []byte(caption), ClientTime: time.Now(),
		Location: &wirepb.Location{Lat: lat, Lng: lng, Name: name}})
}

// SendLiveLocation is SendLocation of a live share (the courier on the
// way): this user moves it (MoveLocation) until until, at most the node's
// --max-live-location-for ahead.
func (c *Client) SendLiveLocation(to Target, lat, lng float64, name, caption string, until time.Time) (*Pending, error) {
	return c.sendMessage(to, Message{Kind: wirepb.MessageKind_NORMAL, Body: []byte(caption), ClientTime: time.Now(),
		Location: &wirepb.Location{Lat: lat, Lng: lng, Name: name, LiveUntilMs: until.UnixMilli()}})
}

// MoveLocation moves this user's live location at seq of conv to lat,
// lng, until its share ends (EDIT_EXPIRED after). Readers show the newest
// place; a move counts as no unread and notifies nobody.
func (c *Client) MoveLocation(conv string, seq uint64, lat, lng float64) (*Pending, error) {
	return c.moveLocation(conv, seq, &wirepb.Location{Lat: lat, Lng: lng})
}

// StopLocation ends this user's live location at seq of conv now, at lat,
// lng (where it was last): readers show it ended there.
func (c *Client) StopLocation(conv string, seq uint64, lat, lng float64) (*Pending, error) {
	return c.moveLocation(conv, seq, &wirepb.Location{Lat: lat, Lng: lng, LiveUntilMs: 1})
}

func (c *Client) moveLocation(conv string, seq uint64, at *wirepb.Location) (*Pending, error) {
	if seq == 0 {
		return nil, errors.New("client: a move names the seq of its live location")
	}
	if held, ok := c.store.message(conv, seq); ok && held.Location != nil {
		at.Name = held.Location.Name // the place keeps its name
	}
	return c.sendMessage(ToConv(conv), Message{Kind: wirepb.MessageKind_NORMAL, RefSeq: seq, ClientTime: time.Now(), Location: at})
}

// queueSend queues o, whose msg holds what it sends, to to.
func (c *Client) queueSend(to Target, o *outgoing) (*Pending, error) {
	m := o.msg
	if (to.User == "") == (to.Conv == "") {
		return nil, errors.New("client: send to exactly one of a user and a conversation")
	}
	if len(m.Body) == 0 && !wirepb.EmptyBodyAllowed(m.Kind, m.RefSeq, m.Media != nil || m.Location != nil || o.forward.conv != "") {
		return nil, errors.New("client: empty message")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if m.ClientMsgID == "" {
		m.ClientMsgID = NewClientMsgID()
	}
	m.Conv = to.Conv
	if to.User != "" {
		m.Conv = wirepb.DirectTopicConvID(c.user, to.User, to.Topic)
	} else if to.Topic != "" {
		return nil, errors.New("client: a topic goes with a user")
	}
	m.Sender, m.State = c.user, StateSending
	o.to, o.topic, o.done, o.msg = to.User, to.Topic, make(chan struct{}), m
	c.enqueue(o)
	return &Pending{o: o}, nil
}

// SendText sends text and waits for the server's answer.
func (c *Client) SendText(ctx context.Context, to Target, text string) (Message, error) {
	p, err := c.Send(to, []byte(text), "")
	if err != nil {
		return Message{}, err
	}
	return p.Wait(ctx)
}

// Messages returns what the client holds of conv: by seq, then the sends
// still pending.
func (c *Client) Messages(conv string) []Message { return c.store.messages(conv) }

// Conversation returns the client's summary of conv.
func (c *Client) Conversation(conv string) (Conversation, bool) { return c.store.conversation(conv) }

// Conversations returns the summaries held: pinned first, then by activity.
func (c *Client) Conversations() []Conversation { return c.store.conversations() }

// HistoryOptions select a page of messages; zero values mean the latest
// page, newest first.
type HistoryOptions struct {
	FromSeq     uint64
	ToSeq       uint64
	Limit       int
	OldestFirst bool
}

// History fetches a page of conv's messages (also merged into Messages,
// but for those older than the ones KeepMessages let go).
func (c *Client) History(ctx context.Context, conv string, o HistoryOptions) ([]Message, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{
		Conv: conv, FromSeq: o.FromSeq, ToSeq: o.ToSeq, OldestFirst: o.OldestFirst, Limit: uint32(max(0, o.Limit))}}})
	if err != nil {
		return nil, err
	}
	ms := res.GetHistory().GetMessages()
	c.store.addMessages(ms, false)
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = fromWire(m)
		out[i].State = StateReceived
		if m.Sender == c.user {
			out[i].State = StateSent
		}
	}
	return out, nil
}

// MarkRead moves this user's read cursor in conv to seq (never back); it
// returns the read cursor and the user's total unread count.
func (c *Client) MarkRead(ctx context.Context, conv string, seq uint64) (readSeq, totalUnread uint64, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MarkRead{MarkRead: &wirepb.MarkReadRequest{Conv: conv, Seq: seq}}})
	if err != nil {
		return 0, 0, err
	}
	r := res.GetMarkRead()
	c.store.markedRead(conv, r.ReadSeq)
	return r.ReadSeq, r.TotalUnread, nil
}

// MarkAllRead reads every conversation of this user up to its last
// message ("mark all as read"), muted and archived ones too, and clears
// every unread mark; the conversations held here show it at once. It
// returns how many conversations had something to read, and the user's
// total unread after (0 unless news came meanwhile).
func (c *Client) MarkAllRead(ctx context.Context) (conversations int, totalUnread uint64, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MarkAllRead{MarkAllRead: &wirepb.MarkAllReadRequest{}}})
	if err != nil {
		return 0, 0, err
	}
	for _, cv := range c.store.conversations() {
		c.store.markedRead(cv.ID, cv.LastSeq)
	}
	r := res.GetMarkAllRead()
	return int(r.Conversations), r.TotalUnread, nil
}

// ClearHistory clears conv for this user up to seq (0: all of it): "delete
// chat". The user no longer sees those messages, on any device (the
// client lets go of what it holds), and reads up to there; the other
// members keep theirs. It returns the cleared seq (a clear never moves
// back) and the user's total unread.
func (c *Client) ClearHistory(ctx context.Context, conv string, seq uint64) (cleared, totalUnread uint64, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_ClearHistory{ClearHistory: &wirepb.ClearHistoryRequest{Conv: conv, Seq: seq}}})
	if err != nil {
		return 0, 0, err
	}
	r := res.GetClearHistory()
	c.store.cleared(conv, r.ClearedSeq)
	c.store.markedRead(conv, r.ClearedSeq)
	return r.ClearedSeq, r.TotalUnread, nil
}

// Hide deletes the messages at seqs of conv for this user alone ("delete
// for me"): they no longer see them, nor their edits and reactions, on
// any device (the client lets go of what it holds); the other members
// keep them. It returns the user's hidden seqs of conv.
func (c *Client) Hide(ctx context.Context, conv string, seqs ...uint64) ([]uint64, error) {
	return c.hide(ctx, conv, seqs, false)
}

// Unhide shows messages hidden with Hide again (an undo), fetching them
// back into the conversation; it returns the hidden seqs left.
func (c *Client) Unhide(ctx context.Context, conv string, seqs ...uint64) ([]uint64, error) {
	return c.hide(ctx, conv, seqs, true)
}

func (c *Client) hide(ctx context.Context, conv string, seqs []uint64, unhide bool) ([]uint64, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Hide{Hide: &wirepb.HideRequest{Conv: conv, Seqs: seqs, Unhide: unhide}}})
	if err != nil {
		return nil, err
	}
	hidden := res.GetHide().GetHiddenSeqs()
	shown := c.store.hidden(conv, hidden)
	if unhide {
		// The membership push of this unhide may have come first, taken
		// the set and left the fetch to the background: what is still
		// missing is fetched here, so it is held when Unhide returns.
		for _, seq := range seqs {
			if _, held := c.store.message(conv, seq); !held && !slices.Contains(hidden, seq) && !slices.Contains(shown, seq) {
				shown = append(shown, seq)
			}
		}
	}
	if len(shown) > 0 {
		if cn, err := c.waitConn(ctx); err == nil {
			c.fetchShown(ctx, cn, conv, shown)
		}
	}
	return hidden, nil
}

// Recall withdraws message seq of conv; it returns the recall event's seq.
func (c *Client) Recall(ctx context.Context, conv string, seq uint64) (uint64, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Recall{Recall: &wirepb.RecallRequest{Conv: conv, Seq: seq}}})
	if err != nil {
		return 0, err
	}
	return res.GetRecall().Seq, nil
}

// ListConversations asks the server for the user's conversations (pinned
// first, then by last activity) and merges them into Conversations.
func (c *Client) ListConversations(ctx context.Context, afterConv string, limit int) ([]*wirepb.ConvSummary, uint64, error) {
	return c.listConversations(ctx, &wirepb.ListConversationsRequest{AfterConv: afterConv, Limit: uint32(max(0, limit))})
}

// ListArchived pages this user's archived conversations (SetArchived)
// as ListConversations pages the main list.
func (c *Client) ListArchived(ctx context.Context, afterConv string, limit int) ([]*wirepb.ConvSummary, uint64, error) {
	return c.listConversations(ctx, &wirepb.ListConversationsRequest{AfterConv: afterConv, Limit: uint32(max(0, limit)), Archived: true})
}

// ListLabelled pages the conversations of this user's main list (archived:
// of the archived one) that carry label (SetLabels), in the list's order.
func (c *Client) ListLabelled(ctx context.Context, label, afterConv string, limit int, archived bool) ([]*wirepb.ConvSummary, uint64, error) {
	return c.listConversations(ctx, &wirepb.ListConversationsRequest{AfterConv: afterConv, Limit: uint32(max(0, limit)), Archived: archived, Label: label})
}

// ListAbout pages this user's direct conversations about topic (a
// seller's chats with every buyer of one listing: ToUserAbout), in the
// main list's order (archived: the archived one's).
func (c *Client) ListAbout(ctx context.Context, topic, afterConv string, limit int, archived bool) ([]*wirepb.ConvSummary, uint64, error) {
	if topic == "" {
		return nil, 0, errors.New("client: ListAbout names a topic")
	}
	return c.listConversations(ctx, &wirepb.ListConversationsRequest{AfterConv: afterConv, Limit: uint32(max(0, limit)), Archived: archived, Topic: topic})
}

func (c *Client) listConversations(ctx context.Context, req *wirepb.ListConversationsRequest) ([]*wirepb.ConvSummary, uint64, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_ListConversations{ListConversations: req}})
	if err != nil {
		return nil, 0, err
	}
	r := res.GetListConversations()
	for _, s := range r.Conversations {
		_, _, _ = c.store.applySummary(s)
	}
	return r.Conversations, r.TotalUnread, nil
}

// SyncFrom asks for the changes since cursor, without applying them or
// moving any cursor: what `switchboard sync` prints.
func (c *Client) SyncFrom(ctx context.Context, cursor uint64, limit int) (*wirepb.SyncResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Sync{Sync: &wirepb.SyncRequest{Cursor: cursor, Limit: uint32(max(0, limit))}}})
	if err != nil {
		return nil, err
	}
	return res.GetSync(), nil
}

// Resync applies the changes since cursor, fetching what the client lacks
// of the conversations it holds.
func (c *Client) Resync(ctx context.Context, cursor uint64) error {
	cn, err := c.waitConn(ctx)
	if err != nil {
		return err
	}
	return c.resyncFrom(ctx, cn, cursor)
}

// AckSync acknowledges a sync answer up to cursor (moves the device cursor).
func (c *Client) AckSync(ctx context.Context, cursor uint64) (uint64, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{SyncCursor: cursor}}})
	if err != nil {
		return 0, err
	}
	return res.GetAck().Cursor, nil
}

// CreateGroup creates a group (conv empty: the server names it) with this
// user as owner; it returns the group's id.
func (c *Client) CreateGroup(ctx context.Context, conv, title string, members []string) (string, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Conv: conv, Title: title, Members: members}}})
	if err != nil {
		return "", err
	}
	return res.GetCreateGroup().Conv, nil
}

// CreateConversation creates a group or service conversation whose
// members carry roles (for a service conversation: CUSTOMER or AGENT; the
// creator may be among them with its own role).
func (c *Client) CreateConversation(ctx context.Context, conv, title string, kind wirepb.ConvKind, roles []*wirepb.Member) (string, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Conv: conv, Title: title, Kind: kind, Roles: roles}}})
	if err != nil {
		return "", err
	}
	return res.GetCreateGroup().Conv, nil
}

func (c *Client) membership(ctx context.Context, conv string, op wirepb.MembershipRequest_Op, users []string, role wirepb.Role) (uint64, error) {
	return c.changeMembers(ctx, &wirepb.MembershipRequest{Conv: conv, Op: op, Users: users, Role: role})
}

func (c *Client) changeMembers(ctx context.Context, req *wirepb.MembershipRequest) (uint64, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Membership{Membership: req}})
	if err != nil {
		return 0, err
	}
	return res.GetMembership().Seq, nil
}

// AddMembers, RemoveMembers, Leave, SetRole, Mute and Unmute change a
// group's members; each returns the seq of the system message recording it.
func (c *Client) AddMembers(ctx context.Context, conv string, users ...string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_ADD, users, 0)
}

// AddMembersWithRole adds users with role (for service conversations:
// CUSTOMER or AGENT).
func (c *Client) AddMembersWithRole(ctx context.Context, conv string, role wirepb.Role, users ...string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_ADD, users, role)
}

func (c *Client) RemoveMembers(ctx context.Context, conv string, users ...string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_REMOVE, users, 0)
}

func (c *Client) Leave(ctx context.Context, conv string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_LEAVE, nil, 0)
}

// Disband ends the group conv for every member (its owners only): all
// leave at one system message, whose seq it returns; they keep its
// history up to there, and nobody joins or writes in it again.
func (c *Client) Disband(ctx context.Context, conv string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_DISBAND, nil, 0)
}

func (c *Client) SetRole(ctx context.Context, conv string, role wirepb.Role, users ...string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_SET_ROLE, users, role)
}

func (c *Client) Mute(ctx context.Context, conv string, users ...string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_MUTE, users, 0)
}

// MuteMembersFor mutes users in the group conv for d ("mute for a
// day"): they read but cannot post until it ends by itself, or Unmute.
// Muting a muted member again sets its end anew; d 0 is Mute, until
// unmuted. At most the node's --max-member-mute-for (a year), else
// INVALID.
func (c *Client) MuteMembersFor(ctx context.Context, conv string, d time.Duration, users ...string) (uint64, error) {
	if d < 0 {
		return 0, fmt.Errorf("mute members for %v: a duration, 0 for until unmuted", d)
	}
	req := &wirepb.MembershipRequest{Conv: conv, Op: wirepb.MembershipRequest_MUTE, Users: users, ForMs: d.Milliseconds()}
	if d > 0 && req.ForMs == 0 {
		req.ForMs = 1 // under a millisecond: the least the wire says
	}
	return c.changeMembers(ctx, req)
}

func (c *Client) Unmute(ctx context.Context, conv string, users ...string) (uint64, error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_UNMUTE, users, 0)
}

// Members reads a page of conv's active members after user after, by
// user id: the server reads up to limit member rows (0: its page, 1,000)
// and leaves out those who left, so a page may be short and still not be
// the last; next is where the next page starts ("": none). AllMembers
// reads them all.
func (c *Client) Members(ctx context.Context, conv, after string, limit int) (members []*wirepb.Member, next string, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Members{Members: &wirepb.MembersRequest{Conv: conv, After: after, Limit: uint32(max(0, limit))}}})
	if err != nil {
		return nil, "", err
	}
	return res.GetMembers().GetMembers(), res.GetMembers().GetNext(), nil
}

// AllMembers reads every active member of conv, page after page.
func (c *Client) AllMembers(ctx context.Context, conv string) ([]*wirepb.Member, error) {
	var all []*wirepb.Member
	for after := ""; ; {
		page, next, err := c.Members(ctx, conv, after, 0)
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		after = next
	}
}

// ReadBy tells the sender of the message at seq of conv which members
// have read it, every page of them (FORBIDDEN for anyone but its sender).
func (c *Client) ReadBy(ctx context.Context, conv string, seq uint64) (read, unread []string, err error) {
	after := ""
	for {
		res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_ReadBy{ReadBy: &wirepb.ReadByRequest{Conv: conv, Seq: seq, After: after}}})
		if err != nil {
			return nil, nil, err
		}
		for _, m := range res.GetReadBy().GetMembers() {
			if m.Read {
				read = append(read, m.User)
			} else {
				unread = append(unread, m.User)
			}
		}
		if after = res.GetReadBy().GetNext(); after == "" {
			return read, unread, nil
		}
	}
}

// Presence says whether user has a device online (for oneself and the
// other side of a direct conversation).
func (c *Client) Presence(ctx context.Context, user string) (online bool, devices int, err error) {
	p, err := c.PresenceIn(ctx, user, "")
	return p.Online, p.Devices, err
}

// Search finds, newest first, the messages of conv the user can read whose
// text (or file name) holds query, ignoring case, reading backwards from
// before (0: the latest); next is where to go on (pass it as before), 0
// once the start was reached. A page may hold fewer than limit matches,
// even none, with next set: the node reads a bounded number of messages
// per request.
func (c *Client) Search(ctx context.Context, conv, query string, before uint64, limit int) (found []Message, next uint64, err error) {
	return c.SearchBy(ctx, conv, SearchQuery{Words: query}, before, limit)
}

// SearchQuery is what SearchBy looks for: messages whose text holds Words
// (ignoring case), of those only the ones sent by Sender, carrying a file
// (Files: a conversation's shared media), replying to the message at
// ReplyTo (a thread), or mentioning this user (Mentions: by name, as the
// author a group reply answers, or everyone), for each filter set. Words
// may be empty when a filter is set: then every message that passes is
// found, each with its newest edit's text (edits themselves are not
// listed). SearchEverywhereBy with Mentions alone is "my mentions".
type SearchQuery struct {
	Words    string
	Sender   string
	Files    bool
	ReplyTo  uint64
	Mentions bool
}

func (q SearchQuery) wire(conv string, before uint64, limit int) *wirepb.Request {
	return &wirepb.Request{Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Conv: conv, Query: q.Words, BeforeSeq: before,
		Limit: uint32(max(limit, 0)), Sender: q.Sender, Files: q.Files, ReplyTo: q.ReplyTo, Mentions: q.Mentions}}}
}

// SearchBy is Search with filters (SearchQuery).
func (c *Client) SearchBy(ctx context.Context, conv string, q SearchQuery, before uint64, limit int) (found []Message, next uint64, err error) {
	res, err := c.do(ctx, q.wire(conv, before, limit))
	if err != nil {
		return nil, 0, err
	}
	for _, m := range res.GetSearch().GetMessages() {
		found = append(found, fromWire(m))
	}
	return found, res.GetSearch().GetNextBeforeSeq(), nil
}

// SearchCursor is where a search of every conversation goes on: in Conv
// (inclusive) before Before (0: its latest), then the conversations after
// it in the list. The zero cursor is the top of the list.
type SearchCursor struct {
	Conv   string
	Before uint64
}

// SearchEverywhere is Search across all the user's conversations, in the
// order of their conversation list (pinned, then by last activity, then
// the archived ones), newest first within each; each found Message names
// its Conv. next is where to go on, the zero cursor once the last
// conversation was read.
func (c *Client) SearchEverywhere(ctx context.Context, query string, from SearchCursor, limit int) (found []Message, next SearchCursor, err error) {
	return c.SearchEverywhereBy(ctx, SearchQuery{Words: query}, from, limit)
}

// Thread lists the replies to the message at seq of conv, newest first,
// from before (0: the latest): SearchBy with ReplyTo alone.
func (c *Client) Thread(ctx context.Context, conv string, seq, before uint64, limit int) (replies []Message, next uint64, err error) {
	return c.SearchBy(ctx, conv, SearchQuery{ReplyTo: seq}, before, limit)
}

// SearchEverywhereBy is SearchEverywhere with filters (a thread, ReplyTo,
// is searched in one conversation only: INVALID here).
func (c *Client) SearchEverywhereBy(ctx context.Context, q SearchQuery, from SearchCursor, limit int) (found []Message, next SearchCursor, err error) {
	req := q.wire("", from.Before, limit)
	req.GetSearch().FromConv = from.Conv
	res, err := c.do(ctx, req)
	if err != nil {
		return nil, next, err
	}
	r := res.GetSearch()
	for _, m := range r.GetMessages() {
		found = append(found, fromWire(m))
	}
	return found, SearchCursor{Conv: r.GetNextConv(), Before: r.GetNextBeforeSeq()}, nil
}

// UserPresence is what PresenceIn and Presences tell of a user.
type UserPresence struct {
	User    string // Presences: whose
	Online  bool
	Devices int // online
	// LastSeen, when not online: the user's last connect, acknowledgement
	// or disconnect; zero: never (or so long ago the device expired).
	LastSeen time.Time
}

// PresenceIn tells whether user is online, or when they were last seen,
// through conv, a conversation both are active members of (empty: their
// direct conversation); FORBIDDEN for a user the caller shares nothing
// with, or between two users when one blocked the other.
func (c *Client) PresenceIn(ctx context.Context, user, conv string) (UserPresence, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Presence{Presence: &wirepb.PresenceRequest{User: user, Conv: conv}}})
	if err != nil {
		return UserPresence{}, err
	}
	p := res.GetPresence()
	out := UserPresence{User: user, Online: p.Online, Devices: int(p.Devices)}
	if p.LastSeenMs > 0 {
		out.LastSeen = time.UnixMilli(p.LastSeenMs)
	}
	return out, nil
}

// MaxPresencesPerRequest is how many users one presences request names
// (the server's default --max-presence-users).
const MaxPresencesPerRequest = 100

// Presences tells the presence of each of users as PresenceIn would, in
// the order asked, each once per request: a chat list's online dots.
// Through conv (which the caller reads), or with conv empty each user's
// direct conversation with the caller; users the caller may not see are
// left out, not refused. More than MaxPresencesPerRequest users are asked
// for in several requests.
func (c *Client) Presences(ctx context.Context, conv string, users ...string) ([]UserPresence, error) {
	var out []UserPresence
	for start := 0; start < len(users); start += MaxPresencesPerRequest {
		batch := users[start:min(len(users), start+MaxPresencesPerRequest)]
		res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Presences{Presences: &wirepb.PresencesRequest{Users: batch, Conv: conv}}})
		if err != nil {
			return nil, err
		}
		for _, p := range res.GetPresences().GetUsers() {
			u := UserPresence{User: p.User, Online: p.Online, Devices: int(p.Devices)}
			if p.LastSeenMs > 0 {
				u.LastSeen = time.UnixMilli(p.LastSeenMs)
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// PresenceSharing reads what this user shows others of their presence.
func (c *Client) PresenceSharing(ctx context.Context) (wirepb.PresenceSharing, error) {
	p, err := c.Privacy(ctx, nil)
	return p.GetPresence(), err
}

// SetPresenceSharing sets what this user shows others of their presence:
// everything (PRESENCE_EVERYONE, the default), whether online but never
// when last seen (PRESENCE_ONLINE_ONLY), or nothing (PRESENCE_NOBODY: always
// offline to others). This user's own view keeps all of it.
func (c *Client) SetPresenceSharing(ctx context.Context, s wirepb.PresenceSharing) error {
	_, err := c.Privacy(ctx, &wirepb.PrivacyRequest{Presence: &s})
	return err
}

// SetReadReceipts sets whether this user sends read receipts in direct
// conversations (the default). Without, the other member never sees this
// user's messages read and, in return, this user sees none of theirs;
// groups and service conversations are not affected.
func (c *Client) SetReadReceipts(ctx context.Context, send bool) error {
	hide := !send
	_, err := c.Privacy(ctx, &wirepb.PrivacyRequest{HideReadReceipts: &hide})
	return err
}

// SetPreviews sets whether this user's offline notifications (and unread
// reminders) show the message's text (the default). Without, they say
// "N new messages", from whom and where, and nothing of what was written.
func (c *Client) SetPreviews(ctx context.Context, show bool) error {
	hide := !show
	_, err := c.Privacy(ctx, &wirepb.PrivacyRequest{HidePreviews: &hide})
	return err
}

// SetDirectFrom sets who may start a direct conversation with this user
// (write to them first): DIRECT_FROM_EVERYONE, _GROUPS (users who share
// a group with them), _NOBODY, or _DEFAULT (the node's). A conversation
// that exists is never affected.
func (c *Client) SetDirectFrom(ctx context.Context, from wirepb.DirectFrom) error {
	_, err := c.Privacy(ctx, &wirepb.PrivacyRequest{DirectFrom: &from})
	return err
}

// SetGroupAddFrom sets who may add this user to a group:
// GROUP_ADD_FROM_EVERYONE, _GROUPS (users who share a group with them),
// _NOBODY (they join only with an invite code), or _DEFAULT (the node's).
// Groups the user is in are never affected.
func (c *Client) SetGroupAddFrom(ctx context.Context, from wirepb.GroupAddFrom) error {
	_, err := c.Privacy(ctx, &wirepb.PrivacyRequest{GroupAddFrom: &from})
	return err
}

// SeqAt finds the first message of conv this user sees sent at or after
// at ("jump to a date"; 0: every message is older) and when it was sent:
// History with FromSeq then reads on from there.
func (c *Client) SeqAt(ctx context.Context, conv string, at time.Time) (seq uint64, sent time.Time, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_SeqAt{SeqAt: &wirepb.SeqAtRequest{Conv: conv, AtMs: max(at.UnixMilli(), 0)}}})
	if err != nil {
		return 0, time.Time{}, err
	}
	r := res.GetSeqAt()
	if r.GetSeq() == 0 {
		return 0, time.Time{}, nil
	}
	return r.GetSeq(), time.UnixMilli(r.GetServerTsMs()), nil
}

// Disappearing reads conv's timer for disappearing messages (0: off).
func (c *Client) Disappearing(ctx context.Context, conv string) (time.Duration, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Disappearing{Disappearing: &wirepb.DisappearingRequest{Conv: conv}}})
	if err != nil {
		return 0, err
	}
	return time.Duration(res.GetDisappearing().GetAfterMs()) * time.Millisecond, nil
}

// SetDisappearing sets conv's timer (0: off): every message sent after it
// disappears that long after it was sent (either member of a direct
// conversation, a group's owners and admins). It answers the seq of the
// system message recording the change (0: the timer was that already).
func (c *Client) SetDisappearing(ctx context.Context, conv string, after time.Duration) (uint64, error) {
	ms := after.Milliseconds()
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Disappearing{Disappearing: &wirepb.DisappearingRequest{Conv: conv, AfterMs: &ms}}})
	if err != nil {
		return 0, err
	}
	return res.GetDisappearing().GetSeq(), nil
}

// Frozen reads whether conv is closed to new messages (nil: open).
func (c *Client) Frozen(ctx context.Context, conv string) (*Frozen, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Freeze{Freeze: &wirepb.FreezeRequest{Conv: conv}}})
	if err != nil {
		return nil, err
	}
	return frozenOf(res.GetFreeze().GetFrozen()), nil
}

// Freeze closes conv to new messages (a group's owners and admins: a
// class after the term): nobody posts, every member still reads, and
// every member is shown reason. Unfreeze opens it again. Each answers the
// seq of the system message recording the change (0: it was so already).
// A send into a frozen conversation fails with FROZEN.
func (c *Client) Freeze(ctx context.Context, conv, reason string) (uint64, error) {
	return c.setFrozen(ctx, conv, true, reason, time.Time{})
}

// FreezeUntil is Freeze for a while (a cool-down): conv opens again by
// itself at until, at most the node's --max-freeze-for ahead.
func (c *Client) FreezeUntil(ctx context.Context, conv, reason string, until time.Time) (uint64, error) {
	if until.IsZero() {
		return 0, errors.New("client: a cool-down ends at a time")
	}
	return c.setFrozen(ctx, conv, true, reason, until)
}

// Unfreeze opens conv to new messages again (Freeze).
func (c *Client) Unfreeze(ctx context.Context, conv string) (uint64, error) {
	return c.setFrozen(ctx, conv, false, "", time.Time{})
}

func (c *Client) setFrozen(ctx context.Context, conv string, frozen bool, reason string, until time.Time) (uint64, error) {
	var ms int64
	if !until.IsZero() {
		ms = until.UnixMilli()
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Freeze{Freeze: &wirepb.FreezeRequest{Conv: conv, Frozen: &frozen, Reason: reason, UntilMs: ms}}})
	if err != nil {
		return 0, err
	}
	return res.GetFreeze().GetSeq(), nil
}

// Privacy reads this user's privacy settings, changing those set in
// change first (nil: read only).
func (c *Client) Privacy(ctx context.Context, change *wirepb.PrivacyRequest) (*wirepb.PrivacyResult, error) {
	if change == nil {
		change = &wirepb.PrivacyRequest{}
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Privacy{Privacy: change}})
	if err != nil {
		return nil, err
	}
	return res.GetPrivacy(), nil
}

// SetPinned pins or unpins conv for this user.
func (c *Client) SetPinned(ctx context.Context, conv string, pinned bool) error {
	if _, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Pin{Pin: &wirepb.PinRequest{Conv: conv, Pinned: pinned}}}); err != nil {
		return err
	}
	c.store.setOwnFlag(conv, func(info *Conversation) { info.Pinned = pinned })
	return nil
}

// GroupSettings is a group's settings.
type GroupSettings struct {
	// PrejoinHistory: a member added later sees this many seqs before its
	// join.
	PrejoinHistory uint32
	// AdminsOnly: only owners and admins post new messages; plain members
	// read, react and edit their own.
	AdminsOnly bool
	// PinnedSeqs: the messages pinned for every member to see, in the
	// order they were pinned (History reads them).
	PinnedSeqs []uint64
	// SlowMode: a plain member posts a new message at most once per this
	// interval (0: off); a send sooner fails with SLOW_MODE, and
	// SlowModeWait says how long until the member may post again.
	SlowMode time.Duration
	// Title: the group's name, as every member's list shows it
	// (Conversation.Title); Description: what it is for.
	Title, Description string
	// Picture: the group's picture, with its preview (nil: none);
	// GroupPicture reads the file.
	Picture *wirepb.MediaRef
	// Members: how many active members the conversation has now (0 from
	// a server older than the count).
	Members int
	// Managers: a group's owners, then its admins, each by user id, at
	// most 100 (who runs it, without paging through Members).
	Managers []*wirepb.Member
}

// GroupSettingsChange names the settings to change; nil ones stay. A pin
// (PinSeq) or an unpin (UnpinSeq) of one message goes alone; pins are
// also a direct conversation's (either member) and a service one's (its
// agent), the other settings a group's.
type GroupSettingsChange struct {
	PrejoinHistory *uint32
	AdminsOnly     *bool
	PinSeq         uint64
	UnpinSeq       uint64
	// SlowMode: 0 turns it off; else 1 s to the server's --max-slow-mode,
	// in whole milliseconds (rounded up).
	SlowMode *time.Duration
	// Title renames the group; Description describes it (a group's
	// alone; at most the server's --max-title-bytes and
	// --max-description-bytes).
	Title, Description *string
	// Picture sets the group's picture: the id of this user's complete
	// upload of an image into the group (Upload); "" takes it away.
	Picture *string
}

// GroupSettings reads conv's settings (any member).
func (c *Client) GroupSettings(ctx context.Context, conv string) (GroupSettings, error) {
	s, _, err := c.ChangeGroupSettings(ctx, conv, GroupSettingsChange{})
	return s, err
}

// ChangeGroupSettings changes the settings ch names (owners and admins)
// and returns them all, with the seq of the system message recording a
// change of AdminsOnly or SlowMode, of the Title or Description, a pin or
// an unpin (0: none).
func (c *Client) ChangeGroupSettings(ctx context.Context, conv string, ch GroupSettingsChange) (GroupSettings, uint64, error) {
	var slow *uint32
	if ch.SlowMode != nil {
		if *ch.SlowMode < 0 || *ch.SlowMode > math.MaxUint32*time.Millisecond {
			return GroupSettings{}, 0, fmt.Errorf("slow mode %v: out of range", *ch.SlowMode)
		}
		ms := uint32((*ch.SlowMode + time.Millisecond - 1) / time.Millisecond)
		slow = &ms
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{
		Conv: conv, PrejoinHistory: ch.PrejoinHistory, AdminsOnly: ch.AdminsOnly, PinSeq: ch.PinSeq, UnpinSeq: ch.UnpinSeq, SlowModeMs: slow,
		Title: ch.Title, Description: ch.Description, Picture: ch.Picture}}})
	if err != nil {
		return GroupSettings{}, 0, err
	}
	r := res.GetGroupSettings()
	return GroupSettings{PrejoinHistory: r.GetPrejoinHistory(), AdminsOnly: r.GetAdminsOnly(), PinnedSeqs: r.GetPinnedSeqs(),
		SlowMode: time.Duration(r.GetSlowModeMs()) * time.Millisecond, Title: r.GetTitle(), Description: r.GetDescription(), Picture: r.GetPicture(),
		Members: int(r.GetMemberCount()), Managers: r.GetManagers()}, r.GetSeq(), nil
}

// SlowModeWait reports whether err is a send refused by a group's slow
// mode, and how long until the member may post there again (a countdown
// to show). The client does not resend such a message by itself.
func SlowModeWait(err error) (time.Duration, bool) {
	var we *wirepb.Error
	if !errors.As(err, &we) || we.Code != wirepb.Code_SLOW_MODE {
		return 0, false
	}
	return time.Duration(we.RetryAfterMs) * time.Millisecond, true
}

// SetArchived moves conv into this user's archived list (ListArchived)
// or back to the main list (ListConversations). Its unread messages still
// count unless it is muted; a new message from someone else brings it
// back by itself unless it is muted.
func (c *Client) SetArchived(ctx context.Context, conv string, archived bool) error {
	if _, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Archive{Archive: &wirepb.ArchiveRequest{Conv: conv, Archived: archived}}}); err != nil {
		return err
	}
	c.store.setOwnFlag(conv, func(info *Conversation) { info.Archived, info.ArchivedUntil = archived, time.Time{} })
	return nil
}

// SetLabels changes this user's own labels of conv (Conversation.Labels):
// remove first, then add; each label 1 to the node's --max-label-bytes
// (32) of text, at most --max-conv-labels (10) on conv (TOO_MANY). Every
// device of this user learns them; ListLabelled lists the conversations
// carrying one. It returns the labels after, ascending.
func (c *Client) SetLabels(ctx context.Context, conv string, add, remove []string) ([]string, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Label{Label: &wirepb.LabelRequest{Conv: conv, Add: add, Remove: remove}}})
	if err != nil {
		return nil, err
	}
	labels := res.GetLabel().GetLabels()
	c.store.setOwnFlag(conv, func(info *Conversation) { info.Labels = slices.Clone(labels) })
	return labels, nil
}

// Snooze archives conv for this user until until ("remind me tomorrow"):
// then it is back in the main list by itself, marked unread, until this
// user reads it (Conversation.ArchivedUntil; the node pushes nothing then:
// a client showing it sets a timer). News from someone else ends it
// earlier; SetArchived(false) at once. until must be in the future, at
// most the node's --max-snooze-for ahead (INVALID).
func (c *Client) Snooze(ctx context.Context, conv string, until time.Time) error {
	if _, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Archive{Archive: &wirepb.ArchiveRequest{Conv: conv, Archived: true, UntilMs: until.UnixMilli()}}}); err != nil {
		return err
	}
	c.store.setOwnFlag(conv, func(info *Conversation) { info.Archived, info.ArchivedUntil = true, until })
	return nil
}

// SetMarkedUnread marks conv unread for this user (Conversation.MarkedUnread),
// to come back to it, or takes the mark away. The unread count and the read
// cursor stay as they are; this user's next read of conv (MarkRead on any
// device, or a message of its own) clears the mark.
func (c *Client) SetMarkedUnread(ctx context.Context, conv string, marked bool) error {
	if _, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MarkUnread{MarkUnread: &wirepb.MarkUnreadRequest{Conv: conv, Marked: marked}}}); err != nil {
		return err
	}
	c.store.setOwnFlag(conv, func(info *Conversation) { info.MarkedUnread = marked })
	return nil
}

// SetMuted mutes or unmutes conv for this user alone (not an admin's mute
// of a member): its unread messages leave the total. Returns the new total
// unread count.
func (c *Client) SetMuted(ctx context.Context, conv string, muted bool) (uint64, error) {
	return c.mute(ctx, conv, muted, 0)
}

// MuteFor mutes conv for d ("for 8 hours"): the mute ends by itself then,
// on every device and for offline notifications (at most the node's
// serve --max-mute-for, a year by default). Returns the new total unread.
func (c *Client) MuteFor(ctx context.Context, conv string, d time.Duration) (uint64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("mute for %v: want a positive duration (SetMuted mutes until unmuted)", d)
	}
	return c.mute(ctx, conv, true, d)
}

func (c *Client) mute(ctx context.Context, conv string, muted bool, d time.Duration) (uint64, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Mute{Mute: &wirepb.MuteRequest{Conv: conv, Muted: muted, ForMs: d.Milliseconds()}}})
	if err != nil {
		return 0, err
	}
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d)
	}
	c.store.setOwnFlag(conv, func(info *Conversation) { info.Muted, info.MutedUntil = muted, until })
	return res.GetMute().GetTotalUnread(), nil
}

// Block stops user writing to this user in their direct conversation
// until Unblock; while it lasts this user cannot write there either,
// neither sees the other's presence through it, and user cannot put this
// user into a group. Groups they already share are untouched. The block shows as Muted on the blocked member in Members.
func (c *Client) Block(ctx context.Context, user string) error {
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Block{Block: &wirepb.BlockRequest{User: user, Block: true}}})
	return err
}

// Report reports another user's message at seq of conv (one this user
// can read) to the operator's moderators, with a reason; nobody in the
// conversation is told. It returns the report's id; duplicate when this
// user had reported the message already.
func (c *Client) Report(ctx context.Context, conv string, seq uint64, reason string) (id string, duplicate bool, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Report{Report: &wirepb.ReportRequest{Conv: conv, Seq: seq, Reason: reason}}})
	if err != nil {
		return "", false, err
	}
	return res.GetReport().GetReportId(), res.GetReport().GetDuplicate(), nil
}

// Blocked lists the users this user blocks, sorted (asking the server
// page by page).
func (c *Client) Blocked(ctx context.Context) ([]string, error) {
	var users []string
	for after := ""; ; {
		res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Blocked{Blocked: &wirepb.BlockedRequest{AfterConv: after}}})
		if err != nil {
			return nil, err
		}
		users = append(users, res.GetBlocked().GetUsers()...)
		if after = res.GetBlocked().GetNext(); after == "" {
			slices.Sort(users)
			return users, nil
		}
	}
}

// Unblock lifts Block.
func (c *Client) Unblock(ctx context.Context, user string) error {
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Block{Block: &wirepb.BlockRequest{User: user}}})
	return err
}

// Ping measures a round trip.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})
	return time.Since(start), err
}

// Typing tells conv's other members this user is typing (or stopped);
// best effort, dropped while disconnected. On switchboard/3 it is a
// request (Request.signal) and returns once the server took it (or
// refused it: RATE_LIMITED), at most RequestTimeout later; on /2 a
// datagram, sent without waiting.
func (c *Client) Typing(conv string, typing bool) error {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return ErrDisconnected
	}
	kind := wirepb.Signal_TYPING
	if !typing {
		kind = wirepb.Signal_STOP_TYPING
	}
	sig := &wirepb.Signal{Kind: kind, Conv: conv}
	if cn.datagramSignals {
		return cn.signal(sig)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RequestTimeout)
	defer cancel()
	_, err := cn.request(ctx, &wirepb.Request{Op: &wirepb.Request_Signal{Signal: sig}})
	return err
}

// Protocol is the protocol version (ALPN) of the current connection, ""
// while disconnected.
func (c *Client) Protocol() string {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return ""
	}
	return cn.lk.protocol()
}

// Raw sends a request as is and returns the answer (tools and tests).
func (c *Client) Raw(ctx context.Context, req *wirepb.Request) (*wirepb.Response, error) {
	return c.do(ctx, req)
}

// LinkPreview asks the node what the web page at url says of itself (its
// title, description, picture and site), for a link's preview: the node
// reads the page (http and https only, no private address) and keeps
// what it read a while. A page that cannot be read or says nothing:
// NOT_FOUND; what is no http(s) link, or a node that makes no previews:
// INVALID.
func (c *Client) LinkPreview(ctx context.Context, url string) (*wirepb.LinkPreview, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_LinkPreview{LinkPreview: &wirepb.LinkPreviewRequest{Url: url}}})
	if err != nil {
		return nil, err
	}
	return res.GetLinkPreview(), nil
}
