package metricsactor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestStreamingEqualsRecompute drives service conversations through real
// grains, kills the node half-way (no graceful stop, no final checkpoint),
// starts a new one on the same store, and checks the streaming numbers
// equal a batch recomputation over the log.
func TestStreamingEqualsRecompute(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	start := func() *boot.Node {
		n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "metrics-test"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	const convs = 6
	node := start()
	for c := 0; c < convs; c++ {
		conv := fmt.Sprintf("s:%d", c)
		_, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: conv, Kind: pb.ConvKind_SERVICE, Members: []*pb.Member{
			{User: fmt.Sprintf("cust%d", c), Role: pb.Role_CUSTOMER},
			{User: fmt.Sprintf("agent%d", c%2), Role: pb.Role_AGENT},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	send := func(n *boot.Node, round int) {
		for c := 0; c < convs; c++ {
			conv := fmt.Sprintf("s:%d", c)
			ts := base.Add(time.Duration(round)*10*time.Minute + time.Duration(rng.IntN(300))*time.Second)
			for _, from := range []string{fmt.Sprintf("cust%d", c), fmt.Sprintf("cust%d", c), fmt.Sprintf("agent%d", c%2)} {
				ts = ts.Add(time.Duration(rng.IntN(90)) * time.Second)
				if _, err := n.Send(ctx, &pb.SendMessage{Conv: conv, Sender: from, Body: []byte("x"), ClientTsMs: ts.UnixMilli()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for round := 0; round < 5; round++ {
		send(node, round)
	}
	node.Stop(false) // a crash: no graceful leave
	node = start()
	defer node.Stop(true)
	for round := 5; round < 10; round++ {
		send(node, round)
	}

	q := &pb.MetricsQuery{SizeMs: time.Hour.Milliseconds()}
	streaming, err := node.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	q.Recompute = true
	batch, err := node.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := analytics.Recompute(ctx, store, analytics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := direct.Report(analytics.Query{Size: time.Hour, Slide: time.Hour})
	s, b, w := mustJSON(t, streaming), mustJSON(t, batch), mustJSON(t, want)
	if s != b || b != w {
		t.Fatalf("streaming and batch differ:\nstreaming %s\nbatch     %s\ndirect    %s", s, b, w)
	}
	var questions uint64
	for _, r := range streaming.Rows {
		if r.Key == "*" {
			questions += r.Questions
		}
	}
	if questions != convs*10 {
		t.Fatalf("%d questions answered in all, want %d", questions, convs*10)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
