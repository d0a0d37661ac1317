package metricsactor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// BenchmarkQueryOneKey is one agent's question to the metrics grain with
// 5000 stored service conversations (3 messages each, 50 agents) on
// Pebble: "caught-up" as the admin API asks (every service conversation
// caught up with the log first), "streaming" as my_metrics asks.
func BenchmarkQueryOneKey(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: b.TempDir(), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	base := time.Now().Add(-30 * time.Minute)
	const convs = 5000
	for c := 0; c < convs; c++ {
		id := fmt.Sprintf("s:bench%05d", c)
		if err := store.CreateConversation(ctx, storage.Conversation{ID: id, Kind: storage.KindService, CreatedAt: base}); err != nil {
			b.Fatal(err)
		}
		at := base.Add(time.Duration(c) * time.Millisecond)
		var msgs []storage.Message
		for i, from := range []string{"cust", "cust", "agent"} {
			sender, role := fmt.Sprintf("cust%05d", c), storage.SenderCustomer
			if from == "agent" {
				sender, role = fmt.Sprintf("agent%02d", c%50), storage.SenderAgent
			}
			ts := at.Add(time.Duration(i) * 5 * time.Second)
			msgs = append(msgs, storage.Message{ConvID: id, Seq: uint64(i + 1), MsgID: uint64(c*3 + i + 1), Sender: sender, SenderRole: role,
				Body: []byte("x"), ClientTS: ts, ServerTS: ts})
		}
		if err := store.AppendMessages(ctx, id, 0, msgs); err != nil {
			b.Fatal(err)
		}
	}
	node, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "metrics-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer node.Stop(true)
	for _, mode := range []struct {
		name      string
		streaming bool
	}{{"caught-up", false}, {"streaming", true}} {
		b.Run(mode.name, func(b *testing.B) {
			q := &pb.MetricsQuery{SizeMs: time.Hour.Milliseconds(), Key: "agent07", Streaming: mode.streaming}
			for i := 0; i < b.N; i++ {
				rep, err := node.Metrics(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Rows) == 0 || rep.Rows[0].Questions == 0 {
					b.Fatalf("agent07: %+v", rep.Rows)
				}
			}
		})
	}
}
