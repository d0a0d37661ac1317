package export_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A node's moderation steps reach switchboard.events as "moderation"
// records keyed by the user they are about, in the order they were taken:
// a report of the user's message, its resolution, a suspension and its
// lifting, and an erasure (its suspension, then the erasure).
func TestModerationEvents(t *testing.T) {
	bk := brokers(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	n, err := boot.StartNode(boot.NodeConfig{Store: openStore(t), Logger: log, ClusterName: "export-mod-" + run,
		Export: export.Config{Brokers: bk}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seller, buyer := "seller"+run, "buyer"+run
	conv := wirepb.DirectConvID(buyer, seller)
	sent, err := n.SendDirect(ctx, buyer, &pb.SendMessage{Sender: seller, ClientMsgId: "m1", Body: []byte("pay outside the app")})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := n.Report(ctx, buyer, conv, sent.Seq, "off-platform payment")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.ResolveReport(ctx, id, "warned"); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if _, err := n.Suspend(ctx, seller, until, "repeat offender"); err != nil {
		t.Fatal(err)
	}
	if err := n.Unsuspend(ctx, seller); err != nil {
		t.Fatal(err)
	}
	if _, err := n.EraseUser(ctx, seller, actors.SentCursor{}); err != nil {
		t.Fatal(err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(bk...), kgo.ConsumeTopics(export.TopicEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []export.ModerationRecord
	deadline := time.Now().Add(time.Minute)
	for len(got) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d moderation records: %+v", len(got), got)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != seller {
				return
			}
			var rec export.ModerationRecord
			if err := json.Unmarshal(r.Value, &rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, rec)
		})
		pcancel()
	}
	want := []export.ModerationRecord{
		{EventID: "moderation/report/" + id, Op: "report", Conv: conv, Seq: sent.Seq, Reporter: buyer, Report: id, Reason: "off-platform payment"},
		{EventID: "moderation/resolve/" + id, Op: "resolve", Conv: conv, Seq: sent.Seq, Reporter: buyer, Report: id, Reason: "warned"},
		{Op: "suspend", Reason: "repeat offender", UntilMs: until.UnixMilli()},
		{Op: "unsuspend"},
		{Op: "suspend", Reason: actors.ErasureReason}, // the erasure's: without end
		{Op: "erase"},
	}
	for i, w := range want {
		g := got[i]
		w.Type, w.User, w.AtMs = "moderation", seller, g.AtMs
		if w.EventID == "" {
			w.EventID = "moderation/" + w.Op + "/" + seller + "/" + strconv.FormatInt(g.AtMs, 10)
		}
		if g != w || g.AtMs == 0 {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
