package cql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// opCost is what one operation cost on average over a run.
type opCost struct {
	name                              string
	queries, batches, batchRows, lwts float64
	latency                           time.Duration
}

// measure runs op n times (i = 1..n) and averages the requests it sent.
func measure(t *testing.T, s *Store, name string, n int, op func(i int) error) opCost {
	t.Helper()
	before := s.Stats()
	start := time.Now()
	for i := 1; i <= n; i++ {
		if err := op(i); err != nil {
			t.Fatalf("%s #%d: %v", name, i, err)
		}
	}
	el := time.Since(start)
	d := s.Stats().Sub(before)
	f := float64(n)
	return opCost{name: name, queries: float64(d.Queries) / f, batches: float64(d.Batches) / f,
		batchRows: float64(d.BatchRows) / f, lwts: float64(d.LWTs) / f, latency: el / time.Duration(n)}
}

func costTable(costs []opCost) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| operation | requests | queries | batches (rows) | LWT | latency |\n|---|---|---|---|---|---|\n")
	for _, c := range costs {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f (%.2f) | %.2f | %v |\n", c.name, c.queries+c.batches,
			c.queries, c.batches, c.batchRows, c.lwts, c.latency.Round(10*time.Microsecond))
	}
	return b.String()
}

// TestOpCost measures, in requests and lightweight transactions, what the
// store operations behind one chat message cost on Cassandra, in steady
// state (rows already exist), and logs the table docs/PERFORMANCE.md shows.
func TestOpCost(t *testing.T) {
	s := openWith(t, testConfig(t))
	defer s.Close()
	ctx := testCtx(t)
	const n = 50
	conv, alice, bob := "cost-c", "cost-alice", "cost-bob"
	must(t, s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindDirect}))
	epoch, err := s.AcquireEpoch(ctx, conv, 0)
	must(t, err)
	must(t, s.ReserveSeqs(ctx, conv, epoch, 1000)) // as a grain does: SeqReserve ahead
	seq, inbox := uint64(0), uint64(0)
	now := time.Now()
	msg := func() storage.Message {
		seq++
		return storage.Message{ConvID: conv, Seq: seq, MsgID: seq, ClientMsgID: fmt.Sprint("k", seq), Sender: alice,
			Body: make([]byte, 100), ServerTS: now.Add(time.Duration(seq) * time.Millisecond)}
	}
	appendAsync := func() error {
		done := make(chan error, 1)
		s.AppendMessagesAsync(ctx, conv, epoch, []storage.Message{msg()}, func(err error) { done <- err })
		return <-done
	}
	entry := func(user string) []storage.InboxEntry {
		inbox++
		return []storage.InboxEntry{{UserID: user, Seq: inbox, Kind: storage.InboxMessage, ConvID: conv, ConvSeq: seq, At: now}}
	}
	// Warm up: first writes of each row and the prepared-statement cache.
	must(t, appendAsync())
	must(t, s.AppendInbox(ctx, alice, entry(alice)))
	must(t, s.TouchConversation(ctx, alice, conv, now))
	_, err = s.SetDeviceCursor(ctx, alice, "phone", 1, now)
	must(t, err)
	_, err = s.AdvanceReadCursor(ctx, bob, conv, 1)
	must(t, err)
	at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Second) }

	costs := []opCost{
		measure(t, s, "AppendMessagesAsync (1 message)", n, func(int) error { return appendAsync() }),
		measure(t, s, "AppendMessagesAsync (1 message, 8 in flight)", n, func(i int) error {
			if i%8 != 0 {
				return nil
			}
			done := make(chan error, 8)
			for range 8 {
				s.AppendMessagesAsync(ctx, conv, epoch, []storage.Message{msg()}, func(err error) { done <- err })
			}
			for range 8 {
				if err := <-done; err != nil {
					return err
				}
			}
			return nil
		}),
		measure(t, s, "AppendInbox (1 entry)", n, func(int) error { return s.AppendInbox(ctx, alice, entry(alice)) }),
		measure(t, s, "TouchConversation", n, func(i int) error { return s.TouchConversation(ctx, alice, conv, at(i)) }),
		measure(t, s, "SetDeviceCursor", n, func(i int) error {
			_, err := s.SetDeviceCursor(ctx, alice, "phone", uint64(i+1), at(i))
			return err
		}),
		measure(t, s, "AdvanceReadCursor", n, func(i int) error {
			_, err := s.AdvanceReadCursor(ctx, bob, conv, uint64(i+1))
			return err
		}),
		measure(t, s, "1:1 message (grain calls: append, 2 inbox, 2 touch, device cursor, read cursor)", n, func(i int) error {
			if err := appendAsync(); err != nil {
				return err
			}
			for _, u := range []string{alice, bob} {
				if err := s.AppendInbox(ctx, u, entry(u)); err != nil {
					return err
				}
				if err := s.TouchConversation(ctx, u, conv, at(n+i)); err != nil {
					return err
				}
			}
			if _, err := s.SetDeviceCursor(ctx, alice, "phone", uint64(n+i+1), at(i)); err != nil {
				return err
			}
			_, err := s.AdvanceReadCursor(ctx, bob, conv, seq)
			return err
		}),
		measure(t, s, "read: ListMessages newest 50", n, func(int) error {
			_, err := s.ListMessages(ctx, conv, 1, 0, storage.NewestFirst, 50)
			return err
		}),
		measure(t, s, "sync page: ListInbox 100", n, func(int) error {
			_, err := s.ListInbox(ctx, alice, max(inbox, 100)-100, 100)
			return err
		}),
		measure(t, s, "conversation list: ListMemberships + GetUserConv", n, func(int) error {
			if _, err := s.ListMemberships(ctx, alice, "", 1000); err != nil {
				return err
			}
			_, err := s.GetUserConv(ctx, alice, conv)
			return err
		}),
		measure(t, s, "activation: GetConversation + AcquireEpoch + ReserveSeqs", 10, func(int) error {
			head, err := s.GetConversation(ctx, conv)
			if err != nil {
				return err
			}
			e, err := s.AcquireEpoch(ctx, conv, head.Epoch)
			if err != nil {
				return err
			}
			return s.ReserveSeqs(ctx, conv, e, head.LastSeq+1000)
		}),
	}
	t.Log(costTable(costs))
}
