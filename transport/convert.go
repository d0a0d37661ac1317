package transport

import (
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The wire messages mirror the grains' messages field by field today;
// converting keeps the client contract free to stay put when they change.

func wireMessage(m *pb.Message) *wirepb.Message {
	if m == nil {
		return nil
	}
	mentioned, all := wireMentions(m.Mentions)
	return &wirepb.Message{
		Conv: m.Conv, Seq: m.Seq, MsgId: m.MsgId, ClientMsgId: m.ClientMsgId, Sender: m.Sender,
		Kind: wirepb.MessageKind(m.Kind), RefSeq: m.RefSeq, Body: m.Body, Recalled: m.Recalled, Flagged: m.Flagged,
		ClientTsMs: m.ClientTsMs, ServerTsMs: m.ServerTsMs, SenderRole: wirepb.Role(m.SenderRole), ReplyTo: m.ReplyTo,
		Mentions: mentioned, MentionAll: all, Media: wireMedia(m.Media), Expired: m.Expired, Forwarded: m.Forwarded, AutoReply: m.AutoReply, ExpiresAtMs: m.ExpiresAtMs, ForwardHops: m.ForwardHops,
		Location: wireLocation(m.Location), Meta: m.Meta,
	}
}

// wireLocation is a message's location on the wire, nil for none.
func wireLocation(l *pb.Location) *wirepb.Location {
	if l == nil {
		return nil
	}
	return &wirepb.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: l.LiveUntilMs}
}

// nodeLocation is a send's location as the node takes it, nil for none.
func nodeLocation(l *wirepb.Location) *pb.Location {
	if l == nil {
		return nil
	}
	return &pb.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: l.LiveUntilMs}
}

// wireMentions splits the node's mentions into the wire's: the users
// named, or "@all" (storage.MentionAll) as its own flag.
func wireMentions(ms []string) (users []string, all bool) {
	if len(ms) == 1 && ms[0] == storage.MentionAll {
		return nil, true
	}
	return ms, false
}

// nodeMentions is the other way.
func nodeMentions(users []string, all bool) []string {
	if all {
		return []string{storage.MentionAll}
	}
	return users
}

// wireMedia is a message's attachment (nil: none).
func wireMedia(r *pb.MediaRef) *wirepb.MediaRef {
	if r == nil {
		return nil
	}
	return &wirepb.MediaRef{Id: r.Id, Name: r.Name, Mime: r.Mime, Size: r.Size, Chunks: uint32(storage.MediaRef{Size: r.Size}.Chunks()),
		Width: r.Width, Height: r.Height, Thumb: r.Thumb, DurationMs: r.DurationMs}
}

func wireMessages(ms []*pb.Message) []*wirepb.Message {
	out := make([]*wirepb.Message, len(ms))
	for i, m := range ms {
		out[i] = wireMessage(m)
	}
	return out
}

func wireMember(m *pb.Member) *wirepb.Member {
	if m == nil {
		return nil
	}
	return &wirepb.Member{User: m.User, Role: wirepb.Role(m.Role), JoinedSeq: m.JoinedSeq, LeftSeq: m.LeftSeq, Muted: m.Muted, MutedUntilMs: m.MutedUntilMs}
}

func wireMembers(ms []*pb.Member) []*wirepb.Member {
	out := make([]*wirepb.Member, len(ms))
	for i, m := range ms {
		out[i] = wireMember(m)
	}
	return out
}

func wireSummaries(cs []*pb.ConvSummary) []*wirepb.ConvSummary {
	out := make([]*wirepb.ConvSummary, len(cs))
	for i, c := range cs {
		out[i] = &wirepb.ConvSummary{
			Conv: c.Conv, Kind: wirepb.ConvKind(c.Kind), LastSeq: c.LastSeq, Unread: c.Unread, ReadSeq: c.ReadSeq,
			LastMessage: wireMessage(c.LastMessage), Pinned: c.Pinned, Muted: c.Muted, LastActivityMs: c.LastActivityMs, Member: c.Member,
			PeerReadSeq: c.PeerReadSeq, UnreadMentions: c.UnreadMentions, Archived: c.Archived, MarkedUnread: c.MarkedUnread, Title: c.Title, PictureId: c.PictureId, ClearedSeq: c.ClearedSeq, HiddenSeqs: c.HiddenSeqs, Labels: c.Labels, ArchivedUntilMs: c.ArchivedUntilMs,
			MutedUntilMs: c.MutedUntilMs, Frozen: wireFrozen(c.Frozen), Meta: c.Meta,
		}
	}
	return out
}

// wireFrozen is a conversation's freeze on the wire (nil: open).
func wireFrozen(f *pb.Frozen) *wirepb.Frozen {
	if f == nil {
		return nil
	}
	return &wirepb.Frozen{Reason: f.Reason, By: f.By, AtMs: f.AtMs, UntilMs: f.UntilMs}
}

func wireCall(c *pb.Call) *wirepb.Call {
	if c == nil {
		return nil
	}
	return &wirepb.Call{Id: c.Id, Conv: c.Conv, Caller: c.Caller, CallerDevice: c.CallerDevice, Callee: c.Callee,
		Video: c.Video, StartedMs: c.StartedMs, AnsweredMs: c.AnsweredMs, AnsweredDevice: c.AnsweredDevice}
}

// wireCallEvent is a call's step as a CALL signal carries it.
func wireCallEvent(e *pb.CallEvent) *wirepb.CallEvent {
	if e == nil {
		return nil
	}
	return &wirepb.CallEvent{Kind: wirepb.CallEvent_Kind(e.Kind), Call: wireCall(e.Call), Payload: e.Payload,
		Outcome: e.Outcome, Reason: e.Reason, DurationMs: e.DurationMs, Seq: e.Seq}
}

func wireSync(r *pb.SyncResponse) *wirepb.SyncResult {
	return &wirepb.SyncResult{Cursor: r.Cursor, Conversations: wireSummaries(r.Conversations), More: r.More, TotalUnread: r.TotalUnread}
}

// wirePush converts a grain's push; ok is false for an event the wire
// does not know (a newer grain), which is then skipped.
func wirePush(p *pb.Push) (w *wirepb.Push, conv string, ok bool) {
	w = &wirepb.Push{InboxSeq: p.InboxSeq}
	switch e := p.Event.(type) {
	case *pb.Push_Message:
		w.Event = &wirepb.Push_Message{Message: wireMessage(e.Message)}
		conv = e.Message.GetConv()
	case *pb.Push_Read:
		w.Event = &wirepb.Push_Read{Read: &wirepb.ReadUpdate{Conv: e.Read.Conv, ReadSeq: e.Read.ReadSeq, Unread: e.Read.Unread, UnreadMentions: e.Read.UnreadMentions}}
		conv = e.Read.GetConv()
	case *pb.Push_Membership:
		n := e.Membership
		w.Event = &wirepb.Push_Membership{Membership: &wirepb.MembershipUpdate{Conv: n.Conv, Kind: wirepb.ConvKind(n.Kind), Member: wireMember(n.Member), LastSeq: n.LastSeq, Title: n.Title, PictureId: n.PictureId,
			ClearedSeq: n.Member.GetClearedSeq(), HiddenSeqs: n.Member.GetHidden(), Frozen: wireFrozen(n.Frozen),
			Meta: n.Meta}}
		conv = n.GetConv()
	case *pb.Push_Receipt:
		w.Event = &wirepb.Push_Receipt{Receipt: &wirepb.ReadReceipt{Conv: e.Receipt.Conv, Reader: e.Receipt.Reader, Seq: e.Receipt.Seq}}
		conv = e.Receipt.GetConv()
	case *pb.Push_Flags:
		f := e.Flags
		w.Event = &wirepb.Push_Flags{Flags: &wirepb.FlagsUpdate{Conv: f.Conv, Pinned: f.Pinned, Muted: f.Muted, Archived: f.Archived, MarkedUnread: f.MarkedUnread,
			MutedUntilMs: f.MutedUntilMs, Labels: f.Labels, ArchivedUntilMs: f.ArchivedUntilMs}}
		conv = f.GetConv()
	case *pb.Push_Lists:
		w.Event = &wirepb.Push_Lists{Lists: &wirepb.ListsUpdate{List: wirepb.ListsUpdate_List(e.Lists.List), Conv: e.Lists.Conv, Seq: e.Lists.Seq}}
	default:
		return nil, "", false
	}
	return w, conv, true
}

// sendMessageOf is a wire send as the node takes it (its sender is the
// session's; to stays the transport's argument).
func sendMessageOf(s *wirepb.SendRequest) *pb.SendMessage {
	return &pb.SendMessage{Conv: s.Conv, ClientMsgId: s.ClientMsgId, Body: s.Body, ClientTsMs: s.ClientTsMs, Kind: pb.MessageKind(s.Kind),
		RefSeq: s.RefSeq, ReplyTo: s.ReplyTo, Mentions: nodeMentions(s.Mentions, s.MentionAll), MediaId: s.MediaId, ForwardConv: s.ForwardConv, ForwardSeq: s.ForwardSeq, Topic: s.Topic,
		Location: nodeLocation(s.Location), Meta: s.Meta}
}

// wireScheduled is a scheduled message as a client reads it.
func wireScheduled(sc session.Scheduled) *wirepb.ScheduledSend {
	m := sc.Send
	mentioned, all := wireMentions(m.Mentions)
	return &wirepb.ScheduledSend{Id: sc.ID, AtMs: sc.At.UnixMilli(), CreatedMs: sc.Created.UnixMilli(), Failed: sc.Failed, Send: &wirepb.SendRequest{
		Conv: m.Conv, To: sc.To, ClientMsgId: m.ClientMsgId, Body: m.Body, ClientTsMs: m.ClientTsMs, Kind: wirepb.MessageKind(m.Kind),
		ReplyTo: m.ReplyTo, Mentions: mentioned, MentionAll: all, Topic: m.Topic, Location: wireLocation(m.Location), Meta: m.Meta}}
}

func wireProfile(p *pb.UserProfile) *wirepb.Profile {
	return &wirepb.Profile{User: p.User, Name: p.Name, AvatarUrl: p.AvatarUrl, UpdatedMs: p.UpdatedMs, Meta: p.Meta}
}
