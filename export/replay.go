package export

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/storage"
)

// Replay re-publishes every stored message with from <= server time < to
// (to zero: no upper bound), with the same records and event ids as the
// live export, for a consumer that lost data. It returns the number of
// messages published. It does not touch the exporter's checkpoint.
func Replay(ctx context.Context, store storage.Store, cl *kgo.Client, from, to time.Time, page int) (int, error) {
	return ReplayFormat(ctx, store, cl, FormatJSON, from, to, page)
}

// ReplayFormat is Replay with records in format f.
func ReplayFormat(ctx context.Context, store storage.Store, cl *kgo.Client, f Format, from, to time.Time, page int) (int, error) {
	if page <= 0 {
		page = 500
	}
	if !to.IsZero() && !from.Before(to) {
		return 0, fmt.Errorf("export replay: --from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	n := 0
	var batch []*kgo.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			return fmt.Errorf("export replay: produce: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	cursor := ""
	for {
		convs, next, err := store.ListConversations(ctx, cursor, 500)
		if err != nil {
			return n, fmt.Errorf("export replay: list conversations: %w", err)
		}
		for _, c := range convs {
			var after uint64
			for {
				msgs, err := store.ListMessages(ctx, c.ID, after+1, math.MaxUint64, storage.OldestFirst, page)
				if err != nil {
					return n, fmt.Errorf("export replay: read %s: %w", c.ID, err)
				}
				for _, m := range msgs {
					after = m.Seq
					if m.ServerTS.Before(from) || (!to.IsZero() && !m.ServerTS.Before(to)) {
						continue
					}
					batch = append(batch, records(f, m)...)
					n++
				}
				if len(batch) >= page {
					if err := flush(); err != nil {
						return n, err
					}
				}
				if len(msgs) < page {
					break
				}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return n, flush()
}

// records are the Kafka records of one stored message: its message record
// and, for recalls, membership changes and desk steps, an event record.
func records(f Format, m storage.Message) []*kgo.Record {
	recs := make([]*kgo.Record, 0, 2)
	if b, err := encodeMessage(f, m); err == nil {
		recs = append(recs, &kgo.Record{Topic: TopicMessages, Key: []byte(m.ConvID), Value: b})
	}
	if st, ok := deskStepFor(m); ok {
		// A desk step is a "desk" event, not a membership change (the
		// membership it implies is in docs/DESK.md's table).
		if b, err := encode(f, st); err == nil {
			recs = append(recs, &kgo.Record{Topic: TopicEvents, Key: []byte(m.ConvID), Value: b})
		}
	} else if ev, ok := eventFor(m); ok {
		if b, err := encode(f, ev); err == nil {
			recs = append(recs, &kgo.Record{Topic: TopicEvents, Key: []byte(m.ConvID), Value: b})
		}
	}
	return recs
}
