package export

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/export/exportpb"
	"github.com/switchboard-im/switchboard/storage"
)

// A metrics record carries the row's ratings, desk first responses and
// handling (and missed sessions) in both formats.
func TestMetricsRecordRatings(t *testing.T) {
	start := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	r := MetricsRecord{EventID: "window/3600000/3600000/ann/1764396000000", SizeMs: 3600000, SlideMs: 3600000,
		Row: analytics.Row{Key: "ann", WindowStart: start, WindowEnd: start.Add(time.Hour), QueueWaits: 1,
			Ratings: 3, AvgRating: 11.0 / 3, Satisfied: 2, CSATRate: 2.0 / 3, Final: true,
			DeskFirstResponses: 4, DeskFirstTimely: 1, DeskFirstTimelyRate: 0.25, AvgDeskFirstResponseMs: 90000,
			DeskHandled: 5, DeskResolved: 3, AvgHandleMs: 240000, DeskMissed: 2}}
	pr, ok := r.proto().(*exportpb.MetricsRecord)
	if !ok || pr.Ratings != 3 || pr.AvgRating != 11.0/3 || pr.Satisfied != 2 || pr.CsatRate != 2.0/3 || pr.QueueWaits != 1 || !pr.Final ||
		pr.DeskFirstResponses != 4 || pr.DeskFirstTimely != 1 || pr.DeskFirstTimelyRate != 0.25 || pr.AvgDeskFirstResponseMs != 90000 ||
		pr.DeskHandled != 5 || pr.DeskResolved != 3 || pr.AvgHandleMs != 240000 || pr.DeskMissed != 2 {
		t.Errorf("protobuf %v", pr)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if j["ratings"] != 3.0 || j["avg_rating"] != 11.0/3 || j["satisfied"] != 2.0 || j["csat_rate"] != 2.0/3 ||
		j["desk_first_responses"] != 4.0 || j["desk_first_timely"] != 1.0 || j["avg_desk_first_response_ms"] != 90000.0 ||
		j["desk_handled"] != 5.0 || j["desk_resolved"] != 3.0 || j["avg_handle_ms"] != 240000.0 || j["desk_missed"] != 2.0 {
		t.Errorf("json %s", b)
	}
}

// A message record names the message it answers in both formats, and a
// message that answers none has no reply_to.
func TestMessageRecordReplyTo(t *testing.T) {
	m := storage.Message{ConvID: "d:a:b", Seq: 5, MsgID: 9, Sender: "b", Kind: storage.MsgNormal, Body: []byte("it is"), ReplyTo: 4,
		ServerTS: time.UnixMilli(1764396000000)}
	r := NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || pr.ReplyTo != 4 {
		t.Errorf("protobuf %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"reply_to":4`) {
		t.Errorf("json %s %v", b, err)
	}
	m.ReplyTo = 0
	if b, _ := json.Marshal(NewMessageRecord(m)); strings.Contains(string(b), "reply_to") || strings.Contains(string(b), "mentions") {
		t.Errorf("json of a message answering none, mentioning nobody: %s", b)
	}
	m.Mentions = []string{"a"}
	r = NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || len(pr.Mentions) != 1 || pr.Mentions[0] != "a" {
		t.Errorf("protobuf mentions %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"mentions":["a"]`) {
		t.Errorf("json mentions %s %v", b, err)
	}
	if b, _ := json.Marshal(r); strings.Contains(string(b), "forwarded") {
		t.Errorf("json of a message not forwarded: %s", b)
	}
	m.Mentions = []string{storage.MentionAll}
	r = NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || !pr.MentionAll || len(pr.Mentions) != 0 {
		t.Errorf("protobuf of an @all %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"mention_all":true`) || strings.Contains(string(b), `"mentions"`) {
		t.Errorf("json of an @all %s %v", b, err)
	}
	m.Flags |= storage.FlagForwarded
	r = NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || !pr.Forwarded {
		t.Errorf("protobuf of a forwarded copy %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"forwarded":true`) {
		t.Errorf("json of a forwarded copy %s %v", b, err)
	}
}

// A message record describes the attached file in both formats (not its
// bytes), and a message without one has no media.
func TestMessageRecordMedia(t *testing.T) {
	m := storage.Message{ConvID: "d:a:b", Seq: 5, MsgID: 9, Sender: "b", Kind: storage.MsgNormal, Body: []byte("the bike"),
		Media: storage.MediaRef{ID: "0123456789abcdef0123456789abcdef", Name: "bike.jpg", MIME: "image/jpeg", Size: 2048,
			Preview: storage.Preview{Width: 640, Height: 480, Thumb: []byte{1, 2, 3}}}, ServerTS: time.UnixMilli(1764396000000)}
	r := NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || pr.Media.GetName() != "bike.jpg" || pr.Media.GetType() != "image/jpeg" || pr.Media.GetSize() != 2048 || pr.Media.GetWidth() != 640 {
		t.Errorf("protobuf %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"media":{"id":"0123456789abcdef0123456789abcdef","name":"bike.jpg","type":"image/jpeg","size":2048,"width":640,"height":480}`) {
		t.Errorf("json %s %v", b, err)
	}
	m.Media = storage.MediaRef{}
	if b, _ := json.Marshal(NewMessageRecord(m)); strings.Contains(string(b), "media") {
		t.Errorf("json of a message without a file: %s", b)
	}
}

// A message's location is exported in both formats; none, not at all.
func TestMessageRecordLocation(t *testing.T) {
	m := storage.Message{ConvID: "d:a:b", Seq: 6, MsgID: 10, Sender: "a", Kind: storage.MsgNormal,
		Location: &storage.Location{Lat: 52.52, Lng: -13.4, Name: "gate B"}, ServerTS: time.UnixMilli(1764396000000)}
	r := NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || pr.Location.GetLat() != 52.52 || pr.Location.GetLng() != -13.4 || pr.Location.GetName() != "gate B" {
		t.Errorf("protobuf %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"location":{"lat":52.52,"lng":-13.4,"name":"gate B"}`) {
		t.Errorf("json %s %v", b, err)
	}
	m.Location.LiveUntil = time.UnixMilli(1764399600000) // a live share
	if b, err := json.Marshal(NewMessageRecord(m)); err != nil || !strings.Contains(string(b), `"location":{"lat":52.52,"lng":-13.4,"name":"gate B","live_until_ms":1764399600000}`) {
		t.Errorf("json of a live share %s %v", b, err)
	}
	if pr := NewMessageRecord(m).proto().(*exportpb.MessageRecord); pr.Location.GetLiveUntilMs() != 1764399600000 {
		t.Errorf("protobuf of a live share %v", pr)
	}
	m.Location = nil
	if b, _ := json.Marshal(NewMessageRecord(m)); strings.Contains(string(b), "location") {
		t.Errorf("json of a message without a location: %s", b)
	}
}

// A message's meta is exported in both formats; none, not at all.
func TestMessageRecordMeta(t *testing.T) {
	m := storage.Message{ConvID: "d:a:b", Seq: 6, MsgID: 10, Sender: "a", Kind: storage.MsgNormal, Body: []byte("track it"),
		Meta: map[string]string{"tracking": "JD014600"}, ServerTS: time.UnixMilli(1764396000000)}
	r := NewMessageRecord(m)
	if pr, ok := r.proto().(*exportpb.MessageRecord); !ok || pr.Meta["tracking"] != "JD014600" || len(pr.Meta) != 1 {
		t.Errorf("protobuf %v", r.proto())
	}
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"meta":{"tracking":"JD014600"}`) {
		t.Errorf("json %s %v", b, err)
	}
	m.Meta = nil
	if b, _ := json.Marshal(NewMessageRecord(m)); strings.Contains(string(b), "meta") {
		t.Errorf("json of a message without meta: %s", b)
	}
}

// A desk tags record carries the same fields in both formats; no tags is
// an empty list.
func TestTagsRecordFormats(t *testing.T) {
	r := TagsRecord{EventID: "desk_tags/s:cars:c1:1/1/3", Type: "desk_tags", Conv: "s:cars:c1:1", Session: "s:cars:c1:1/1", Version: 3,
		By: "a1", Tags: []string{"refund", "vip"}, AtMs: 1764396000000}
	ev, ok := r.proto().(*exportpb.Event)
	p := ev.GetTags()
	if !ok || p.EventId != r.EventID || p.Type != r.Type || p.Conv != r.Conv || p.Session != r.Session || p.Version != 3 ||
		p.By != r.By || strings.Join(p.Tags, ",") != "refund,vip" || p.AtMs != r.AtMs {
		t.Errorf("protobuf %v", ev)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event_id":"desk_tags/s:cars:c1:1/1/3","type":"desk_tags","conv":"s:cars:c1:1","session":"s:cars:c1:1/1","version":3,"by":"a1","tags":["refund","vip"],"at_ms":1764396000000}`
	if string(b) != want {
		t.Errorf("json %s\nwant %s", b, want)
	}
}

// A desk note record carries the same fields in both formats.
func TestNoteRecordFormats(t *testing.T) {
	r := NoteRecord{EventID: "desk_note/s:cars:c1:1/1/2", Type: "desk_note", Conv: "s:cars:c1:1", Session: "s:cars:c1:1/1", Index: 2,
		By: "sup", Text: "refund approved", AtMs: 1764396000000}
	ev, ok := r.proto().(*exportpb.Event)
	p := ev.GetNote()
	if !ok || p.EventId != r.EventID || p.Type != r.Type || p.Conv != r.Conv || p.Session != r.Session || p.Index != 2 ||
		p.By != r.By || p.Text != r.Text || p.AtMs != r.AtMs {
		t.Errorf("protobuf %v", ev)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event_id":"desk_note/s:cars:c1:1/1/2","type":"desk_note","conv":"s:cars:c1:1","session":"s:cars:c1:1/1","index":2,"by":"sup","text":"refund approved","at_ms":1764396000000}`
	if string(b) != want {
		t.Errorf("json %s\nwant %s", b, want)
	}
}
