package export

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/export/exportpb"
	"github.com/switchboard-im/switchboard/storage"
)

// Format is the encoding of the records' values.
type Format string

// The record formats: JSON objects (the default) or the protobuf messages
// of export/exportpb (MessageRecord on TopicMessages, Event on
// TopicEvents, MetricsRecord on TopicMetrics).
const (
	FormatJSON     Format = "json"
	FormatProtobuf Format = "protobuf"
)

// ParseFormat reads a --kafka-format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatJSON, FormatProtobuf:
		return f, nil
	case "":
		return FormatJSON, nil
	}
	return "", fmt.Errorf("export: record format %q (want json or protobuf)", s)
}

// record is a value on a topic, in both formats.
type record interface{ proto() proto.Message }

// encode gives a record's bytes in format f.
func encode(f Format, r record) ([]byte, error) {
	if f == FormatProtobuf {
		return proto.Marshal(r.proto())
	}
	return json.Marshal(r)
}

func encodeMessage(f Format, m storage.Message) ([]byte, error) {
	return encode(f, NewMessageRecord(m))
}

func (r MessageRecord) proto() proto.Message {
	p := &exportpb.MessageRecord{EventId: r.EventID, Conv: r.Conv, Seq: r.Seq, MsgId: r.MsgID, From: r.From, Kind: r.Kind,
		Text: r.Text, Body: r.Body, ServerTsMs: r.ServerTsMs, ClientTsMs: r.ClientTsMs, ReplyTo: r.ReplyTo, Mentions: r.Mentions, MentionAll: r.MentionAll, Forwarded: r.Forwarded, ForwardHops: r.ForwardHops,
		AutoReply: r.AutoReply, ExpiresAtMs: r.ExpiresAtMs}
	p.Meta = r.Meta
	if l := r.Location; l != nil {
		p.Location = &exportpb.LocationRecord{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: l.LiveUntilMs}
	}
	if f := r.Media; f != nil {
		p.Media = &exportpb.MediaRecord{Id: f.ID, Name: f.Name, Type: f.Type, Size: f.Size, Width: f.Width, Height: f.Height, DurationMs: f.DurationMs}
	}
	return p
}

func (r EventRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Conv{Conv: &exportpb.EventRecord{EventId: r.EventID, Type: r.Type, Conv: r.Conv,
		Seq: r.Seq, Actor: r.Actor, TargetSeq: r.TargetSeq, DetailJson: string(r.Detail), ServerTsMs: r.ServerTsMs}}}
}

func (r DeskRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Desk{Desk: &exportpb.DeskRecord{EventId: r.EventID, Type: r.Type, Op: r.Op,
		Session: r.Session, Queue: r.Queue, Agent: r.Agent, SinceMs: r.SinceMs, Load: int64(r.Load), Capacity: int64(r.Capacity), AtMs: r.AtMs}}}
}

func (r NoteRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Note{Note: &exportpb.NoteRecord{EventId: r.EventID, Type: r.Type, Conv: r.Conv,
		Session: r.Session, Index: int64(r.Index), By: r.By, Text: r.Text, AtMs: r.AtMs}}}
}

func (r TagsRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Tags{Tags: &exportpb.TagsRecord{EventId: r.EventID, Type: r.Type, Conv: r.Conv,
		Session: r.Session, Version: int64(r.Version), By: r.By, Tags: r.Tags, AtMs: r.AtMs}}}
}

func (r ModerationRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Moderation{Moderation: &exportpb.ModerationRecord{EventId: r.EventID, Type: r.Type,
		Op: r.Op, User: r.User, Conv: r.Conv, Seq: r.Seq, Reporter: r.Reporter, Report: r.Report, Reason: r.Reason,
		UntilMs: r.UntilMs, AtMs: r.AtMs}}}
}

func (r ReadRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Read{Read: &exportpb.ReadRecord{EventId: r.EventID, Type: r.Type, Conv: r.Conv,
		User: r.User, Seq: r.Seq, AtMs: r.AtMs}}}
}

func (r MetricsRecord) proto() proto.Message {
	w := r.Row
	return &exportpb.MetricsRecord{EventId: r.EventID, SizeMs: r.SizeMs, SlideMs: r.SlideMs, Key: w.Key,
		WindowStartMs: w.WindowStart.UnixMilli(), WindowEndMs: w.WindowEnd.UnixMilli(),
		Questions: w.Questions, Timely: w.Timely, TimelyRate: w.TimelyRate, AvgResponseMs: w.AvgResponseMs,
		MsgQuestions: w.MsgQuestions, MsgTimely: w.MsgTimely, MsgTimelyRate: w.MsgTimelyRate, AvgMsgResponseMs: w.AvgMsgResponseMs,
		Sessions: w.Sessions, AvgSessionMs: w.AvgSessionMs, AvgSessionMessages: w.AvgSessionMessages,
		AvgFirstResponseMs: w.AvgFirstResponseMs, Final: w.Final,
		QueueWaits: w.QueueWaits, AvgQueueWaitMs: w.AvgQueueWaitMs, Abandoned: w.Abandoned,
		Ratings: w.Ratings, AvgRating: w.AvgRating, Satisfied: w.Satisfied, CsatRate: w.CSATRate,
		DeskFirstResponses: w.DeskFirstResponses, DeskFirstTimely: w.DeskFirstTimely,
		DeskFirstTimelyRate: w.DeskFirstTimelyRate, AvgDeskFirstResponseMs: w.AvgDeskFirstResponseMs,
		DeskHandled: w.DeskHandled, DeskResolved: w.DeskResolved, AvgHandleMs: w.AvgHandleMs, DeskMissed: w.DeskMissed}
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
