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

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/export"
)

// A node with export on publishes final metrics windows (per agent and
// "*") to switchboard.metrics and read-cursor moves to switchboard.events.
func TestNodeExportsWindowsAndReads(t *testing.T) {
	bk := brokers(t)
	store := openStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "export-" + run,
		Export: export.Config{Brokers: bk, MetricsInterval: 200 * time.Millisecond, CheckpointInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conv, cust, agent := "s:"+run, "cust"+run, "agent"+run
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(bk...), kgo.ConsumeTopics(export.TopicMetrics), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := fmt.Sprintf("window/%d/%d/%s/%d", time.Hour.Milliseconds(), time.Hour.Milliseconds(), agent, base.UnixMilli())
	for {
		if ctx.Err() != nil {
			t.Fatalf("no record %s", want)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		var found *export.MetricsRecord
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != agent {
				return
			}
			var rec export.MetricsRecord
			if err := json.Unmarshal(r.Value, &rec); err != nil {
				t.Fatal(err)
			}
			if !rec.Final {
				t.Fatalf("non-final window published: %s", r.Value)
			}
			if rec.EventID == want {
				found = &rec
			}
		})
		pcancel()
		if found != nil {
			if found.Questions != 1 || found.Timely != 1 || found.SizeMs != time.Hour.Milliseconds() {
				t.Fatalf("window %+v", *found)
			}
			break
		}
	}

	res, err := n.MarkRead(ctx, agent, "desk", conv, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := kgo.NewClient(kgo.SeedBrokers(bk...), kgo.ConsumeTopics(export.TopicEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	for {
		if ctx.Err() != nil {
			t.Fatalf("no read record for %s", conv)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		var got *export.ReadRecord
		ev.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			var rec export.ReadRecord
			// Own reads (sending reads up to one's message: the customer's
			// question, the agent's answer) are published too, each at a
			// time of its own: look for the agent's mark_read.
			if string(r.Key) == conv && json.Unmarshal(r.Value, &rec) == nil && rec.Type == "read" && rec.User == agent && rec.Seq == res.ReadSeq {
				got = &rec
			}
		})
		pcancel()
		if got != nil {
			if got.EventID != fmt.Sprintf("read/%s/%s/%d", agent, conv, res.ReadSeq) {
				t.Fatalf("read record %+v, read seq %d", *got, res.ReadSeq)
			}
			return
		}
	}
}
