package client

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// State is where a message of this user stands.
type State int

const (
	// StateSending: queued or in flight; no seq yet.
	StateSending State = iota
	// StateSent: durable on the server, with its seq.
	StateSent
	// StateDelivered: a device of the recipient received it (direct
	// conversations; best effort).
	StateDelivered
	// StateRead: the other side read it (direct and service conversations).
	StateRead
	// StateFailed: the server refused it; Message.Err says why.
	StateFailed
	// StateReceived: a message of someone else.
	StateReceived
)

func (s State) String() string {
	switch s {
	case StateSending:
		return "sending"
	case StateSent:
		return "sent"
	case StateDelivered:
		return "delivered"
	case StateRead:
		return "read"
	case StateFailed:
		return "failed"
	case StateReceived:
		return "received"
	}
	return "unknown"
}

// Message is a message as the client knows it.
type Message struct {
	Conv        string
	Seq         uint64 // 0 while sending
	MsgID       uint64
	ClientMsgID string
	Sender      string
	Kind        wirepb.MessageKind
	RefSeq      uint64   // RECALL: the recalled message; an edit (IsEdit): the edited one
	ReplyTo     uint64   // a reply: the seq of the message it answers; 0: none
	Mentions    []string // members the message mentions (@user)
	MentionAll  bool     // it mentions every member but its sender ("@all"; Mentions is empty)
	// Media is the attached file (its bytes: Download); nil: none. Body
	// is then its caption, maybe empty.
	Media *wirepb.MediaRef
	// Location is a place the message shares (SendLocation); nil: none.
	// Body is then its caption, maybe empty.
	Location *wirepb.Location
	// Meta is the app's own data about the message, as its sender gave it
	// (SendWithMeta); nil: none. The node never shows it.
	Meta     map[string]string
	Body     []byte // of an edited message: the newest edit's text
	Recalled bool
	// Expired: the node's retention took its content, or it disappeared
	// (Recalled is set too; PROTOCOL.md, "Retention", "Disappearing
	// messages").
	Expired bool
	// ExpiresAt: a disappearing message's end (zero: it stays); from then
	// on the store shows it Expired, without its text or file.
	ExpiresAt time.Time
	// EditSeq is the seq of the edit whose text Body holds; 0: not edited.
	EditSeq uint64
	// Reactions to a text or card: each member's newest reaction, grouped
	// by emoji (most first). A REACTION message itself (RefSeq: the
	// message, Body: the emoji, empty when taken back) is folded here.
	Reactions []Reaction
	// Poll: a POLL message's question, options and the votes folded from
	// the log (VOTE messages: each member's newest), as far as the client
	// holds it; nil for other messages. Client.PollResults asks the node.
	Poll    *PollState
	Flagged bool
	// AutoReply: the node posted it for its sender, who set an away
	// message (SetAway): show it as an automatic reply
	AutoReply bool
	// Forwarded: a copy of another message its sender forwarded
	// (Client.Forward); where it came from is not told. ForwardHops: how
	// many forwards it is from its original (1: a copy of it); from
	// ForwardedManyTimes on, show it "forwarded many times".
	Forwarded   bool
	ForwardHops uint32
	// Duplicate: the answer to a send whose client_msg_id the server
	// already had; the message is the original, stored once.
	Duplicate  bool
	ClientTime time.Time
	ServerTime time.Time
	State      State
	Err        error // StateFailed: the server's reason, a *wirepb.Error
}

// ForwardedManyTimes is the forwards from its original (Message.ForwardHops)
// from which a copy shows "forwarded many times", as chat apps do.
const ForwardedManyTimes = 5

// Reaction is one emoji on a message and the members who chose it.
type Reaction struct {
	Emoji string
	Users []string // sorted
}

// Conversation is the client's summary of a conversation.
type Conversation struct {
	ID   string
	Kind wirepb.ConvKind
	// Title: a group's name (empty for other kinds: show the other
	// member); a rename reaches every member's client by itself.
	Title string
	// PictureID: a group's picture, its file's id ("": none); it changes
	// with the picture, so a client caches the image by it
	// (Client.GroupPicture reads it).
	PictureID string
	LastSeq   uint64
	Unread    uint64
	// UnreadMentions: of the unread messages, those that mention this
	// user (an "@" beside the count).
	UnreadMentions uint64
	ReadSeq        uint64
	LastMessage    *Message
	Pinned         bool
	Muted          bool
	// MutedUntil: a mute for a while (MuteFor) ends by itself then (zero:
	// until unmuted); MutedAt says whether it holds.
	MutedUntil time.Time
	// Archived: in this user's archived list (SetArchived), not the main
	// one; a new message from someone else brings it back unless Muted.
	Archived bool
	// ArchivedUntil: a snooze (Snooze) ends then, and the conversation is
	// back in the main list, marked unread (zero: none). The node pushes
	// nothing then; ArchivedAt says where it is.
	ArchivedUntil time.Time
	// MarkedUnread: this user marked it unread (SetMarkedUnread), to come
	// back to it; show it as unread even with Unread 0. A read clears it.
	MarkedUnread bool
	Member       bool
	LastActivity time.Time
	// PeerReadSeq: the other side read up to here (receipts).
	PeerReadSeq uint64
	// ClearedSeq: this user cleared the conversation up to here
	// (ClearHistory); nothing up to it is held or shown.
	ClearedSeq uint64
	// Labels: this user's own labels of it (SetLabels), ascending.
	Labels []string
	// HiddenSeqs: the messages this user deleted for themself (Hide),
	// ascending; none of them is held or shown.
	HiddenSeqs []uint64
	// DeliveredSeq: a device of the other side received up to here.
	DeliveredSeq uint64
	// Frozen: the conversation is closed to new messages (nil: open);
	// show its reason instead of a composer. A freeze and an unfreeze
	// reach every member's client by themselves; a cool-down's end is not
	// pushed (Frozen.Holds).
	Frozen *Frozen
	// Meta: the app's own data about the conversation (a listing's title
	// and price beside the chat about it), which the operator's backend
	// sets; nil: none. A change reaches every member's client by itself.
	Meta map[string]string
}

// Frozen says why, by whom and since when a conversation is closed to
// new messages (Client.Freeze). It is never changed once made.
type Frozen struct {
	Reason string
	By     string // a group's owner or admin, or "system": the operator
	At     time.Time
	// Until: a cool-down, open again by itself then (zero: until
	// unfrozen). Nothing is pushed at the end: Holds says whether it does.
	Until time.Time
}

// Holds reports whether the freeze holds at now (f nil: none).
func (f *Frozen) Holds(now time.Time) bool {
	return f != nil && (f.Until.IsZero() || now.Before(f.Until))
}

func frozenOf(f *wirepb.Frozen) *Frozen {
	if f == nil {
		return nil
	}
	return &Frozen{Reason: f.Reason, By: f.By, At: time.UnixMilli(f.AtMs), Until: millisTime(f.UntilMs)}
}

// IsEdit reports whether m is an edit: the new text of the sender's
// message at RefSeq, which the client applies to that message (EditSeq).
// A view of the conversation shows the edited message, not the edit.
func (m Message) IsEdit() bool { return m.Kind == wirepb.MessageKind_NORMAL && m.RefSeq != 0 }

// IsNews reports whether m is news to everyone but its sender, as the
// server rules: a text, a new card or a new poll (not an edit, a card's
// update or a poll's close), not recalled, or the record of a call nobody
// answered (MissedCall; its sender is the caller). Such a message from
// someone else counts as unread; sending one implies having read up to it.
func (m Message) IsNews() bool {
	return (m.Kind == wirepb.MessageKind_NORMAL || m.Kind == wirepb.MessageKind_CARD || m.Kind == wirepb.MessageKind_POLL) &&
		m.RefSeq == 0 && !m.Recalled || m.MissedCall() != nil
}

// CallRecord is a system message's record of a call that ended
// (docs/PROTOCOL.md, "Calls").
type CallRecord struct {
	Call       string `json:"call"`
	Caller     string `json:"actor"`
	Callee     string `json:"callee"`
	Video      bool   `json:"video"`
	Outcome    string `json:"outcome"` // missed, declined, cancelled, ended, dropped
	DurationMs int64  `json:"duration_ms"`
	By         string `json:"by"`
	Reason     string `json:"reason"`
}

// CallRecord is m's record of a call, nil if m is none.
func (m Message) CallRecord() *CallRecord {
	if m.Kind != wirepb.MessageKind_SYSTEM || !bytes.Contains(m.Body, []byte(`"op":"call"`)) {
		return nil
	}
	var rec struct {
		Op string `json:"op"`
		CallRecord
	}
	if json.Unmarshal(m.Body, &rec) != nil || rec.Op != "call" {
		return nil
	}
	return &rec.CallRecord
}

// MissedCall is m's record of a call nobody answered (missed, or
// cancelled while it rang): news to the callee, nil for any other message.
func (m Message) MissedCall() *CallRecord {
	if rec := m.CallRecord(); rec != nil && (rec.Outcome == "missed" || rec.Outcome == "cancelled") {
		return rec
	}
	return nil
}

func fromWire(m *wirepb.Message) Message {
	return Message{
		Conv: m.Conv, Seq: m.Seq, MsgID: m.MsgId, ClientMsgID: m.ClientMsgId, Sender: m.Sender, Kind: m.Kind,
		RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Mentions: m.Mentions, MentionAll: m.MentionAll, Media: m.Media, Body: m.Body, Recalled: m.Recalled, Expired: m.Expired, Flagged: m.Flagged,
		Forwarded: m.Forwarded, ForwardHops: m.ForwardHops, AutoReply: m.AutoReply, ClientTime: millisTime(m.ClientTsMs), ServerTime: millisTime(m.ServerTsMs),
		ExpiresAt: millisTime(m.ExpiresAtMs), Location: m.Location, Meta: m.Meta,
	}
}

func millisTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// store is the client's local state: per conversation, the messages it
// holds ordered by seq (each seq once), its own pending sends, and the
// summary. Safe for concurrent use.
type store struct {
	mu    sync.Mutex
	me    string
	convs map[string]*convState
	// keep is how many messages a conversation holds at most (Config.
	// KeepMessages; 0 or less: all): a client that stays connected in a busy
	// conversation for days must not grow with it.
	keep int
}

type convState struct {
	info Conversation
	msgs []Message // ascending seq, unique
	// forgotThrough: the held messages up to this seq were let go (keep);
	// one that comes again is not news and is not held again.
	forgotThrough uint64
	pending       []*outgoing
	fetching      bool
	// countedThrough is the last seq the held unread count covers: that of
	// the newest summary, or of this device's own read. A message above it
	// is news to count however it comes (push, gap fill, or a push written
	// before a summary computed without it). Before any summary
	// (summarized false) only live messages count.
	countedThrough uint64
	summarized     bool
	// titleSeq: the conversation's last seq when Title was told; an older
	// summary or update does not undo a rename.
	titleSeq uint64
	// edits holds, per edited seq, the newest edit seen, so that an
	// original that arrives after its edit (a newest-first history page)
	// shows the new text too.
	edits map[uint64]Message
	// moves holds, per live location's seq, its newest move seen (held
	// before the message arrives, as edits are).
	moves map[uint64]Message
	// reactions holds, per message seq and member, the newest reaction
	// seen (held before its message arrives, as edits are).
	reactions map[uint64]map[string]reactionMark
	// votes holds, per poll seq and member, the newest vote seen; closed
	// the polls whose close was seen (both held before their poll
	// arrives, as reactions are).
	votes  map[uint64]map[string]voteMark
	closed map[uint64]bool
	// aliases: per anonymous poll seq, this user's alias in it, from the
	// answer to a vote of this device's
	aliases map[uint64]string
}

// reactionMark is a member's newest reaction to a message.
type reactionMark struct {
	emoji string // empty: taken back
	seq   uint64
}

func newStore(keep int) *store { return &store{convs: map[string]*convState{}, keep: keep} }

func (s *store) setUser(me string) {
	s.mu.Lock()
	s.me = me
	s.mu.Unlock()
}

func (s *store) convLocked(id string) *convState {
	cs := s.convs[id]
	if cs == nil {
		cs = &convState{info: Conversation{ID: id, Member: true}}
		s.convs[id] = cs
	}
	return cs
}

// stateLocked computes an own message's state from the conversation's
// receipts.
func (s *store) stateLocked(cs *convState, m *Message) State {
	switch {
	case m.Sender != s.me:
		return StateReceived
	case m.Seq == 0:
		return m.State
	case m.Seq <= cs.info.PeerReadSeq:
		return StateRead
	case m.Seq <= cs.info.DeliveredSeq:
		return StateDelivered
	}
	return StateSent
}

func (s *store) viewLocked(cs *convState, m Message) Message {
	m.State = s.stateLocked(cs, &m)
	if !m.ExpiresAt.IsZero() && !time.Now().Before(m.ExpiresAt) && !m.Expired {
		// Disappeared: shown as the node serves it from now on.
		m.Expired, m.Recalled, m.Body, m.Media, m.Location, m.Meta, m.EditSeq = true, true, nil, nil, nil, nil, 0
	}
	if marks := cs.reactions[m.Seq]; len(marks) > 0 && m.RefSeq == 0 && !m.Recalled &&
		(m.Kind == wirepb.MessageKind_NORMAL || m.Kind == wirepb.MessageKind_CARD) {
		m.Reactions = groupReactions(marks)
	}
	if m.Kind == wirepb.MessageKind_POLL && m.RefSeq == 0 && !m.Recalled {
		m.Poll = pollView(m.Body, cs.votes[m.Seq], cs.closed[m.Seq], s.me, cs.aliases[m.Seq])
	}
	return m
}

// groupReactions groups members' reactions by emoji, the most chosen
// first (then by emoji), each emoji's members sorted.
func groupReactions(marks map[string]reactionMark) []Reaction {
	by := map[string][]string{}
	for user, r := range marks {
		if r.emoji != "" {
			by[r.emoji] = append(by[r.emoji], user)
		}
	}
	out := make([]Reaction, 0, len(by))
	for emoji, users := range by {
		slices.Sort(users)
		out = append(out, Reaction{Emoji: emoji, Users: users})
	}
	slices.SortFunc(out, func(a, b Reaction) int {
		if len(a.Users) != len(b.Users) {
			return len(b.Users) - len(a.Users)
		}
		return strings.Compare(a.Emoji, b.Emoji)
	})
	return out
}

// applyReactionLocked records reaction r (a REACTION message) if it is
// its sender's newest on its message; it returns that message, changed,
// when held.
func (s *store) applyReactionLocked(cs *convState, r Message) (Message, bool) {
	if old, ok := cs.reactions[r.RefSeq][r.Sender]; (ok && old.seq >= r.Seq) || r.RefSeq <= cs.forgotThrough {
		return Message{}, false // older than what is held, or of a message let go
	}
	if cs.reactions == nil {
		cs.reactions = map[uint64]map[string]reactionMark{}
	}
	if cs.reactions[r.RefSeq] == nil {
		cs.reactions[r.RefSeq] = map[string]reactionMark{}
	}
	cs.reactions[r.RefSeq][r.Sender] = reactionMark{emoji: string(r.Body), seq: r.Seq}
	i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= r.RefSeq })
	if i == len(cs.msgs) || cs.msgs[i].Seq != r.RefSeq {
		return Message{}, false
	}
	return cs.msgs[i], true
}

// insertLocked adds or updates a message; it reports whether it was new.
func (s *store) insertLocked(cs *convState, m Message) bool {
	if m.Seq <= cs.forgotThrough || slices.Contains(cs.info.HiddenSeqs, m.Seq) {
		return false
	}
	i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= m.Seq })
	if i < len(cs.msgs) && cs.msgs[i].Seq == m.Seq {
		old := &cs.msgs[i]
		if old.MsgID != 0 && m.MsgID != 0 && old.MsgID != m.MsgID {
			s.replaceFromLocked(cs, i, m)
			return true
		}
		if m.Recalled && !old.Recalled {
			old.Recalled, old.Body, old.Location, old.Meta = true, nil, nil, nil
		}
		if m.Expired && !old.Expired {
			old.Expired, old.Media = true, nil
		}
		return false
	}
	cs.msgs = append(cs.msgs, Message{})
	copy(cs.msgs[i+1:], cs.msgs[i:])
	cs.msgs[i] = m
	s.letGoLocked(cs)
	return true
}

// letGoLocked lets the oldest held messages of cs go while it holds more
// than s.keep, with their edits and reactions. It keeps the last message
// below a gap while the conversation holds at most twice s.keep: the gap
// is what the client fetches (gap looks above the oldest message held),
// so a message still missing comes as news when the fetch brings it. A
// hole that outlives that (the server cannot fill it, or it was older
// than FetchLimit) is left for History. Reslicing keeps this O(1) per
// message; the array is let go of when append next grows it.
func (s *store) letGoLocked(cs *convState) {
	n, hole := 0, false
	for s.keep > 0 && len(cs.msgs)-n > s.keep &&
		(cs.msgs[n+1].Seq == cs.msgs[n].Seq+1 || len(cs.msgs)-n > 2*s.keep) {
		hole = hole || cs.msgs[n+1].Seq != cs.msgs[n].Seq+1
		delete(cs.edits, cs.msgs[n].Seq)
		delete(cs.reactions, cs.msgs[n].Seq)
		n++
	}
	if n == 0 {
		return
	}
	cs.forgotThrough = cs.msgs[n-1].Seq
	clear(cs.msgs[:n])
	cs.msgs = cs.msgs[n:]
	if hole { // rare: what was kept for the hole's seqs goes too
		maps.DeleteFunc(cs.edits, func(seq uint64, _ Message) bool { return seq <= cs.forgotThrough })
		maps.DeleteFunc(cs.reactions, func(seq uint64, _ map[string]reactionMark) bool { return seq <= cs.forgotThrough })
	}
}

// replaceFromLocked takes m in place of the held messages from msgs[i]
// on: the server holds another message at m's seq, so its log was
// restored from a backup older than what is held here (or what was read
// was a fenced writer's row, never acked), and what is held from that seq
// on is of the lost log. The summary and cursors held above it go with
// it; m itself is counted by the caller as any new message.
func (s *store) replaceFromLocked(cs *convState, i int, m Message) {
	clear(cs.msgs[i:])
	cs.msgs = append(cs.msgs[:i], m)
	below := m.Seq - 1
	cs.info.LastSeq = m.Seq
	cs.info.ReadSeq = min(cs.info.ReadSeq, below)
	cs.info.PeerReadSeq = min(cs.info.PeerReadSeq, below)
	cs.info.DeliveredSeq = min(cs.info.DeliveredSeq, below)
	cs.countedThrough = min(cs.countedThrough, below)
	cs.info.Unread, cs.info.UnreadMentions, cs.info.LastMessage = 0, 0, nil
	for k, e := range cs.edits {
		if e.Seq > below { // an edit of the lost log
			delete(cs.edits, k)
		}
	}
	for k, marks := range cs.reactions {
		for user, r := range marks {
			if r.seq > below { // a reaction of the lost log
				delete(marks, user)
			}
		}
		if len(marks) == 0 {
			delete(cs.reactions, k)
		}
	}
	for j := range cs.msgs {
		h := &cs.msgs[j]
		if j < i {
			s.countLocked(cs, h)
		}
		if h.Kind == wirepb.MessageKind_NORMAL && !h.IsEdit() {
			c := *h
			cs.info.LastMessage = &c
		}
	}
	if !m.ServerTime.IsZero() {
		cs.info.LastActivity = m.ServerTime
	}
}

// addMessages merges messages from a push, a history page or a send
// answer. It returns those that were new (and recalled ones that changed),
// and the pending sends they completed.
func (s *store) addMessages(ms []*wirepb.Message, live bool) (added []Message, done []*outgoing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, wm := range ms {
		if wm == nil || wm.Seq == 0 || wm.Conv == "" {
			continue
		}
		m := fromWire(wm)
		cs := s.convLocked(m.Conv)
		if m.Recalled {
			m.Body = nil
		}
		if !s.insertLocked(cs, m) {
			continue
		}
		switch {
		case m.IsEdit():
			if m.Recalled {
				break // recalled with the message it edited
			}
			if e, ok := s.applyEditLocked(cs, m); ok {
				added = append(added, s.viewLocked(cs, e))
			}
		case !m.Recalled:
			if e, ok := cs.edits[m.Seq]; ok {
				i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= m.Seq })
				cs.msgs[i].Body, cs.msgs[i].EditSeq = e.Body, e.Seq
				m = cs.msgs[i]
			}
			if mv, ok := cs.moves[m.Seq]; ok { // moves that came before their message
				i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= m.Seq })
				cs.msgs[i].Location = mv.Location
				m = cs.msgs[i]
			}
		}
		if m.Kind == wirepb.MessageKind_REACTION {
			if t, ok := s.applyReactionLocked(cs, m); ok {
				added = append(added, s.viewLocked(cs, t))
			}
		}
		if m.Kind == wirepb.MessageKind_VOTE || m.Kind == wirepb.MessageKind_POLL && m.RefSeq != 0 {
			if t, ok := s.applyVoteLocked(cs, m); ok {
				added = append(added, s.viewLocked(cs, t))
			}
		}
		if m.Kind == wirepb.MessageKind_RECALL {
			i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= m.RefSeq })
			if i < len(cs.msgs) && cs.msgs[i].Seq == m.RefSeq && !cs.msgs[i].Recalled {
				cs.msgs[i].Recalled, cs.msgs[i].Body, cs.msgs[i].Location, cs.msgs[i].Meta = true, nil, nil, nil
				added = append(added, s.viewLocked(cs, cs.msgs[i]))
			}
			if lm := cs.info.LastMessage; lm != nil && lm.Seq == m.RefSeq {
				c := *lm
				c.Recalled, c.Body, c.Location, c.Meta = true, nil, nil, nil
				cs.info.LastMessage = &c
			}
		}
		if m.Sender == s.me && m.ClientMsgID != "" {
			for i, o := range cs.pending {
				if o.msg.ClientMsgID == m.ClientMsgID {
					cs.pending = append(cs.pending[:i], cs.pending[i+1:]...)
					done = append(done, o)
					break
				}
			}
		}
		if m.Seq > cs.info.LastSeq {
			cs.info.LastSeq = m.Seq
			if m.Kind == wirepb.MessageKind_NORMAL && !m.IsEdit() || m.Kind == wirepb.MessageKind_POLL && m.RefSeq == 0 {
				c := m
				cs.info.LastMessage = &c
			}
			if !m.ServerTime.IsZero() && m.Kind != wirepb.MessageKind_REACTION && m.Kind != wirepb.MessageKind_VOTE { // as the server counts activity
				cs.info.LastActivity = m.ServerTime
			}
		}
		uncounted := live
		if cs.summarized {
			uncounted = m.Seq > cs.countedThrough
		}
		if uncounted {
			s.countLocked(cs, &m)
		}
		added = append(added, s.viewLocked(cs, m))
	}
	return added, done
}

// unreadLocked: m counts as unread for this user (news from someone else,
// above the read cursor).
func (s *store) unreadLocked(cs *convState, m *Message) bool {
	return m.IsNews() && m.Sender != s.me && m.Seq > cs.info.ReadSeq
}

// countLocked adds m to the unread counts if it is unread: to the
// mentions too when it mentions this user.
func (s *store) countLocked(cs *convState, m *Message) {
	if !s.unreadLocked(cs, m) {
		return
	}
	cs.info.Unread++
	if !cs.info.MutedAt(time.Now()) {
		cs.info.Archived, cs.info.ArchivedUntil = false, time.Time{} // as the server does: news brings it back
	}
	if slices.Contains(m.Mentions, s.me) {
		cs.info.UnreadMentions++
	}
}

// applyEditLocked records edit e and applies it to the message it edits
// when held and not newer-edited; it returns that message as changed.
func (s *store) applyEditLocked(cs *convState, e Message) (Message, bool) {
	if e.Location != nil && len(e.Body) == 0 {
		return s.applyMoveLocked(cs, e)
	}
	if old, ok := cs.edits[e.RefSeq]; ok && old.Seq > e.Seq {
		return Message{}, false
	}
	if e.RefSeq > cs.forgotThrough { // a message let go is not held again
		if cs.edits == nil {
			cs.edits = map[uint64]Message{}
		}
		cs.edits[e.RefSeq] = e
	}
	if lm := cs.info.LastMessage; lm != nil && lm.Seq == e.RefSeq && !lm.Recalled {
		c := *lm
		c.Body, c.EditSeq = e.Body, e.Seq
		cs.info.LastMessage = &c
	}
	i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= e.RefSeq })
	if i == len(cs.msgs) || cs.msgs[i].Seq != e.RefSeq || cs.msgs[i].Recalled {
		return Message{}, false
	}
	cs.msgs[i].Body, cs.msgs[i].EditSeq = e.Body, e.Seq
	return cs.msgs[i], true
}

// applyMoveLocked records a live location's move (its newest wins) and
// shows its place on the message, when held, and on the last message.
func (s *store) applyMoveLocked(cs *convState, mv Message) (Message, bool) {
	if old, ok := cs.moves[mv.RefSeq]; ok && old.Seq > mv.Seq {
		return Message{}, false
	}
	if mv.RefSeq > cs.forgotThrough {
		if cs.moves == nil {
			cs.moves = map[uint64]Message{}
		}
		cs.moves[mv.RefSeq] = mv
	}
	if lm := cs.info.LastMessage; lm != nil && lm.Seq == mv.RefSeq && !lm.Recalled {
		c := *lm
		c.Location = mv.Location
		cs.info.LastMessage = &c
	}
	i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= mv.RefSeq })
	if i == len(cs.msgs) || cs.msgs[i].Seq != mv.RefSeq || cs.msgs[i].Recalled {
		return Message{}, false
	}
	cs.msgs[i].Location = mv.Location
	return cs.msgs[i], true
}

// applySummary takes a conversation summary from a sync or a list; it
// returns the range of messages the client should fetch to have no gap
// (from > to: none), and the summary's last message when it is news in a
// conversation the client holds messages of (the fetch of the range then
// finds it already stored, so only the caller can report it).
func (s *store) applySummary(w *wirepb.ConvSummary) (from, to uint64, news []Message) {
	s.mu.Lock()
	cs := s.convLocked(w.Conv)
	known := len(cs.msgs) > 0
	var localLast uint64
	if known {
		localLast = cs.msgs[len(cs.msgs)-1].Seq
	}
	cs.info.Kind, cs.info.Pinned, cs.info.Muted, cs.info.Archived, cs.info.Member = w.Kind, w.Pinned, w.Muted, w.Archived, w.Member
	cs.info.MarkedUnread, cs.info.MutedUntil, cs.info.Labels = w.MarkedUnread, millisTime(w.MutedUntilMs), slices.Clone(w.Labels)
	cs.info.ArchivedUntil = millisTime(w.ArchivedUntilMs)
	if w.LastSeq >= cs.titleSeq {
		cs.info.Title, cs.info.PictureID, cs.info.Frozen, cs.info.Meta, cs.titleSeq = w.Title, w.PictureId, frozenOf(w.Frozen), w.Meta, w.LastSeq
	}
	s.clearLocked(cs, w.ClearedSeq)
	s.hideLocked(cs, w.HiddenSeqs)
	cs.info.LastSeq = max(cs.info.LastSeq, w.LastSeq)
	cs.info.ReadSeq = max(cs.info.ReadSeq, w.ReadSeq)
	cs.info.PeerReadSeq = max(cs.info.PeerReadSeq, w.PeerReadSeq)
	// A summary older than the count held (the server computed it before a
	// message this client already has) leaves the count alone; a newer one
	// replaces it, plus the held news it did not cover yet.
	if !cs.summarized || w.LastSeq >= cs.countedThrough {
		cs.info.Unread, cs.info.UnreadMentions = w.Unread, w.UnreadMentions
		for i := len(cs.msgs) - 1; i >= 0 && cs.msgs[i].Seq > w.LastSeq; i-- {
			s.countLocked(cs, &cs.msgs[i])
		}
		cs.countedThrough, cs.summarized = w.LastSeq, true
	}
	if w.LastActivityMs > 0 {
		cs.info.LastActivity = time.UnixMilli(w.LastActivityMs)
	}
	if lm := w.LastMessage; lm != nil && (cs.info.LastMessage == nil || lm.Seq >= cs.info.LastMessage.Seq) {
		// The server's last message (it knows which kinds are one); the
		// merge below does not set it, the summary's LastSeq being taken.
		c := fromWire(lm)
		if c.Recalled {
			c.Body = nil
		}
		cs.info.LastMessage = &c
	}
	s.mu.Unlock()
	if w.LastMessage != nil {
		news, _ = s.addMessages([]*wirepb.Message{w.LastMessage}, false)
	}
	if !known {
		return 1, 0, nil // never opened: its history is fetched when asked for
	}
	return localLast + 1, w.LastSeq, news
}

// gap returns the first missing range above the oldest message held, or
// from > to when the list is contiguous up to the last known seq.
func (s *store) gap(conv string) (from, to uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convs[conv]
	if cs == nil || len(cs.msgs) == 0 {
		return 1, 0
	}
	// The seqs ascend without repeats, so msgs[i].Seq-msgs[0].Seq is i
	// up to the first gap and above i from there on: a binary search finds
	// it (this runs for every push).
	first := cs.msgs[0].Seq
	if i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq-first != uint64(i) }); i < len(cs.msgs) {
		return cs.msgs[i-1].Seq + 1, cs.msgs[i].Seq - 1
	}
	last := cs.msgs[len(cs.msgs)-1].Seq
	return last + 1, cs.info.LastSeq
}

// startFetch marks a gap fetch running for conv; false if one already is.
func (s *store) startFetch(conv string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(conv)
	if cs.fetching {
		return false
	}
	cs.fetching = true
	return true
}

func (s *store) endFetch(conv string) {
	s.mu.Lock()
	s.convLocked(conv).fetching = false
	s.mu.Unlock()
}

func (s *store) readUpdate(conv string, readSeq, unread, mentions uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(conv)
	if readSeq >= cs.info.ReadSeq {
		cs.info.ReadSeq, cs.info.Unread, cs.info.UnreadMentions = readSeq, unread, mentions
	}
}

// markedRead applies this device's own read: unread is counted from the
// messages held when they cover everything after the read cursor.
func (s *store) markedRead(conv string, readSeq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(conv)
	cs.info.MarkedUnread = false // any read clears the mark, as on the server
	if readSeq < cs.info.ReadSeq {
		return
	}
	cs.info.ReadSeq = readSeq
	if readSeq >= cs.info.LastSeq {
		cs.info.Unread, cs.info.UnreadMentions = 0, 0
		cs.countedThrough, cs.summarized = max(cs.countedThrough, readSeq), true
		return
	}
	var n, mentions uint64
	next := readSeq + 1
	above := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq > readSeq })
	for _, m := range cs.msgs[above:] {
		if m.Seq != next {
			return // a gap: keep the server's count until the next sync
		}
		next++
		if s.unreadLocked(cs, &m) {
			n++
			if slices.Contains(m.Mentions, s.me) {
				mentions++
			}
		}
	}
	if next > cs.info.LastSeq {
		cs.info.Unread, cs.info.UnreadMentions = n, mentions
		cs.countedThrough, cs.summarized = max(cs.countedThrough, cs.info.LastSeq), true
	}
}

// receipt and delivered move the watermarks own messages' states come
// from; they return the own messages whose state changed.
func (s *store) receipt(conv string, seq uint64) []Message {
	return s.moveMark(conv, seq, func(c *Conversation) *uint64 { return &c.PeerReadSeq })
}

func (s *store) delivered(conv string, seq uint64) []Message {
	return s.moveMark(conv, seq, func(c *Conversation) *uint64 { return &c.DeliveredSeq })
}

func (s *store) moveMark(conv string, seq uint64, field func(*Conversation) *uint64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(conv)
	mark := field(&cs.info)
	if seq <= *mark {
		return nil
	}
	// Only the user's own messages in (mark, seq] can change state, and
	// cs.msgs is in seq order: search for them instead of scanning the
	// whole conversation, which made a receipt per message quadratic in
	// the conversation's length.
	lo := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq > *mark })
	hi := lo + sort.Search(len(cs.msgs)-lo, func(i int) bool { return cs.msgs[lo+i].Seq > seq })
	var before []State
	for i := lo; i < hi; i++ {
		if m := &cs.msgs[i]; m.Sender == s.me {
			before = append(before, s.stateLocked(cs, m))
		}
	}
	*mark = seq
	var changed []Message
	j := 0
	for i := lo; i < hi; i++ {
		if m := &cs.msgs[i]; m.Sender == s.me {
			if before[j] != s.stateLocked(cs, m) {
				changed = append(changed, s.viewLocked(cs, *m))
			}
			j++
		}
	}
	return changed
}

// membership applies a membership push; it returns the seqs this user
// shows again (unhidden on another device), for the caller to fetch.
func (s *store) membership(u *wirepb.MembershipUpdate) (shown []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(u.Conv)
	cs.info.Kind = u.Kind
	if u.LastSeq >= cs.titleSeq {
		cs.info.Title, cs.info.PictureID, cs.info.Frozen, cs.info.Meta, cs.titleSeq = u.Title, u.PictureId, frozenOf(u.Frozen), u.Meta, u.LastSeq
	}
	cs.info.Member = u.GetMember().GetLeftSeq() == 0
	cs.info.LastSeq = max(cs.info.LastSeq, u.LastSeq)
	s.clearLocked(cs, u.ClearedSeq)
	return s.hideLocked(cs, u.HiddenSeqs)
}

// hidden is hideLocked for one conversation.
func (s *store) hidden(conv string, seqs []uint64) (shown []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hideLocked(s.convLocked(conv), seqs)
}

// hideLocked takes hidden as the user's whole set of messages deleted for
// themself (Hide, on any of their devices): it lets go of those held, and
// returns the seqs of the set before that are not in it any more (shown
// again, to fetch).
func (s *store) hideLocked(cs *convState, hidden []uint64) (shown []uint64) {
	for _, seq := range cs.info.HiddenSeqs {
		if !slices.Contains(hidden, seq) && seq > cs.info.ClearedSeq { // a clear takes its seqs out of the set
			shown = append(shown, seq)
		}
	}
	cs.info.HiddenSeqs = slices.Clone(hidden)
	if len(hidden) == 0 {
		cs.info.HiddenSeqs = nil
		return shown
	}
	// The edits and reactions held for them stay, for an unhide.
	cs.msgs = slices.DeleteFunc(cs.msgs, func(m Message) bool { return slices.Contains(hidden, m.Seq) })
	if lm := cs.info.LastMessage; lm != nil && slices.Contains(hidden, lm.Seq) {
		cs.info.LastMessage = nil
	}
	return shown
}

// cleared is clearLocked for one conversation.
func (s *store) cleared(conv string, through uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked(s.convLocked(conv), through)
}

// clearLocked lets go of the messages up to through: this user cleared
// the conversation (ClearHistory, on any of their devices), and the
// server no longer gives them those.
func (s *store) clearLocked(cs *convState, through uint64) {
	if through <= cs.info.ClearedSeq {
		return
	}
	cs.info.ClearedSeq = through
	n := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq > through })
	clear(cs.msgs[:n])
	cs.msgs = cs.msgs[n:]
	cs.forgotThrough = max(cs.forgotThrough, through)
	below := func(seq uint64) bool { return seq <= through }
	maps.DeleteFunc(cs.edits, func(seq uint64, _ Message) bool { return below(seq) })
	maps.DeleteFunc(cs.moves, func(seq uint64, _ Message) bool { return below(seq) })
	maps.DeleteFunc(cs.reactions, func(seq uint64, _ map[string]reactionMark) bool { return below(seq) })
	maps.DeleteFunc(cs.votes, func(seq uint64, _ map[string]voteMark) bool { return below(seq) })
	maps.DeleteFunc(cs.closed, func(seq uint64, _ bool) bool { return below(seq) })
	maps.DeleteFunc(cs.aliases, func(seq uint64, _ string) bool { return below(seq) })
	if lm := cs.info.LastMessage; lm != nil && lm.Seq <= through {
		cs.info.LastMessage = nil
	}
}

// addPending shows a send at once, at the end of its conversation.
func (s *store) addPending(o *outgoing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(o.msg.Conv)
	cs.pending = append(cs.pending, o)
}

// confirm replaces a pending send with the server's message.
func (s *store) confirm(o *outgoing, r *wirepb.SendResult) Message {
	m := o.msg
	m.Conv, m.Seq, m.MsgID, m.ServerTime, m.Flagged, m.ExpiresAt = r.Conv, r.Seq, r.MsgId, millisTime(r.ServerTsMs), r.Flagged, millisTime(r.ExpiresAtMs)
	if len(r.StoredBody) > 0 {
		m.Body = r.StoredBody // masked contact details, a forward's text: what the others see
	}
	if r.Media != nil {
		m.Media = r.Media // a forward's file, as copied
	}
	if r.Location != nil {
		m.Location = r.Location // a forward's location, as copied
	}
	s.mu.Lock()
	if cs := s.convs[o.msg.Conv]; cs != nil {
		for i, p := range cs.pending {
			if p == o {
				cs.pending = append(cs.pending[:i], cs.pending[i+1:]...)
				break
			}
		}
	}
	if r.VoterAlias != "" {
		// An anonymous poll's vote: held, like its push, as the alias's.
		m.Sender = r.VoterAlias
		cs := s.convLocked(m.Conv)
		if cs.aliases == nil {
			cs.aliases = map[uint64]string{}
		}
		cs.aliases[m.RefSeq] = r.VoterAlias
	}
	s.mu.Unlock()
	// The stored message is the send as it went out: its kind and what it
	// names (an edit's or a card update's message, a reaction's, a reply,
	// mentions), so that it is folded as its push will be.
	wm := &wirepb.Message{Conv: m.Conv, Seq: m.Seq, MsgId: m.MsgID, ClientMsgId: m.ClientMsgID, Sender: m.Sender,
		Kind: m.Kind, RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Mentions: m.Mentions, MentionAll: m.MentionAll, Media: m.Media, Location: m.Location, Meta: m.Meta,
		Body: m.Body, Flagged: m.Flagged, Forwarded: m.Forwarded, ClientTsMs: m.ClientTime.UnixMilli(), ServerTsMs: r.ServerTsMs, ExpiresAtMs: r.ExpiresAtMs}
	s.addMessages([]*wirepb.Message{wm}, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convLocked(m.Conv)
	if m.IsNews() {
		// Sending news implies having read up to it (the server does the
		// same; an edit, a card's update or a reaction reads nothing).
		cs.info.ReadSeq = max(cs.info.ReadSeq, m.Seq)
		cs.info.MarkedUnread = false
	}
	v := s.viewLocked(cs, m)
	v.Duplicate = r.Duplicate
	return v
}

// fail marks a pending send failed; it stays in the list, with its reason.
func (s *store) fail(o *outgoing, err error) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.msg.State, o.msg.Err = StateFailed, err
	return o.msg
}

// message returns the message at seq of conv as held (its newest edit's
// text), if it is.
func (s *store) message(conv string, seq uint64) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convs[conv]
	if cs == nil {
		return Message{}, false
	}
	i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= seq })
	if i == len(cs.msgs) || cs.msgs[i].Seq != seq {
		return Message{}, false
	}
	return s.viewLocked(cs, cs.msgs[i]), true
}

// messages returns a conversation's messages by seq, then the pending ones.
func (s *store) messages(conv string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convs[conv]
	if cs == nil {
		return nil
	}
	out := make([]Message, 0, len(cs.msgs)+len(cs.pending))
	for _, m := range cs.msgs {
		out = append(out, s.viewLocked(cs, m))
	}
	for _, o := range cs.pending {
		out = append(out, o.msg)
	}
	return out
}

func (s *store) conversation(conv string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.convs[conv]
	if cs == nil {
		return Conversation{}, false
	}
	return cs.info, true
}

// setFlags takes the user's own flags of a conversation as a push says
// them (a change on any device).
func (s *store) setFlags(f *wirepb.FlagsUpdate) {
	s.setOwnFlag(f.Conv, func(info *Conversation) {
		info.Pinned, info.Muted, info.Archived, info.MarkedUnread = f.Pinned, f.Muted, f.Archived, f.MarkedUnread
		info.MutedUntil = millisTime(f.MutedUntilMs)
		info.Labels = slices.Clone(f.Labels)
		info.ArchivedUntil = millisTime(f.ArchivedUntilMs)
	})
}

// ArchivedAt reports whether the conversation is in this user's archived
// list at t: archived, and a snooze (if any) not ended. Past a snooze's
// end it is in the main list and counts as marked unread (MarkedUnread
// says so once the node is asked again).
func (c Conversation) ArchivedAt(t time.Time) bool {
	return c.Archived && (c.ArchivedUntil.IsZero() || t.Before(c.ArchivedUntil))
}

// MutedAt reports whether this user's mute of the conversation holds at
// t: muted, and its end (if any) not reached. A client showing a mute
// for a while sets a timer to MutedUntil; the node sends nothing then.
func (c Conversation) MutedAt(t time.Time) bool {
	return c.Muted && (c.MutedUntil.IsZero() || t.Before(c.MutedUntil))
}

// setOwnFlag records one of the user's own flags of conv as the server
// took it (set changes it), before the flags push confirms it.
func (s *store) setOwnFlag(conv string, set func(*Conversation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set(&s.convLocked(conv).info)
}

// conversations lists the summaries: pinned first, then by last activity.
func (s *store) conversations() []Conversation {
	s.mu.Lock()
	out := make([]Conversation, 0, len(s.convs))
	for _, cs := range s.convs {
		out = append(out, cs.info)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pinned != b.Pinned {
			return a.Pinned
		}
		if !a.LastActivity.Equal(b.LastActivity) {
			return a.LastActivity.After(b.LastActivity)
		}
		return a.ID < b.ID
	})
	return out
}
