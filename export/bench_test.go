package export_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// BenchmarkCatchUp: b.N stored messages in 100 conversations, exported
// from an empty checkpoint to a real Kafka (log read, JSON, produce, ack,
// checkpoint); reports messages/s.
func BenchmarkCatchUp(b *testing.B) {
	bk := os.Getenv("SWITCHBOARD_TEST_KAFKA_BROKERS")
	if bk == "" {
		bk = os.Getenv("SWITCHBOARD_KAFKA_BROKERS")
	}
	if bk == "" {
		b.Skip("SWITCHBOARD_KAFKA_BROKERS not set")
	}
	s, err := pebblestore.Open(pebblestore.DefaultConfig(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const convs = 100
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	per := b.N/convs + 1
	for c := 0; c < convs; c++ {
		conv := fmt.Sprintf("g:bench-%s-%d", run, c)
		if err := s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup, CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		batch := make([]storage.Message, 0, per)
		for seq := 1; seq <= per; seq++ {
			batch = append(batch, storage.Message{ConvID: conv, Seq: uint64(seq), MsgID: uint64(seq), Sender: "alice",
				Body: []byte(strings.Repeat("x", 100)), ServerTS: time.Now()})
		}
		for len(batch) > 0 {
			n := min(len(batch), 500)
			if err := s.AppendMessages(ctx, conv, 0, batch[:n]); err != nil {
				b.Fatal(err)
			}
			batch = batch[n:]
		}
	}
	b.ResetTimer()
	start := time.Now()
	e, err := export.New(s, export.Config{Brokers: strings.Split(bk, ","), CheckpointInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	<-e.Ready()
	for {
		cp, err := s.LoadCheckpoint(ctx, "export/kafka")
		done := err == nil && len(cp.ConvSeqs) == convs
		for _, v := range cp.ConvSeqs {
			done = done && v == uint64(per)
		}
		if done {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(per*convs)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	e.Close()
}
