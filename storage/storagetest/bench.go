package storagetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Bench runs the shared storage benchmarks against the store open returns:
// durable appends with 1, 16 and 256 concurrent writers, the latest page of
// a conversation, inbox append + page, and a fenced grain's activation.
func Bench(b *testing.B, open func(b *testing.B) storage.Store) {
	s := open(b)
	defer s.Close()
	run := uniqueRun()
	body := make([]byte, 100) // a typical short chat message
	for _, writers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("Append/writers=%d", writers), func(b *testing.B) {
			benchAppend(b, s, fmt.Sprintf("%s-w%d-%d", run, writers, runCounter.Add(1)), writers, body)
		})
	}
	// Pipelined: each writer keeps several appends in flight with
	// AppendMessagesAsync, as a conversation grain does.
	b.Run("AppendPipelined/writers=256/inflight=8", func(b *testing.B) {
		benchAppendPipelined(b, s, fmt.Sprintf("%s-p-%d", run, runCounter.Add(1)), 256, 8, body, false)
	})
	// The same with each writer holding an epoch, as a conversation grain
	// does: the backend may skip its per-row seq check.
	b.Run("AppendFenced/writers=256/inflight=8", func(b *testing.B) {
		benchAppendPipelined(b, s, fmt.Sprintf("%s-f-%d", run, runCounter.Add(1)), 256, 8, body, true)
	})
	b.Run("LatestPage", func(b *testing.B) { benchLatestPage(b, s, fmt.Sprintf("%s-page-%d", run, runCounter.Add(1)), body) })
	b.Run("InboxAppendPage", func(b *testing.B) { benchInbox(b, s, fmt.Sprintf("%s-inbox-%d", run, runCounter.Add(1))) })
	if f := storage.FencesOf(s); f != nil {
		for _, inflight := range []int{8, 32} {
			b.Run(fmt.Sprintf("CheckpointActivate/inflight=%d", inflight), func(b *testing.B) {
				benchActivate(b, s, f, fmt.Sprintf("%s-act-%d", run, runCounter.Add(1)), inflight)
			})
		}
	}
}

// benchActivate: what a desk grain's activation asks of the store, inflight
// at a time, as a node's start-up wakes open sessions' threads: take the
// fence of its checkpoint, then read the checkpoint.
func benchActivate(b *testing.B, s storage.Store, f storage.FencedCheckpoints, prefix string, inflight int) {
	ctx := context.Background()
	const keys = 256
	for k := range keys {
		cp := storage.Checkpoint{Key: fmt.Sprintf("%s/%d", prefix, k), State: []byte(`{"session":{"state":"bot"}}`), At: time.Now()}
		if err := s.SaveCheckpoint(ctx, cp); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				key := fmt.Sprintf("%s/%d", prefix, i%keys)
				if _, err := f.AcquireCheckpointFence(ctx, key); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.LoadCheckpoint(ctx, key); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "activations/s")
}

// benchAppend: each writer owns a conversation and appends one-message
// batches with increasing seqs, waiting for each to be durable — the way a
// conversation grain's pipeline would if it sent one message at a time.
func benchAppend(b *testing.B, s storage.Store, prefix string, writers int, body []byte) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(conv string) {
			defer wg.Done()
			for seq := uint64(1); next.Add(1) <= int64(b.N); seq++ {
				m := storage.Message{Seq: seq, MsgID: seq, Sender: "bench", Body: body, ServerTS: time.Now()}
				if err := s.AppendMessages(ctx, conv, 0, []storage.Message{m}); err != nil {
					b.Error(err)
					return
				}
			}
		}(fmt.Sprintf("%s-%d", prefix, w))
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

func benchAppendPipelined(b *testing.B, s storage.Store, prefix string, writers, inflight int, body []byte, fenced bool) {
	ctx := context.Background()
	epochs := make([]uint64, writers)
	if fenced {
		for w := range epochs {
			conv := fmt.Sprintf("%s-%d", prefix, w)
			if err := s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindDirect}); err != nil {
				b.Fatal(err)
			}
			e, err := s.AcquireEpoch(ctx, conv, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.ReserveSeqs(ctx, conv, e, uint64(b.N)+1); err != nil {
				b.Fatal(err)
			}
			epochs[w] = e
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(conv string, epoch uint64) {
			defer wg.Done()
			slots := make(chan error, inflight)
			for i := 0; i < inflight; i++ {
				slots <- nil
			}
			for seq := uint64(1); next.Add(1) <= int64(b.N); seq++ {
				if err := <-slots; err != nil {
					b.Error(err)
					return
				}
				m := storage.Message{Seq: seq, MsgID: seq, Sender: "bench", Body: body, ServerTS: time.Now()}
				s.AppendMessagesAsync(ctx, conv, epoch, []storage.Message{m}, func(err error) { slots <- err })
			}
			for i := 0; i < inflight; i++ {
				if err := <-slots; err != nil {
					b.Error(err)
				}
			}
		}(fmt.Sprintf("%s-%d", prefix, w), epochs[w])
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

func benchLatestPage(b *testing.B, s storage.Store, conv string, body []byte) {
	ctx := context.Background()
	const n = 2000
	for from := uint64(1); from <= n; from += 200 {
		batch := make([]storage.Message, 0, 200)
		for seq := from; seq < from+200; seq++ {
			batch = append(batch, storage.Message{Seq: seq, Sender: "bench", Body: body, ServerTS: time.Now()})
		}
		if err := s.AppendMessages(ctx, conv, 0, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, err := s.ListMessages(ctx, conv, 1, 0, storage.NewestFirst, 50)
		if err != nil || len(page) != 50 || page[0].Seq != n {
			b.Fatalf("page: %d messages, err %v", len(page), err)
		}
	}
}

// benchInbox: append one entry, then page the last 20 — a user grain's
// delivery followed by a device's sync.
func benchInbox(b *testing.B, s storage.Store, user string) {
	ctx := context.Background()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		e := storage.InboxEntry{Seq: uint64(i), Kind: storage.InboxMessage, ConvID: "c", ConvSeq: uint64(i), At: time.Now()}
		if err := s.AppendInbox(ctx, user, []storage.InboxEntry{e}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ListInbox(ctx, user, uint64(max(0, i-20)), 20); err != nil {
			b.Fatal(err)
		}
	}
}
