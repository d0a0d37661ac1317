package export

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/switchboard-im/switchboard/storage"
)

// Topic names (OPERATIONS.md documents the records).
const (
	TopicMessages = "switchboard.messages"
	TopicEvents   = "switchboard.events"
	TopicMetrics  = "switchboard.metrics"
)

// MessageRecord is one durable message on TopicMessages, keyed by conv.
// Text carries a body that is valid UTF-8, Body (base64 in JSON) any other.
type MessageRecord struct {
	EventID    string   `json:"event_id"`
	Conv       string   `json:"conv"`
	Seq        uint64   `json:"seq"`
	MsgID      string   `json:"msg_id"`
	From       string   `json:"from"`
	Kind       string   `json:"kind"`
	Text       string   `json:"text,omitempty"`
	Body       []byte   `json:"body,omitempty"`
	ServerTsMs int64    `json:"server_ts_ms"`
	ClientTsMs int64    `json:"client_ts_ms"`
	ReplyTo    uint64   `json:"reply_to,omitempty"`    // the seq this message answers
	Mentions   []string `json:"mentions,omitempty"`    // members the message mentions
	MentionAll bool     `json:"mention_all,omitempty"` // it mentions every member but its sender ("@all")
	// Media describes the attached file (its bytes stay in the node: a
	// member's client downloads them).
	Media *MediaRecord `json:"media,omitempty"`
	// Forwarded: a copy of another message its sender forwarded;
	// ForwardHops: how many forwards from its original (1: a copy of it).
	Forwarded   bool   `json:"forwarded,omitempty"`
	ForwardHops uint32 `json:"forward_hops,omitempty"`
	// AutoReply: the node posted it for its sender, who is away (an away
	// message): not an answer of theirs, for response-time counts.
	AutoReply bool `json:"auto_reply,omitempty"`
	// ExpiresAtMs: a disappearing message, which its members stop seeing
	// then: a copy kept downstream should be dropped then too.
	ExpiresAtMs int64 `json:"expires_at_ms,omitempty"`
	// Location: a place the message shares (Text is its caption).
	Location *LocationRecord `json:"location,omitempty"`
	// Meta: the app's own data about the message, as its sender gave it.
	Meta map[string]string `json:"meta,omitempty"`
}

// LocationRecord is a shared place: WGS 84 degrees and its name.
type LocationRecord struct {
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Name string  `json:"name,omitempty"`
	// LiveUntilMs: a live share's end (its moves are records with ref_seq).
	LiveUntilMs int64 `json:"live_until_ms,omitempty"`
}

// MediaRecord describes a message's attached file.
type MediaRecord struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	// A picture's size in pixels, when its sender gave it (its preview
	// image is not exported).
	Width  uint32 `json:"width,omitempty"`
	Height uint32 `json:"height,omitempty"`
	// How long it plays (a voice note, a video), when its sender gave it.
	DurationMs uint32 `json:"duration_ms,omitempty"`
}

// EventRecord is one conversation event on TopicEvents, keyed by conv:
// a recall (TargetSeq is the recalled message) or a membership change
// (Detail is the system message's JSON: op, actor, users, role).
type EventRecord struct {
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	Conv       string          `json:"conv"`
	Seq        uint64          `json:"seq"`
	Actor      string          `json:"actor,omitempty"`
	TargetSeq  uint64          `json:"target_seq,omitempty"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	ServerTsMs int64           `json:"server_ts_ms"`
}

// MessageEventID is the stable id of a message record: the same on every
// re-export (after a crash, a Kafka outage or a replay), so consumers dedupe
// on it.
func MessageEventID(conv string, seq uint64) string {
	return "msg/" + conv + "/" + strconv.FormatUint(seq, 10)
}

// NewMessageRecord converts a stored message.
func NewMessageRecord(m storage.Message) MessageRecord {
	r := MessageRecord{
		EventID: MessageEventID(m.ConvID, m.Seq), Conv: m.ConvID, Seq: m.Seq,
		MsgID: strconv.FormatUint(m.MsgID, 10), From: m.Sender, Kind: m.Kind.String(),
		ServerTsMs: millis(m.ServerTS), ClientTsMs: millis(m.ClientTS), ReplyTo: m.ReplyTo, Mentions: m.Mentions,
		Forwarded: m.Flags&storage.FlagForwarded != 0, ForwardHops: storage.ForwardHops(m.Flags), AutoReply: m.Flags&storage.FlagAutoReply != 0, ExpiresAtMs: millis(m.ExpiresAt),
	}
	if len(m.Mentions) == 1 && m.Mentions[0] == storage.MentionAll {
		r.Mentions, r.MentionAll = nil, true
	}
	r.Meta = m.Meta
	if l := m.Location; l != nil {
		r.Location = &LocationRecord{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: millis(l.LiveUntil)}
	}
	if f := m.Media; f.ID != "" {
		r.Media = &MediaRecord{ID: f.ID, Name: f.Name, Type: f.MIME, Size: f.Size, Width: f.Preview.Width, Height: f.Preview.Height, DurationMs: f.Preview.DurationMs}
	}
	if utf8.Valid(m.Body) {
		r.Text = string(m.Body)
	} else {
		r.Body = m.Body
	}
	return r
}

// eventFor returns the TopicEvents record a stored message implies, if any.
func eventFor(m storage.Message) (EventRecord, bool) {
	base := EventRecord{Conv: m.ConvID, Seq: m.Seq, Actor: m.Sender, ServerTsMs: millis(m.ServerTS)}
	switch m.Kind {
	case storage.MsgRecall:
		base.Type, base.TargetSeq = "recall", m.RefSeq
	case storage.MsgReaction:
		// The message record carries the reaction (empty: taken back).
		base.Type, base.TargetSeq = "reaction", m.RefSeq
	case storage.MsgVote:
		// The message record carries the choice (empty: taken back).
		base.Type, base.TargetSeq = "vote", m.RefSeq
	case storage.MsgPoll:
		if !m.PollClose() {
			return EventRecord{}, false
		}
		base.Type, base.TargetSeq = "poll_close", m.RefSeq
	case storage.MsgNormal:
		if !m.Edit() {
			return EventRecord{}, false
		}
		// The edit's message record carries the new text; the event says
		// which message it replaces.
		base.Type, base.TargetSeq = "edit", m.RefSeq
	case storage.MsgSystem:
		if m.Gap() {
			return EventRecord{}, false // a seq that holds no message: nothing happened
		}
		base.Type = "membership"
		if json.Valid(m.Body) {
			base.Detail = json.RawMessage(m.Body)
		}
	default:
		return EventRecord{}, false
	}
	base.EventID = fmt.Sprintf("%s/%s/%d", base.Type, m.ConvID, m.Seq)
	return base, true
}
