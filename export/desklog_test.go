package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/storage"
)

// A real desk session on a node with export on: its steps (opened, queued,
// assigned, transferred, closed) reach switchboard.events as "desk"
// records keyed by the conversation, in log order, with the ids
// desk/CONV/SEQ. The node stops; the checkpoint is moved back (as a crash
// before the checkpoint would leave it); a new node on the same store
// re-exports from there and exports the next session: every duplicate
// has the id and the bytes of the first copy, and nothing is missing.
func TestDeskStepsExportedFromTheLog(t *testing.T) {
	bk := brokers(t)
	store := openStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	cust := "c" + run
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := func(name string) *boot.Node {
		t.Helper()
		n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "deskexp-" + name + "-" + run,
			Export: export.Config{Brokers: bk, CheckpointInterval: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitState := func(n *boot.Node, conv, state string) desk.SessionInfo {
		t.Helper()
		for {
			s, err := n.Desk.Session(ctx, cust, conv)
			if err == nil && s.State == state {
				return s
			}
			if ctx.Err() != nil {
				t.Fatalf("session of %s never %s: %+v %v", conv, state, s, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// exported waits until the export checkpoint covers conv up to its
	// last stored seq.
	exported := func(conv string) uint64 {
		t.Helper()
		for {
			c, err := store.GetConversation(ctx, conv)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := store.LoadCheckpoint(ctx, "export/kafka")
			if err == nil && cp.ConvSeqs[conv] >= c.LastSeq {
				return c.LastSeq
			}
			if ctx.Err() != nil {
				t.Fatalf("%s never exported up to %d: %v %v", conv, c.LastSeq, cp.ConvSeqs[conv], err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	n := start("1")
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	online, capacity, skills := desk.Online, 3, []string{"sales"}
	for _, a := range []string{"a1", "a2"} {
		if _, err := n.Desk.SetAgent(ctx, desk.AgentUpdate{User: a, Status: &online, Capacity: &capacity, Skills: &skills}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := n.Desk.Enter(ctx, cust, "listing/42")
	if err != nil {
		t.Fatal(err)
	}
	conv := s.Conv
	first := waitState(n, conv, desk.StateAssigned)
	from, to := *first.Agent, "a1"
	if from == "a1" {
		to = "a2"
	}
	if _, err := n.Desk.Transfer(ctx, from, conv, "user:"+to, "needs a test drive"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Desk.Close(ctx, to, conv, ""); err != nil {
		t.Fatal(err)
	}
	closedAt := exported(conv)
	n.Stop(true)

	// Back to before the first step: everything after it goes out again.
	cp, err := store.LoadCheckpoint(ctx, "export/kafka")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := store.ListMessages(ctx, conv, 1, closedAt, storage.OldestFirst, 100)
	if err != nil {
		t.Fatal(err)
	}
	rewound := uint64(0)
	for _, m := range msgs {
		if m.Kind == storage.MsgSystem && bytes.Contains(m.Body, []byte(`"desk":"start"`)) {
			rewound = m.Seq
			break
		}
	}
	if rewound == 0 {
		t.Fatalf("no session start in %s", conv)
	}
	cp.ConvSeqs[conv] = rewound
	if err := store.SaveCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}

	n = start("2")
	defer n.Stop(true)
	// The customer comes back within the sticky window: the same
	// conversation, a second session.
	if s, err = n.Desk.Enter(ctx, cust, "listing/43"); err != nil || s.Conv != conv {
		t.Fatalf("second entry %+v, %v (want conversation %s)", s, err, conv)
	}
	waitState(n, conv, desk.StateAssigned)
	if _, err := n.Desk.Close(ctx, cust, conv, ""); err != nil {
		t.Fatal(err)
	}
	last := exported(conv)

	// Consume every "desk" record of the conversation up to the last step.
	cl, err := kgo.NewClient(kgo.SeedBrokers(bk...), kgo.ConsumeTopics(export.TopicEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	type rec struct {
		export.DeskStepRecord
		raw []byte
	}
	var stream []rec
	for len(stream) == 0 || stream[len(stream)-1].Seq < last {
		if ctx.Err() != nil {
			t.Fatalf("desk records of %s stop at %+v, want up to seq %d", conv, stream, last)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != conv {
				return
			}
			var d export.DeskStepRecord
			if err := json.Unmarshal(r.Value, &d); err != nil {
				t.Fatal(err)
			}
			if d.Type == "desk" {
				stream = append(stream, rec{d, r.Value})
			}
		})
		pcancel()
	}

	byID := map[string][]byte{}
	var unique []export.DeskStepRecord
	dups := 0
	for i, r := range stream {
		if r.Conv != conv || r.EventID != export.DeskStepEventID(conv, r.Seq) {
			t.Fatalf("record %d: %s", i, r.raw)
		}
		if prev, ok := byID[r.EventID]; ok {
			if !bytes.Equal(prev, r.raw) {
				t.Fatalf("duplicate %s differs:\n%s\n%s", r.EventID, prev, r.raw)
			}
			dups++
			continue
		}
		if len(unique) > 0 && r.Seq <= unique[len(unique)-1].Seq {
			t.Fatalf("new record %s after seq %d: out of log order", r.raw, unique[len(unique)-1].Seq)
		}
		byID[r.EventID] = r.raw
		unique = append(unique, r.DeskStepRecord)
	}
	var ops []string
	for _, r := range unique {
		ops = append(ops, r.Op)
	}
	want := []string{"opened", "queued", "assigned", "transferred", "closed", "opened", "queued", "assigned", "closed"}
	if !slices.Equal(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	if dups < 4 { // queued, assigned, transferred and closed of the first session at least
		t.Fatalf("%d duplicates after the rewound checkpoint, want at least 4", dups)
	}
	if o := unique[0]; o.Session != conv+"/1" || o.Line != "cars" || o.Scene != "listing/42" || o.Actor != cust {
		t.Errorf("opened %+v", o)
	}
	if a := unique[2]; a.Agent != from || a.Queue != "sales" || a.WaitMs == nil || *a.WaitMs < 0 {
		t.Errorf("assigned %+v", a)
	}
	if tr := unique[3]; tr.From != from || tr.To != "user:"+to || tr.Agent != to || tr.Actor != from {
		t.Errorf("transferred %+v", tr)
	}
	if c := unique[4]; c.Actor != to || c.State != desk.StateAssigned || c.Reason != "resolved" || c.Abandoned {
		t.Errorf("closed %+v", c)
	}
	if c := unique[8]; c.Session != conv+"/2" || c.Actor != cust {
		t.Errorf("second close %+v", c)
	}
}
