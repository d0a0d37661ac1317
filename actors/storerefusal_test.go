package actors_test

import (
	"context"
	"sync"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// strictStore reports a sender id limit lower than the ids the node
// hands it, and enforces its limits on appends: a store rule the
// conversation grain does not check before it gives a seq.
type strictStore struct {
	storage.Store
}

func (s strictStore) Limits() storage.Limits {
	l := s.Store.Limits()
	l.MaxIDBytes = 12
	return l
}

func (s strictStore) AppendMessagesAsync(ctx context.Context, conv string, epoch uint64, msgs []storage.Message, done func(error)) {
	if err := s.Limits().CheckMessages(conv, msgs); err != nil {
		done(err)
		return
	}
	s.Store.AppendMessagesAsync(ctx, conv, epoch, msgs, done)
}

// TestStoreRefusedBatchCostsOnlyItsMessage: when the store refuses a
// batch's content, the message it refuses alone is answered INVALID, the
// messages written with it are answered RETRY and go through when sent
// again, and the activation goes on (no fence, so no retry storm).
func TestStoreRefusedBatchCostsOnlyItsMessage(t *testing.T) {
	store := strictStore{openStore(t)}
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	const conv, long = "g:strict", "a-sender-over-12"
	mustCreateGroup(t, node, conv, "a", long)
	mustSend(t, node, conv, "a", "before")

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sender := "a"
			if i == 3 {
				sender = long
			}
			for {
				_, errs[i] = send(ctx, node, conv, sender, "x")
				if actors.CodeOf(errs[i]) != pb.Code_RETRY {
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		want := pb.Code_OK
		if i == 3 {
			want = pb.Code_INVALID
		}
		if got := actors.CodeOf(err); got != want {
			t.Fatalf("send %d: %v (%v), want %v", i, got, err, want)
		}
	}
	mustSend(t, node, conv, "a", "after")
	msgs, err := store.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, m := range msgs {
		if m.Kind == storage.MsgNormal {
			if m.Sender == long {
				t.Fatalf("the refused message is stored: %+v", m)
			}
			n++
		}
	}
	if n != 9 {
		t.Fatalf("%d messages stored, want 9 (before, 7 sends, after)", n)
	}
}
