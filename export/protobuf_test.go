package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/export/exportpb"
	"github.com/switchboard-im/switchboard/storage"
)

// pollKey reads topic from the start and hands every record keyed key to
// fn until fn reports done or a minute passed.
func pollKey(t *testing.T, brokers []string, topic, key string, fn func(value []byte) (done bool)) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(time.Minute)
	for done := false; !done; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: records keyed %s never complete", topic, key)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if !done && string(r.Key) == key {
				if json.Valid(r.Value) {
					t.Fatalf("%s: a JSON record with --kafka-format protobuf: %s", topic, r.Value)
				}
				done = fn(r.Value)
			}
		})
		cancel()
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]export.Format{"": export.FormatJSON, "json": export.FormatJSON, "protobuf": export.FormatProtobuf} {
		if f, err := export.ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, f, err)
		}
	}
	for _, bad := range []string{"proto", "avro", "JSON"} {
		if _, err := export.ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
		if _, err := (export.Config{Brokers: []string{"x:1"}, Format: export.Format(bad)}).WithDefaults(); err == nil {
			t.Errorf("config with format %q accepted", bad)
		}
	}
}

// With FormatProtobuf every durable message is on switchboard.messages as
// an exportpb.MessageRecord equal to the stored message, and recalls and
// membership changes are exportpb.Event values on switchboard.events.
func TestProtobufRecordsOnRealKafka(t *testing.T) {
	bk := brokers(t)
	s := openStore(t)
	ctx := context.Background()
	conv := "g:pb-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	appendMsgs(t, s, conv, seqRange(1, 10)...) // 5 and 10 are membership changes
	extra := []storage.Message{
		{ConvID: conv, Seq: 11, MsgID: 2011, Sender: "alice", Body: []byte{0xff, 0xfe, 0x00}, ServerTS: time.Now()},
		{ConvID: conv, Seq: 12, MsgID: 2012, Sender: "alice", Kind: storage.MsgRecall, RefSeq: 3, ServerTS: time.Now()},
	}
	if err := s.AppendMessages(ctx, conv, 0, extra); err != nil {
		t.Fatal(err)
	}
	e, err := export.New(s, export.Config{Brokers: bk, Format: export.FormatProtobuf, CheckpointInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	defer e.Close()
	e.Notify(conv, 12)

	stored, err := s.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
	if err != nil || len(stored) != 12 {
		t.Fatalf("%d stored messages, %v", len(stored), err)
	}
	got := map[uint64]*exportpb.MessageRecord{}
	pollKey(t, bk, export.TopicMessages, conv, func(v []byte) bool {
		var r exportpb.MessageRecord
		if err := proto.Unmarshal(v, &r); err != nil {
			t.Fatalf("not an exportpb.MessageRecord: %v", err)
		}
		got[r.Seq] = &r
		return len(got) == len(stored)
	})
	for _, m := range stored {
		r := got[m.Seq]
		want := &exportpb.MessageRecord{EventId: export.MessageEventID(conv, m.Seq), Conv: conv, Seq: m.Seq,
			MsgId: strconv.FormatUint(m.MsgID, 10), From: m.Sender, ServerTsMs: m.ServerTS.UnixMilli()}
		if !m.ClientTS.IsZero() {
			want.ClientTsMs = m.ClientTS.UnixMilli()
		}
		switch m.Kind {
		case storage.MsgSystem:
			want.Kind = "system"
		case storage.MsgRecall:
			want.Kind = "recall"
		default:
			want.Kind = "normal"
		}
		if m.Seq == 11 {
			want.Body = m.Body // not UTF-8: bytes, never text
		} else {
			want.Text = string(m.Body)
		}
		if !proto.Equal(r, want) {
			t.Errorf("seq %d: record %v, want %v", m.Seq, r, want)
		}
	}

	var membership, recalls int
	pollKey(t, bk, export.TopicEvents, conv, func(v []byte) bool {
		var ev exportpb.Event
		if err := proto.Unmarshal(v, &ev); err != nil {
			t.Fatalf("not an exportpb.Event: %v", err)
		}
		c := ev.GetConv()
		switch {
		case c == nil:
			t.Fatalf("event of another kind keyed by a conversation: %v", &ev)
		case c.Type == "membership" && (c.Seq == 5 || c.Seq == 10):
			var d map[string]any
			if err := json.Unmarshal([]byte(c.DetailJson), &d); err != nil || d["op"] != "add" || c.EventId != fmt.Sprintf("membership/%s/%d", conv, c.Seq) {
				t.Errorf("membership event %v", c)
			}
			membership++
		case c.Type == "recall" && c.Seq == 12 && c.TargetSeq == 3 && c.Actor == "alice":
			recalls++
		default:
			t.Errorf("unexpected event %v", c)
		}
		return membership+recalls == 3
	})
}

// A node exporting protobuf publishes its final metrics windows as
// exportpb.MetricsRecord.
func TestNodeExportsProtobufWindows(t *testing.T) {
	bk := brokers(t)
	store := openStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "export-pb-" + run,
		Export: export.Config{Brokers: bk, Format: export.FormatProtobuf, MetricsInterval: 200 * time.Millisecond, CheckpointInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conv, cust, agent := "s:pb-"+run, "cust"+run, "agent"+run
	if _, err := n.CreateConversation(ctx, &pb.CreateConversation{Conv: conv, Kind: pb.ConvKind_SERVICE, Members: []*pb.Member{
		{User: cust, Role: pb.Role_CUSTOMER}, {User: agent, Role: pb.Role_AGENT}}}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	for _, m := range []struct {
		from string
		at   time.Duration
	}{{cust, time.Minute}, {agent, 2 * time.Minute}, {cust, 2 * time.Hour}} {
		if _, err := n.Send(ctx, &pb.SendMessage{Conv: conv, Sender: m.from, Body: []byte("x"), ClientTsMs: base.Add(m.at).UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf("window/%d/%d/%s/%d", time.Hour.Milliseconds(), time.Hour.Milliseconds(), agent, base.UnixMilli())
	pollKey(t, bk, export.TopicMetrics, agent, func(v []byte) bool {
		var r exportpb.MetricsRecord
		if err := proto.Unmarshal(v, &r); err != nil {
			t.Fatalf("not an exportpb.MetricsRecord: %v", err)
		}
		if !r.Final {
			t.Fatalf("non-final window published: %v", &r)
		}
		if r.EventId != want {
			return false
		}
		if r.Key != agent || r.Questions != 1 || r.Timely != 1 || r.TimelyRate != 1 || r.AvgResponseMs != 60000 ||
			r.SizeMs != time.Hour.Milliseconds() || r.WindowStartMs != base.UnixMilli() || r.WindowEndMs != base.Add(time.Hour).UnixMilli() {
			t.Fatalf("window %v", &r)
		}
		return true
	})
}
