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
	conv, alice, bob, carol, dave := "cost-c", "cost-alice", "cost-bob", "cost-carol", "cost-dave"
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
	must(t, s.AppendInbox(ctx, dave, entry(dave)))
	must(t, s.TouchConversation(ctx, alice, conv, now))
	_, err = s.SetDeviceCursor(ctx, alice, "phone", 1, now)
	must(t, err)
	_, err = s.AdvanceReadCursor(ctx, bob, conv, 1)
	must(t, err)
	at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Second) }
	// User grains: an inbox epoch each and a reservation, as on activation.
	group := []string{alice, bob}
	for k := range 6 {
		group = append(group, fmt.Sprint("cost-member-", k))
	}
	leases := map[string]storage.InboxLease{}
	next := map[string]uint64{}
	for _, u := range group {
		l, err := s.AcquireInbox(ctx, u)
		must(t, err)
		must(t, s.ReserveInboxSeqs(ctx, u, l.Epoch, l.LastSeq+1000))
		leases[u], next[u] = l, l.LastSeq
	}
	flush := func(user string, entries int, act time.Time, device bool) storage.UserWrite {
		var w storage.UserWrite
		for range entries {
			next[user]++
			w.Inbox = append(w.Inbox, storage.InboxEntry{Seq: next[user], Kind: storage.InboxMessage, ConvID: conv, ConvSeq: seq, At: now})
		}
		w.Activity = []storage.ActivityMove{{ConvID: conv, At: act}}
		if device {
			w.Devices = []storage.Device{{DeviceID: "phone", Cursor: next[user], LastSeen: act}}
		}
		return w
	}
	for _, u := range group {
		must(t, s.WriteUser(ctx, u, leases[u].Epoch, flush(u, 1, at(0), true)))
	}

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
		measure(t, s, "AppendInbox (1 entry)", n, func(int) error { return s.AppendInbox(ctx, dave, entry(dave)) }),
		measure(t, s, "TouchConversation", n, func(i int) error { return s.TouchConversation(ctx, alice, conv, at(i)) }),
		measure(t, s, "SetDeviceCursor", n, func(i int) error {
			_, err := s.SetDeviceCursor(ctx, alice, "phone", uint64(i+1), at(i))
			return err
		}),
		measure(t, s, "AdvanceReadCursor", n, func(i int) error {
			_, err := s.AdvanceReadCursor(ctx, bob, conv, uint64(i+1))
			return err
		}),
		measure(t, s, "WriteUser (1 entry, 1 activity)", n, func(i int) error {
			return s.WriteUser(ctx, bob, leases[bob].Epoch, flush(bob, 1, at(n+i), false))
		}),
		measure(t, s, "1:1 message (append; sender flush: 2 entries, activity, read cursor; receiver flush: entry, activity, device cursor)", n, func(i int) error {
			if err := appendAsync(); err != nil {
				return err
			}
			w := flush(alice, 2, at(2*n+i), false)
			w.Reads = []storage.ReadMove{{ConvID: conv, Seq: seq}}
			if err := s.WriteUser(ctx, alice, leases[alice].Epoch, w); err != nil {
				return err
			}
			return s.WriteUser(ctx, bob, leases[bob].Epoch, flush(bob, 1, at(2*n+i), true))
		}),
		measure(t, s, "small group message (append; 8 member flushes)", n, func(i int) error {
			if err := appendAsync(); err != nil {
				return err
			}
			ws := make([]storage.UserWrite, len(group)) // built first: flush numbers entries in a map
			for k, u := range group {
				ws[k] = flush(u, 1, at(3*n+i), false)
			}
			return parallel(len(group), 8, func(k int) error {
				return s.WriteUser(ctx, group[k], leases[group[k]].Epoch, ws[k])
			})
		}),
		measure(t, s, "large group message (append; the sender's flush only: read fan-out)", n, func(i int) error {
			if err := appendAsync(); err != nil {
				return err
			}
			w := flush(alice, 1, at(4*n+i), false)
			w.Reads = []storage.ReadMove{{ConvID: conv, Seq: seq}}
			return s.WriteUser(ctx, alice, leases[alice].Epoch, w)
		}),
		measure(t, s, "read: ListMessages newest 50", n, func(int) error {
			_, err := s.ListMessages(ctx, conv, 1, 0, storage.NewestFirst, 50)
			return err
		}),
		measure(t, s, "sync page: ListInbox 100", n, func(int) error {
			_, err := s.ListInbox(ctx, dave, max(inbox, 100)-100, 100)
			return err
		}),
		measure(t, s, "conversation list: ListMemberships + GetUserConv", n, func(int) error {
			if _, err := s.ListMemberships(ctx, alice, "", 1000); err != nil {
				return err
			}
			_, err := s.GetUserConv(ctx, alice, conv)
			return err
		}),
		measure(t, s, "reconnect (user grain activation: AcquireInbox + ListDevices + ListMemberships)", 10, func(int) error {
			if _, err := s.AcquireInbox(ctx, carol); err != nil {
				return err
			}
			if _, err := s.ListDevices(ctx, carol); err != nil {
				return err
			}
			_, err := s.ListMemberships(ctx, carol, "", 1000)
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
