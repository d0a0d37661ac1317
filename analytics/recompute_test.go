package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// storeTrace writes a random trace as service conversations, plus a group
// conversation that Recompute must skip, and returns the stored messages.
func storeTrace(t *testing.T, s storage.Store, trace map[string][]Event) map[string][]storage.Message {
	ctx := context.Background()
	out := make(map[string][]storage.Message)
	for _, id := range sortedConvs(trace) {
		if err := s.CreateConversation(ctx, storage.Conversation{ID: id, Kind: storage.KindService, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
		var msgs []storage.Message
		for i, ev := range trace[id] {
			m := storage.Message{ConvID: id, Seq: ev.Seq, MsgID: uint64(i + 1), Sender: ev.Sender, SenderRole: ev.Role,
				Body: []byte("hi"), ClientTS: ev.ClientTS, ServerTS: ev.ServerTS}
			if ev.Role == storage.SenderSystem {
				m.Kind = storage.MsgSystem
			}
			if ev.Desk.Op != "" { // as the desk writes its steps
				m.Body = deskBody(id, ev)
			}
			if ev.Desk.Op == DeskRating { // the customer rates
				m.Sender = "cust-" + id
			}
			if m.Sender == "" {
				m.Sender = "server"
			}
			msgs = append(msgs, m)
		}
		for len(msgs) > 0 { // several appends, as the grain batches them
			n := min(len(msgs), 7)
			if err := s.AppendMessages(ctx, id, 0, msgs[:n]); err != nil {
				t.Fatal(err)
			}
			out[id] = append(out[id], msgs[:n]...)
			msgs = msgs[n:]
		}
		// Recalling a message later must not change anything. Only normal
		// messages can be recalled (a desk start never is).
		for _, m := range out[id] {
			if m.Kind == storage.MsgNormal {
				if err := s.TombstoneMessage(ctx, id, m.Seq); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "group", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	group := storage.Message{ConvID: "group", Seq: 1, Sender: "a1", SenderRole: storage.SenderAgent, ServerTS: base}
	if err := s.AppendMessages(ctx, "group", 0, []storage.Message{group}); err != nil {
		t.Fatal(err)
	}
	return out
}

// deskBody is the system message the desk writes for a trace's step
// (docs/DESK.md, "The system messages").
func deskBody(conv string, ev Event) []byte {
	d := ev.Desk
	b := map[string]any{"desk": d.Op, "session": conv + "/1"}
	switch d.Op {
	case DeskStart:
		b["line"], b["scene"], b["data"] = ev.Line, "listing", "7"
		if d.Reopened {
			b["reopened_by"] = ev.Seq - 1
		}
		if d.TargetMs != 0 {
			b["first_response_target_ms"] = d.TargetMs
		}
		if d.Hours != "" {
			b["hours"] = json.RawMessage(d.Hours)
		}
	case DeskHandover:
		b["by"] = "bot"
	case DeskAfterHours:
		b["message"] = "We answer from 9."
		if d.OpensAtMs != 0 {
			b["opens_at_ms"] = d.OpensAtMs
		}
	case DeskAssigned:
		b["queue"], b["agent"], b["wait_ms"] = "sales", d.Owner, d.WaitMs
	case DeskTransfer:
		b["from"], b["to"] = "a0", "queue:sales"
		if d.Owner != "" {
			b["to"] = "user:" + d.Owner
		}
	case DeskRequeue:
		b["agent"] = "a0"
		if d.Missed {
			b["reason"], b["answer_timeout_ms"] = RequeueUnanswered, 60000
		}
	case DeskClose:
		b["by"], b["reason"], b["state"] = "system", "inactive", "assigned"
		if d.Abandoned {
			b["state"], b["abandoned"], b["queue"] = "queued", true, "sales"
		}
	case DeskRating:
		b["session"], b["score"], b["comment"] = d.Session, d.Score, "quick and kind"
		if d.Agent != "" {
			b["agent"] = d.Agent
		} else {
			b["bot"] = "bot"
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic(err)
	}
	return out
}

func TestRecompute(t *testing.T) {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	sd := seed()
	rng := rand.New(rand.NewPCG(sd, 1))
	cfg := DefaultConfig()
	cfg.Windows = append(cfg.Windows, Sliding(30*time.Second, 15*time.Second))
	trace := randomTrace(rng, cfg)
	// Some seeds draw no desk start message with a business line: draw
	// again, so the business-line check below has something to check.
	// The same for a rating, which the engine reads from the stored body.
	for len(trace) < 3 || len(trace["conv-0"]) < 20 || !hasLineRows(batch(t, cfg, trace).Rows(Query{})) ||
		!hasRatings(batch(t, cfg, trace).Rows(Query{})) {
		trace = randomTrace(rng, cfg)
	}
	stored := storeTrace(t, s, trace)

	got, err := Recompute(ctx, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The streaming side sees each message as the grain persisted it,
	// before any recall, with a checkpoint through the store half way.
	stream := newEngine(t, cfg)
	ids := sortedConvs(trace)
	for _, id := range ids {
		msgs := stored[id]
		for _, m := range msgs[:len(msgs)/2] {
			if err := stream.Process(EventFromMessage(m)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cp, err := stream.Checkpoint("metrics/global", base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	loaded, err := s.LoadCheckpoint(ctx, "metrics/global")
	if err != nil {
		t.Fatal(err)
	}
	resumed := newEngine(t, cfg)
	if err := resumed.RestoreCheckpoint(loaded); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := resumed.CatchUp(ctx, s, id); err != nil {
			t.Fatal(err)
		}
	}
	if g, w := got.Rows(Query{}), resumed.Rows(Query{}); !reflect.DeepEqual(g, w) || len(g) == 0 {
		t.Fatalf("seed %d: recompute and resumed streaming differ:\n%s", sd, diffRows(g, w))
	}
	if want := batch(t, cfg, trace); !reflect.DeepEqual(got.Rows(Query{}), want.Rows(Query{})) ||
		got.LateEvents() != want.LateEvents() || got.FutureEvents() != want.FutureEvents() {
		t.Fatalf("seed %d: recompute differs from the events fed directly", sd)
	}
	if !hasLineRows(got.Rows(Query{})) {
		t.Errorf("seed %d: no business-line rows from the desk's start messages", sd)
	}
	if !hasRatings(got.Rows(Query{})) {
		t.Errorf("seed %d: no ratings from the desk's rating messages", sd)
	}
	if _, ok := got.ConvSeqs()["group"]; ok {
		t.Error("the group conversation was read")
	}
	a, _ := got.Snapshot()
	b, _ := resumed.Snapshot()
	if !bytes.Equal(a, b) {
		t.Errorf("seed %d: snapshots differ", sd)
	}
}

func TestRestoreCheckpointRejectsMismatch(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: sec}))
	cp, err := e.Checkpoint("k", base)
	if err != nil {
		t.Fatal(err)
	}
	cp.ConvSeqs["c1"] = 1
	if err := newEngine(t, DefaultConfig()).RestoreCheckpoint(cp); err == nil {
		t.Error("accepted seqs that disagree with the state")
	}
}

// hasLineRows reports whether rows hold a business line's row.
func hasLineRows(rows []Row) bool {
	for _, r := range rows {
		if strings.HasPrefix(r.Key, LinePrefix) {
			return true
		}
	}
	return false
}

// hasRatings reports whether rows count a rating.
func hasRatings(rows []Row) bool {
	for _, r := range rows {
		if r.Ratings > 0 {
			return true
		}
	}
	return false
}
