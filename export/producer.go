package export

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// producer is where the export paths hand their records: a Kafka client,
// or a webhook (webhook.go) for a business without Kafka. Both keep one
// key's records in the order given, hold at most a bounded number
// (TryProduce answers kgo.ErrMaxBuffered beyond it) and retry until the
// record is delivered or the producer is closed.
type producer interface {
	TryProduce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
	Flush(ctx context.Context) error
	Close()
}

// newProducer returns cfg's producer holding at most maxBuffered records.
func newProducer(cfg Config, maxBuffered int) (producer, error) {
	if cfg.WebhookURL != "" {
		return newWebhook(cfg, maxBuffered), nil
	}
	return NewClient(cfg, kgo.MaxBufferedRecords(maxBuffered))
}
