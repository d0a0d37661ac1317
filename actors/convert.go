package actors

import (
	"bytes"
	"encoding/json"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

func toPBMessage(m *storage.Message) *pb.Message {
	return &pb.Message{
		Conv:        m.ConvID,
		Seq:         m.Seq,
		MsgId:       m.MsgID,
		ClientMsgId: m.ClientMsgID,
		Sender:      m.Sender,
		Kind:        pb.MessageKind(m.Kind),
		RefSeq:      m.RefSeq,
		ReplyTo:     m.ReplyTo,
		Mentions:    m.Mentions,
		Body:        m.Body,
		Recalled:    m.Recalled(),
		Flagged:     m.Flags&storage.FlagFlagged != 0,
		Forwarded:   m.Flags&storage.FlagForwarded != 0,
		ForwardHops: storage.ForwardHops(m.Flags),
		AutoReply:   m.Flags&storage.FlagAutoReply != 0,
		ClientTsMs:  millis(m.ClientTS),
		ServerTsMs:  millis(m.ServerTS),
		ExpiresAtMs: millis(m.ExpiresAt),
		SenderRole:  senderRoleToPB(m.SenderRole),
		Media:       mediaRefToPB(m.Media),
		Location:    locationToPB(m.Location),
		Meta:        m.Meta,
	}
}

// mediaRefToPB is a message's attachment, nil for none.
func mediaRefToPB(r storage.MediaRef) *pb.MediaRef {
	if r.ID == "" {
		return nil
	}
	return &pb.MediaRef{Id: r.ID, Name: r.Name, Mime: r.MIME, Size: r.Size, Width: r.Preview.Width, Height: r.Preview.Height, Thumb: r.Preview.Thumb,
		DurationMs: r.Preview.DurationMs}
}

func mediaRefFromPB(r *pb.MediaRef) storage.MediaRef {
	return storage.MediaRef{ID: r.Id, Name: r.Name, MIME: r.Mime, Size: r.Size,
		Preview: storage.Preview{Width: r.Width, Height: r.Height, Thumb: r.Thumb, DurationMs: r.DurationMs}}
}

func senderRoleToPB(r storage.SenderRole) pb.Role {
	switch r {
	case storage.SenderCustomer:
		return pb.Role_CUSTOMER
	case storage.SenderAgent:
		return pb.Role_AGENT
	}
	return pb.Role_MEMBER
}

// senderRole is the metrics role of a member's messages.
func senderRole(r storage.Role) storage.SenderRole {
	switch r {
	case storage.RoleCustomer:
		return storage.SenderCustomer
	case storage.RoleAgent:
		return storage.SenderAgent
	}
	return storage.SenderUnspecified
}

// toPBMember is the member as it stands now: a timed mute that ended is
// no mute.
func toPBMember(m storage.Member) *pb.Member {
	out := &pb.Member{User: m.UserID, Role: pb.Role(m.Role), JoinedSeq: m.JoinedSeq, LeftSeq: m.LeftSeq, ClearedSeq: m.ClearedSeq, Hidden: m.Hidden}
	if m.Muted && m.MutedAt(time.Now()) { // the clock read only for a muted member
		out.Muted, out.MutedUntilMs = true, millis(m.MutedUntil)
	}
	return out
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func convKindToPB(k storage.ConvKind) pb.ConvKind { return pb.ConvKind(k) }

// isNews is the one rule of what a message is to the members other than
// its sender: a text, a new card or a new poll, not recalled, or the
// record of a call nobody answered (its sender is the caller: the callee
// missed it). It counts towards their unread and brings an archived
// conversation back; sending it implies the sender has read up to it. An
// edit, a card's update, a reaction, a vote, a poll's close, a recall
// event or any other system note is not news. The SDKs mirror it.
func isNews(kind storage.MessageKind, refSeq uint64, recalled bool, body []byte) bool {
	return kind.Content() && refSeq == 0 && !recalled || kind == storage.MsgSystem && unansweredCall(body) != nil
}

// countsAsUnread: m counts towards user's unread (isNews, from someone else).
func countsAsUnread(m *storage.Message, user string) bool {
	return isNews(m.Kind, m.RefSeq, m.Recalled(), m.Body) && m.Sender != user
}

// pbIsNews is isNews of a message as the grains pass it.
func pbIsNews(m *pb.Message) bool {
	return isNews(storage.MessageKind(m.Kind), m.RefSeq, m.Recalled, m.Body)
}

// callRecord is the body of a system message recording a call's end
// (conversation.endCall).
type callRecord struct {
	Op, Callee, Outcome string
	Video               bool
}

// unansweredCall is the record in a system message's body of a call
// nobody answered (missed, or cancelled while it rang); nil for any other
// body. The substring test keeps other system notes from being parsed.
func unansweredCall(body []byte) *callRecord {
	if !bytes.Contains(body, []byte(`"op":"call"`)) {
		return nil
	}
	var rec callRecord
	if json.Unmarshal(body, &rec) != nil || rec.Op != "call" || rec.Outcome != callMissed && rec.Outcome != callCancelled {
		return nil
	}
	return &rec
}
