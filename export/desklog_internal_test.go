package export

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/export/exportpb"
	"github.com/switchboard-im/switchboard/storage"
)

func sysMsg(seq uint64, body string) storage.Message {
	return storage.Message{ConvID: "s:cars:c1:1", Seq: seq, Sender: "a1", SenderRole: storage.SenderSystem, Kind: storage.MsgSystem,
		Body: []byte(body), ServerTS: time.UnixMilli(1_700_000_000_000 + int64(seq))}
}

// Each desk step becomes one "desk" record on the events topic (not a
// membership record), in both formats; other system messages stay
// membership records.
func TestDeskStepRecords(t *testing.T) {
	for _, tc := range []struct {
		body  string
		check func(DeskStepRecord) bool
	}{
		{`{"desk":"start","session":"s/1","line":"cars","scene":"listing/1","data":"1"}`,
			func(r DeskStepRecord) bool { return r.Op == "opened" && r.Line == "cars" && r.Scene == "listing/1" }},
		{`{"desk":"queued","session":"s/1","queue":"sales","position":2}`,
			func(r DeskStepRecord) bool { return r.Op == "queued" && r.Queue == "sales" && r.Position == 2 }},
		{`{"desk":"assigned","session":"s/1","queue":"sales","agent":"a1","wait_ms":0}`,
			func(r DeskStepRecord) bool {
				return r.Op == "assigned" && r.Agent == "a1" && r.WaitMs != nil && *r.WaitMs == 0
			}},
		{`{"desk":"transfer","session":"s/1","from":"a1","to":"user:a2"}`,
			func(r DeskStepRecord) bool {
				return r.Op == "transferred" && r.Agent == "a2" && r.From == "a1" && r.To == "user:a2"
			}},
		{`{"desk":"transfer","session":"s/1","from":"a1","to":"queue:vip"}`,
			func(r DeskStepRecord) bool { return r.Op == "transferred" && r.Agent == "" && r.Queue == "vip" }},
		{`{"desk":"requeue","session":"s/1","agent":"a1"}`,
			func(r DeskStepRecord) bool { return r.Op == "requeued" && r.Agent == "a1" }},
		{`{"desk":"handover","session":"s/1","by":"bot"}`,
			func(r DeskStepRecord) bool { return r.Op == "handover" }},
		{`{"desk":"close","session":"s/1","by":"c1","reason":"resolved","state":"queued","abandoned":true,"queue":"sales"}`,
			func(r DeskStepRecord) bool {
				return r.Op == "closed" && r.Abandoned && r.State == "queued" && r.Reason == "resolved" && r.WaitMs == nil
			}},
		{`{"desk":"rating","session":"s/1","score":4,"comment":"quick and kind","agent":"a1"}`,
			func(r DeskStepRecord) bool {
				return r.Op == "rated" && r.Agent == "a1" && r.Score == 4 && r.Session == "s/1"
			}},
		{`{"desk":"rating","session":"s/2","score":1,"bot":"bot"}`,
			func(r DeskStepRecord) bool { return r.Op == "rated" && r.Agent == "" && r.Score == 1 }},
		{`{"desk":"after_hours","session":"s/1","opens_at_ms":1700000000000,"message":"From 9 to 5"}`,
			func(r DeskStepRecord) bool { return r.Op == "after_hours" && r.Session == "s/1" }},
		// A score that is no small integer is left out; the step stays a desk record.
		{`{"desk":"rating","session":"s/3","score":4.5,"agent":"a1"}`,
			func(r DeskStepRecord) bool { return r.Op == "rated" && r.Agent == "a1" && r.Score == 0 }},
	} {
		m := sysMsg(7, tc.body)
		recs := records(FormatJSON, m)
		if len(recs) != 2 || recs[1].Topic != TopicEvents || string(recs[1].Key) != m.ConvID {
			t.Fatalf("%s: %d records", tc.body, len(recs))
		}
		var r DeskStepRecord
		if err := json.Unmarshal(recs[1].Value, &r); err != nil {
			t.Fatal(err)
		}
		if r.Type != "desk" || r.EventID != "desk/s:cars:c1:1/7" || r.Conv != m.ConvID || r.Seq != 7 || r.Actor != "a1" ||
			r.ServerTsMs != 1_700_000_000_007 || string(r.Detail) != tc.body || !tc.check(r) {
			t.Errorf("%s: %s", tc.body, recs[1].Value)
		}
		pr := records(FormatProtobuf, m)
		var ev exportpb.Event
		if err := proto.Unmarshal(pr[1].Value, &ev); err != nil {
			t.Fatal(err)
		}
		if st := ev.GetStep(); st == nil || st.EventId != r.EventID || st.Op != r.Op || st.DetailJson != tc.body ||
			(r.WaitMs != nil) != (st.WaitMs != nil) || st.Agent != r.Agent || st.Score != r.Score {
			t.Errorf("%s: protobuf %v", tc.body, &ev)
		}
	}
	for _, body := range []string{`{"op":"add","actor":"a","users":["b"],"role":"member"}`, `{"desk":""}`, `not json "desk"`} {
		recs := records(FormatJSON, sysMsg(3, body))
		var r map[string]any
		if len(recs) != 2 || json.Unmarshal(recs[1].Value, &r) != nil || r["type"] != "membership" {
			t.Errorf("%s: %d records %v", body, len(recs), r)
		}
	}
}

// A gap (a seq that holds no message; a restore writes thousands) is a
// message record, so the log's seqs stay whole on the topic, but no
// membership event.
func TestGapIsNoEvent(t *testing.T) {
	recs := records(FormatJSON, storage.GapMessage("g:team", 7, time.UnixMilli(1_700_000_000_000)))
	if len(recs) != 1 || recs[0].Topic != TopicMessages {
		t.Fatalf("records of a gap: %v, want one on %s", recs, TopicMessages)
	}
	if _, ok := eventFor(sysMsg(8, `{"op":"add","actor":"alice","users":["bob"]}`)); !ok {
		t.Fatal("a membership change is no event any more")
	}
}

// An edit is a message record (its text) and an edit event naming the
// message it replaces; a plain message is no event.
func TestEditIsAnEvent(t *testing.T) {
	m := storage.Message{ConvID: "g:team", Seq: 9, Sender: "alice", Body: []byte("fixed"), RefSeq: 4, ServerTS: time.UnixMilli(1_700_000_000_000)}
	ev, ok := eventFor(m)
	if !ok || ev.Type != "edit" || ev.TargetSeq != 4 || ev.EventID != "edit/g:team/9" || ev.Actor != "alice" {
		t.Fatalf("edit event %+v (%v), want type edit, target 4, id edit/g:team/9", ev, ok)
	}
	m.RefSeq = 0
	if _, ok := eventFor(m); ok {
		t.Fatal("a plain message is an event")
	}
}

// A reaction is a message record of kind reaction (its emoji) and a
// reaction event naming its message; a card's record is of kind card.
func TestReactionIsAnEvent(t *testing.T) {
	m := storage.Message{ConvID: "g:team", Seq: 10, Sender: "bob", Kind: storage.MsgReaction, Body: []byte("👍"), RefSeq: 9, ServerTS: time.UnixMilli(1_700_000_000_000)}
	ev, ok := eventFor(m)
	if !ok || ev.Type != "reaction" || ev.TargetSeq != 9 || ev.EventID != "reaction/g:team/10" || ev.Actor != "bob" {
		t.Fatalf("reaction event %+v (%v), want type reaction, target 9, id reaction/g:team/10", ev, ok)
	}
	if r := NewMessageRecord(m); r.Kind != "reaction" || r.Text != "👍" {
		t.Fatalf("reaction record %+v, want kind reaction, text 👍", r)
	}
	card := storage.Message{ConvID: "g:team", Seq: 11, Sender: "bob", Kind: storage.MsgCard, Body: []byte(`{"title":"t"}`)}
	if r := NewMessageRecord(card); r.Kind != "card" {
		t.Fatalf("card record kind %q, want card", r.Kind)
	}
}
