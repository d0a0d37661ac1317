package export_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	catchUp(b, export.Config{Brokers: strings.Split(bk, ",")}, "export/kafka")
}

// BenchmarkWebhookCatchUp is BenchmarkCatchUp through the export webhook
// to a receiver on loopback that reads each batch and answers 204.
func BenchmarkWebhookCatchUp(b *testing.B) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hs.Close()
	catchUp(b, export.Config{WebhookURL: hs.URL, WebhookSecret: []byte("a-secret-of-32-bytes-for-bench!!")}, "export/webhook")
}

// catchUp stores b.N messages in 100 conversations and exports them with
// cfg from an empty checkpoint (saved under key), reporting messages/s.
func catchUp(b *testing.B, cfg export.Config, key string) {
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
	cfg.CheckpointInterval = 10 * time.Millisecond
	e, err := export.New(s, cfg)
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	<-e.Ready()
	for {
		cp, err := s.LoadCheckpoint(ctx, key)
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
