package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func openStore(t *testing.T) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(pebblestore.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// appendMsgs stores messages with the given seqs in conv (created on first use).
func appendMsgs(t *testing.T, s storage.Store, conv string, seqs ...uint64) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetConversation(ctx, conv); err != nil {
		if err := s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range seqs {
		m := storage.Message{ConvID: conv, Seq: seq, MsgID: 1000 + seq, Sender: "alice", Body: []byte(fmt.Sprintf("m%d", seq)),
			ClientTS: time.UnixMilli(1_700_000_000_000 + int64(seq)), ServerTS: time.Now()}
		if seq%5 == 0 {
			m.Kind, m.Sender, m.SenderRole = storage.MsgSystem, "bob", storage.SenderSystem
			m.Body = []byte(`{"op":"add","actor":"bob","users":["carol"],"role":"member"}`)
		}
		if err := s.AppendMessages(ctx, conv, 0, []storage.Message{m}); err != nil {
			t.Fatal(err)
		}
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// The message record has exactly the documented fields; a body that is not
// UTF-8 is carried as base64 "body", never as "text".
func TestMessageRecordFields(t *testing.T) {
	m := storage.Message{ConvID: "g:1", Seq: 7, MsgID: 1 << 60, Sender: "alice", Body: []byte("héllo"),
		ClientTS: time.UnixMilli(1000), ServerTS: time.UnixMilli(2000)}
	b, err := json.Marshal(export.NewMessageRecord(m))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := "client_ts_ms conv event_id from kind msg_id seq server_ts_ms text"; strings.Join(keys, " ") != want {
		t.Fatalf("fields %v, want %s", keys, want)
	}
	if got["msg_id"] != strconv.FormatUint(1<<60, 10) || got["text"] != "héllo" || got["event_id"] != "msg/g:1/7" ||
		got["kind"] != "normal" || got["server_ts_ms"] != 2000.0 || got["client_ts_ms"] != 1000.0 {
		t.Fatalf("record %s", b)
	}
	m.Body = []byte{0xff, 0x00}
	r := export.NewMessageRecord(m)
	if r.Text != "" || string(r.Body) != string(m.Body) {
		t.Fatalf("binary body exported as %+v", r)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, c := range []export.Config{
		{Brokers: []string{""}},
		{Brokers: []string{"x:1"}, MaxBuffered: -1},
		{Brokers: []string{"x:1"}, Page: -5},
		{WebhookURL: "http://hooks.example/sb"},                                                          // no secret
		{WebhookURL: "http://hooks.example/sb", WebhookSecret: []byte("short")},                          // a short one
		{WebhookURL: "ftp://hooks.example/sb", WebhookSecret: []byte("0123456789abcdef")},                // not HTTP
		{WebhookURL: "http:///sb", WebhookSecret: []byte("0123456789abcdef")},                            // no host
		{WebhookURL: "http://h/sb", WebhookSecret: []byte("0123456789abcdef"), Brokers: []string{"x:1"}}, // both
		{WebhookURL: "http://h/sb", WebhookSecret: []byte("0123456789abcdef"), Format: export.FormatProtobuf},
		{WebhookURL: "http://h/sb", WebhookSecret: []byte("0123456789abcdef"), WebhookLanes: -1},
	} {
		if _, err := c.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := export.New(openStore(t), export.Config{}); err == nil {
		t.Error("an exporter without brokers was created")
	}
	ok := export.Config{WebhookURL: "https://h/sb", WebhookSecret: []byte("0123456789abcdef")} // a secret of 16 bytes exactly
	if c, err := ok.WithDefaults(); err != nil || c.CheckpointKey != "export/webhook" {
		t.Errorf("%+v: %v, checkpoint %q", ok, err, c.CheckpointKey)
	}
}

func gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var m *dto.Metric = mf.GetMetric()[0]
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// With Kafka unreachable, Notify never blocks, at most MaxBuffered records
// wait in memory, the lag counts every message, and nothing is checkpointed
// as exported.
func TestKafkaDownIsBoundedAndNeverBlocks(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	s := openStore(t)
	const perConv, convs, maxBuf = 100, 4, 50
	for c := 0; c < convs; c++ {
		appendMsgs(t, s, fmt.Sprintf("g:down%d", c), seqRange(1, perConv)...)
	}
	e, err := export.New(s, export.Config{Brokers: []string{dead}, MaxBuffered: maxBuf, CheckpointInterval: 20 * time.Millisecond,
		NudgeQueue: 16, ShutdownTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	start := time.Now()
	for i := 0; i < 100000; i++ {
		e.Notify(fmt.Sprintf("g:down%d", i%convs), perConv) // a queue of 16: most are dropped, none blocks
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("100000 Notify calls took %v", d)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.Lag() < perConv*convs {
		if time.Now().After(deadline) {
			t.Fatalf("lag %d, want %d", e.Lag(), perConv*convs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if in := gauge(t, "switchboard_export_inflight_records"); in > maxBuf || in < maxBuf/2 {
		t.Fatalf("inflight %v with MaxBuffered %d", in, maxBuf)
	}
	e.Close()
	cp, err := s.LoadCheckpoint(context.Background(), "export/kafka")
	if err == nil && len(cp.ConvSeqs) > 0 {
		t.Fatalf("checkpoint claims %v exported with Kafka down", cp.ConvSeqs)
	}
}

func brokers(t *testing.T) []string {
	t.Helper()
	b := testenv.List(t, "SWITCHBOARD_TEST_KAFKA_BROKERS or SWITCHBOARD_KAFKA_BROKERS not set (make kafka, or make test starts one)",
		"SWITCHBOARD_TEST_KAFKA_BROKERS", "SWITCHBOARD_KAFKA_BROKERS")
	return b
}

// consume reads a topic from the start until every conversation in want
// has its last seq, and returns the records of those conversations.
func consume(t *testing.T, brokers []string, topic string, want map[string]uint64) map[string][]map[string]any {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string][]map[string]any{}
	have := map[string]uint64{}
	deadline := time.Now().Add(time.Minute)
	for {
		ok := true
		for c, s := range want {
			ok = ok && have[c] >= s
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: consumed up to %v, want %v", topic, have, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			conv := string(r.Key)
			if _, ok := want[conv]; !ok {
				return
			}
			var rec map[string]any
			if err := json.Unmarshal(r.Value, &rec); err != nil {
				t.Fatal(err)
			}
			got[conv] = append(got[conv], rec)
			if s := uint64(rec["seq"].(float64)); s > have[conv] {
				have[conv] = s
			}
		})
	}
}

// After a restart the exporter resumes from its checkpoint with no hint at
// all (the sweep finds the new messages), skips a hole once GapTimeout
// passed, and publishes membership changes as events.
func TestResumeFromCheckpointAndHoles(t *testing.T) {
	bk := brokers(t)
	s := openStore(t)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	a, b := "g:res-a-"+run, "g:res-b-"+run
	appendMsgs(t, s, a, seqRange(1, 40)...)
	appendMsgs(t, s, b, 1, 2, 4, 5) // 3 is a hole that never fills
	lastA := uint64(40)
	cfg := export.Config{Brokers: bk, CheckpointInterval: 20 * time.Millisecond, GapTimeout: 300 * time.Millisecond}
	waitExported := func(e *export.Exporter) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			cp, err := s.LoadCheckpoint(context.Background(), "export/kafka")
			if err == nil && cp.ConvSeqs[a] == lastA && cp.ConvSeqs[b] == 5 && e.Lag() == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoint %v (err %v), lag %d", cp.ConvSeqs, err, e.Lag())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	e, err := export.New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	waitExported(e)
	e.Close()

	appendMsgs(t, s, a, seqRange(41, 60)...)
	lastA = 60
	e, err = export.New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	waitExported(e)
	e.Close()

	got := consume(t, bk, export.TopicMessages, map[string]uint64{a: 60, b: 5})
	for conv, want := range map[string][]uint64{a: seqRange(1, 60), b: {1, 2, 4, 5}} {
		seen := map[uint64]bool{}
		for _, r := range got[conv] {
			seen[uint64(r["seq"].(float64))] = true
		}
		for _, s := range want {
			if !seen[s] {
				t.Fatalf("%s seq %d missing", conv, s)
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("%s: exported seqs %v, want %v", conv, seen, want)
		}
	}
	evs := consume(t, bk, export.TopicEvents, map[string]uint64{a: 60})
	n := 0
	for _, r := range evs[a] {
		if r["type"] != "membership" || r["detail"].(map[string]any)["op"] != "add" {
			t.Fatalf("event %v", r)
		}
		n++
	}
	if n < 12 { // seqs 5, 10, …, 60
		t.Fatalf("%d membership events, want 12", n)
	}
}

// Replay re-publishes exactly the messages of the time range, with the
// live export's event ids.
func TestReplayRange(t *testing.T) {
	bk := brokers(t)
	s := openStore(t)
	conv := "g:replay-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	appendMsgs(t, s, conv, seqRange(1, 10)...)
	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	time.Sleep(20 * time.Millisecond)
	appendMsgs(t, s, conv, seqRange(11, 15)...)
	cl, err := export.NewClient(export.Config{Brokers: bk, ClientID: "replay-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n, err := export.Replay(context.Background(), s, cl, from, time.Time{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("replayed %d messages, want 5", n)
	}
	got := consume(t, bk, export.TopicMessages, map[string]uint64{conv: 15})
	for _, r := range got[conv] {
		seq := uint64(r["seq"].(float64))
		if seq < 11 || r["event_id"] != export.MessageEventID(conv, seq) {
			t.Fatalf("replayed %v", r)
		}
	}
	if len(got[conv]) != 5 {
		t.Fatalf("%d records, want 5", len(got[conv]))
	}
	if _, err := export.Replay(context.Background(), s, cl, from, from, 0); err == nil {
		t.Fatal("an empty range was accepted")
	}
}

// Desk decisions reach switchboard.events keyed by the session's
// conversation, in order, as "desk_decision" records.
func TestDeskEvents(t *testing.T) {
	bk := brokers(t)
	sink, err := export.NewDeskSink(export.Config{Brokers: bk})
	if err != nil {
		t.Fatal(err)
	}
	conv := "s:desk-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	session := conv + "/1"
	ops := []desk.Event{
		{Kind: "enqueue", Queue: "billing", Session: session, Since: 1234},
		{Kind: "offer", Queue: "billing", Session: session, Agent: "ann"},
		{Kind: "assign", Session: session, Agent: "ann"},
		{Kind: "unassign", Session: session, Agent: "ann"},
	}
	for _, e := range ops {
		sink.OnEvent(e)
	}
	sink.Close(10 * time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(bk...), kgo.ConsumeTopics(export.TopicEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []export.DeskRecord
	deadline := time.Now().Add(time.Minute)
	for len(got) < len(ops) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d desk records: %+v", len(got), got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != conv {
				return
			}
			var rec export.DeskRecord
			if err := json.Unmarshal(r.Value, &rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, rec)
		})
		cancel()
	}
	ids := map[string]bool{}
	for i, r := range got {
		if r.Type != "desk_decision" || r.Op != ops[i].Kind || r.Session != session || r.Agent != ops[i].Agent || r.AtMs == 0 || ids[r.EventID] {
			t.Fatalf("record %d: %+v, want op %s", i, r, ops[i].Kind)
		}
		ids[r.EventID] = true
	}
	if got[0].Queue != "billing" || got[0].SinceMs != 1234 {
		t.Fatalf("enqueue record %+v", got[0])
	}
}
