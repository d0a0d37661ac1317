package analytics

import (
	"context"
	"fmt"

	"github.com/switchboard-im/switchboard/storage"
)

// Page sizes for reading the log.
const (
	convPage = 256
	msgPage  = 512
)

// Recompute is the batch computation: it feeds every stored message of
// every service conversation, oldest first, to a fresh engine. Its results
// are what a streaming engine fed the same log reports.
func Recompute(ctx context.Context, store storage.Store, cfg Config) (*Engine, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	cursor := ""
	for {
		convs, next, err := store.ListConversations(ctx, cursor, convPage)
		if err != nil {
			return nil, fmt.Errorf("metrics: recompute: %w", err)
		}
		for _, c := range convs {
			if c.Kind != storage.KindService {
				continue
			}
			if err := e.CatchUp(ctx, store, c.ID); err != nil {
				return nil, fmt.Errorf("metrics: recompute: %w", err)
			}
		}
		if next == "" {
			return e, nil
		}
		cursor = next
	}
}

// CatchUp feeds one conversation's stored messages after the seq already
// consumed, e.g. after a Restore. The caller checks the conversation is a
// service conversation.
func (e *Engine) CatchUp(ctx context.Context, store storage.Store, convID string) error {
	from := e.ConvSeq(convID) + 1
	for {
		msgs, err := store.ListMessages(ctx, convID, from, 0, storage.OldestFirst, msgPage)
		if err != nil {
			return fmt.Errorf("conversation %q from seq %d: %w", convID, from, err)
		}
		for i := range msgs {
			if err := e.Process(EventFromMessage(msgs[i])); err != nil {
				return fmt.Errorf("conversation %q: %w", convID, err)
			}
		}
		if len(msgs) < msgPage {
			return nil
		}
		from = msgs[len(msgs)-1].Seq + 1
	}
}
