package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/push"
)

// webhookReceiver is a business's endpoint: it checks every POST's
// signature, refuses the first failFirst POSTs with 503 and, when maxBody
// is set, bodies over it with 413, and records what it took, per key, in
// the order it arrived.
type webhookReceiver struct {
	secret    []byte
	failFirst int32
	maxBody   int

	posts    atomic.Int32
	tooLarge atomic.Int32
	mu       sync.Mutex
	byKey    map[string][]export.WebhookRecord
	bad      []string
}

func (rc *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Switchboard-Timestamp")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !push.Verify(rc.secret, ts, body, r.Header.Get("X-Switchboard-Signature")) {
		rc.bad = append(rc.bad, "a POST with a wrong signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		rc.bad = append(rc.bad, "timestamp "+ts)
	}
	if rc.posts.Add(1) <= rc.failFirst {
		http.Error(w, "down for a moment", http.StatusServiceUnavailable)
		return
	}
	if rc.maxBody > 0 && len(body) > rc.maxBody {
		rc.tooLarge.Add(1)
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var batch export.WebhookBatch
	if err := json.Unmarshal(body, &batch); err != nil {
		rc.bad = append(rc.bad, err.Error())
		return
	}
	for _, rec := range batch.Records {
		rc.byKey[rec.Key] = append(rc.byKey[rec.Key], rec)
	}
}

// seqs returns the seqs of key's records on topic, in arrival order.
func (rc *webhookReceiver) seqs(t *testing.T, key, topic string) []uint64 {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []uint64
	for _, rec := range rc.byKey[key] {
		if rec.Topic != topic {
			continue
		}
		var v struct{ Seq uint64 }
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Seq)
	}
	return out
}

// TestWebhookExport: without Kafka, the export's records reach a
// business's endpoint by signed POSTs: through a receiver that refuses
// the first POSTs (retried), every conversation's messages arrive once and
// in order, with their events; a restart goes on from the checkpoint.
func TestWebhookExport(t *testing.T) {
	testWebhookExport(t, &webhookReceiver{secret: []byte("a-secret-of-32-bytes-for-tests!!"), failFirst: 3, byKey: map[string][]export.WebhookRecord{}})
}

// A receiver whose body limit is below a batch (413) gets every record
// still, once each and in order, in smaller POSTs: the batch is sent again
// as halves.
func TestWebhookSplitsBatchesTooLarge(t *testing.T) {
	rc := &webhookReceiver{secret: []byte("a-secret-of-32-bytes-for-tests!!"), maxBody: 1500, byKey: map[string][]export.WebhookRecord{}}
	testWebhookExport(t, rc)
	if rc.tooLarge.Load() == 0 {
		t.Fatal("no batch was over the receiver's limit: the test proves nothing")
	}
}

func testWebhookExport(t *testing.T, rc *webhookReceiver) {
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s := openStore(t)
	convs := []string{"g:hook-a", "g:hook-b", "g:hook-c"}
	for _, c := range convs {
		appendMsgs(t, s, c, seqRange(1, 30)...)
	}
	cfg := export.Config{WebhookURL: hs.URL + "/switchboard", WebhookSecret: rc.secret, WebhookLanes: 2, WebhookBatch: 7,
		CheckpointInterval: 20 * time.Millisecond, ShutdownTimeout: 2 * time.Second}
	exportAll := func(last uint64) {
		t.Helper()
		e, err := export.New(s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.Start()
		defer e.Close()
		deadline := time.Now().Add(30 * time.Second)
		for {
			cp, err := s.LoadCheckpoint(context.Background(), "export/webhook")
			done := err == nil && e.Lag() == 0
			for _, c := range convs {
				done = done && cp.ConvSeqs[c] == last
			}
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoint %v (%v), lag %d", cp.ConvSeqs, err, e.Lag())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	exportAll(30)
	for _, c := range convs {
		appendMsgs(t, s, c, seqRange(31, 40)...)
	}
	exportAll(40)

	if rc.posts.Load() <= rc.failFirst {
		t.Fatalf("%d POSTs", rc.posts.Load())
	}
	if len(rc.bad) > 0 {
		t.Fatalf("the receiver saw: %v", rc.bad)
	}
	for _, c := range convs {
		got := rc.seqs(t, c, export.TopicMessages)
		want := seqRange(1, 40)
		if len(got) != len(want) {
			t.Fatalf("%s: seqs %v, want 1 to 40 once each", c, got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: seqs %v, want 1 to 40 in order", c, got)
			}
		}
		if evs := rc.seqs(t, c, export.TopicEvents); len(evs) != 8 { // the membership changes at 5, 10, …, 40
			t.Fatalf("%s: events at %v, want the 8 membership changes", c, evs)
		}
	}
}

// A receiver that never answers 2xx: Close still returns within the
// shutdown timeout, and nothing is checkpointed as exported.
func TestWebhookDownStopsCleanly(t *testing.T) {
	rc := &webhookReceiver{secret: []byte("a-secret-of-32-bytes-for-tests!!"), failFirst: 1 << 30, byKey: map[string][]export.WebhookRecord{}}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s := openStore(t)
	appendMsgs(t, s, "g:down", seqRange(1, 10)...)
	e, err := export.New(s, export.Config{WebhookURL: hs.URL, WebhookSecret: rc.secret, CheckpointInterval: 20 * time.Millisecond, ShutdownTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	for rc.posts.Load() < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	e.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if cp, err := s.LoadCheckpoint(context.Background(), "export/webhook"); err == nil && cp.ConvSeqs["g:down"] != 0 {
		t.Fatalf("checkpointed %v with the receiver down", cp.ConvSeqs)
	}
}

// One record the receiver refuses as too large is not skipped: the batch
// is halved down to it, then it is retried (the export waits), nothing
// after it is checkpointed, and Close still returns.
func TestWebhookRecordTooLargeWaits(t *testing.T) {
	rc := &webhookReceiver{secret: []byte("a-secret-of-32-bytes-for-tests!!"), maxBody: 10, byKey: map[string][]export.WebhookRecord{}}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s := openStore(t)
	appendMsgs(t, s, "g:huge", seqRange(1, 4)...)
	e, err := export.New(s, export.Config{WebhookURL: hs.URL, WebhookSecret: rc.secret, WebhookBatch: 4, CheckpointInterval: 20 * time.Millisecond,
		ShutdownTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	// 4 → 2 + 2 → 1 + 1: three 413s before a single record is retried.
	for rc.tooLarge.Load() < 5 {
		time.Sleep(10 * time.Millisecond)
	}
	e.Close()
	rc.mu.Lock()
	got := len(rc.byKey["g:huge"])
	rc.mu.Unlock()
	if got != 0 {
		t.Fatalf("the receiver took %d records over its limit", got)
	}
	if cp, err := s.LoadCheckpoint(context.Background(), "export/webhook"); err == nil && cp.ConvSeqs["g:huge"] != 0 {
		t.Fatalf("checkpointed %v past a record the receiver refused", cp.ConvSeqs)
	}
}

// A desk session's internal notes reach the export (here its webhook) as
// "desk_note" records keyed by the conversation, with the session, the
// author, the text and an id from the session and the note's index, in
// the order they were written.
func TestDeskNotesExported(t *testing.T) {
	rc := &webhookReceiver{secret: []byte("a-secret-of-32-bytes-for-tests!!"), byKey: map[string][]export.WebhookRecord{}}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	n, err := boot.StartNode(boot.NodeConfig{Store: openStore(t), Logger: log, ClusterName: "notes-" + run,
		Export: export.Config{WebhookURL: hs.URL, WebhookSecret: rc.secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	s, err := n.Desk.Enter(ctx, "c"+run, "listing/42")
	if err != nil {
		t.Fatal(err)
	}
	notes := []struct{ by, text string }{{"a1", "wants a test drive on Saturday"}, {"sup", "refund approved"}}
	for _, note := range notes {
		if _, err := n.Desk.Note(ctx, note.by, s.Conv, note.text); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	got := waitRecords[export.NoteRecord](t, rc, s.Conv, "desk_note", len(notes), deadline)
	for i, note := range notes {
		r := got[i]
		if r.EventID != "desk_note/"+s.Session+"/"+strconv.Itoa(i) || r.Conv != s.Conv || r.Session != s.Session || r.Index != i ||
			r.By != note.by || r.Text != note.text || r.AtMs == 0 {
			t.Fatalf("note record %d: %+v, want %q by %s of session %s", i, r, note.text, note.by, s.Session)
		}
	}

	// Its tags too: each change carries the whole list and its version.
	if _, err := n.Desk.Tag(ctx, "a1", s.Conv, []string{"refund", "damaged"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Desk.Tag(ctx, "crm", s.Conv, nil, []string{"refund", "damaged"}); err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, rec := range waitRecords[export.TagsRecord](t, rc, s.Conv, "desk_tags", 2, deadline) {
		if rec.Session != s.Session || rec.Conv != s.Conv || rec.AtMs == 0 || rec.Tags == nil {
			t.Fatalf("tags record %+v", rec)
		}
		tags = append(tags, fmt.Sprintf("%s %d %s %v", rec.EventID, rec.Version, rec.By, rec.Tags))
	}
	want := []string{"desk_tags/" + s.Session + "/1 1 a1 [refund damaged]", "desk_tags/" + s.Session + "/2 2 crm []"}
	if !slices.Equal(tags, want) {
		t.Fatalf("tags records %q, want %q", tags, want)
	}
}

// waitRecords waits until the receiver holds at least n event records of
// type typ for key, and answers them in the order received.
func waitRecords[R any](t *testing.T, rc *webhookReceiver, key, typ string, n int, deadline time.Time) []R {
	t.Helper()
	for {
		var got []R
		rc.mu.Lock()
		for _, r := range rc.byKey[key] {
			var head struct{ Type string }
			var rec R // fresh for each record: a decode keeps what it leaves out
			if r.Topic == export.TopicEvents && json.Unmarshal(r.Value, &head) == nil && head.Type == typ && json.Unmarshal(r.Value, &rec) == nil {
				got = append(got, rec)
			}
		}
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s records for %s: %d of %d arrived", typ, key, len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
