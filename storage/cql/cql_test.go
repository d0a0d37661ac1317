package cql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/cql/cqlenv"
	"github.com/switchboard-im/switchboard/storage/storagetest"
)

// The tests need a real Cassandra or ScyllaDB:
//
//	eval "export $(bash scripts/cassandra.sh start)"
//	go test ./storage/cql/
//
// Without SWITCHBOARD_CQL_HOSTS they skip, except under CI=true, where a
// skip would hide that the backend went untested (cqlenv.Hosts).

// testConfig returns a config for a fresh keyspace, dropped at cleanup.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Hosts = cqlenv.Hosts(tb)
	cfg.Keyspace = cqlenv.Keyspace(tb, cfg.Hosts, "sbtest")
	cfg.Consistency = gocql.One
	return cfg
}

func openWith(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	return s
}

func openTestStore(t *testing.T) storage.Store { return openWith(t, testConfig(t)) }

func TestConformance(t *testing.T) {
	t.Run("cql", func(t *testing.T) { storagetest.Run(t, openTestStore) })
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func msgs(conv string, from, to uint64) []storage.Message {
	var out []storage.Message
	for seq := from; seq <= to; seq++ {
		out = append(out, storage.Message{ConvID: conv, Seq: seq, Sender: "u", Body: []byte(fmt.Sprint(seq))})
	}
	return out
}

func seqList(ms []storage.Message) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, m.Seq)
	}
	return b.String()
}

func span(from, to uint64) string {
	var b strings.Builder
	step := uint64(1)
	if from > to {
		step = ^uint64(0) // -1
	}
	for s := from; ; s += step {
		if s != from {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, s)
		if s == to {
			break
		}
	}
	return b.String()
}

// TestCQL holds the backend-specific tests on one keyspace with small
// buckets, so bucket edges are crossed with few rows.
func TestCQL(t *testing.T) {
	cfg := testConfig(t)
	cfg.MessageBucketSize, cfg.InboxBucketSize = 10, 10
	s := openWith(t, cfg)
	t.Cleanup(func() { s.Close() })

	t.Run("BucketsCrossing", func(t *testing.T) { testBucketsCrossing(t, s) })
	t.Run("EpochRaceWithReserve", func(t *testing.T) { testEpochRaceWithReserve(t, s) })
	t.Run("HintProbeAfterCrash", func(t *testing.T) { testHintProbeAfterCrash(t, s) })
	t.Run("HintNeverBackwards", func(t *testing.T) { testHintNeverBackwards(t, s) })
	t.Run("InboxProbeAfterCrash", func(t *testing.T) { testInboxProbeAfterCrash(t, s) })
	t.Run("ConditionalBatchAllOrNothing", func(t *testing.T) { testConditionalBatch(t, s) })
	t.Run("ConcurrentReadCursor", func(t *testing.T) { testConcurrentReadCursor(t, s) })
}

func testBucketsCrossing(t *testing.T, s *Store) {
	ctx := testCtx(t)
	conv := "cross"
	must(t, s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup}))
	// One batch spanning buckets 0..3 (seqs 1..9, 10..19, 20..29, 30..35).
	must(t, s.AppendMessages(ctx, conv, 0, msgs(conv, 1, 35)))
	head, err := s.GetConversation(ctx, conv)
	must(t, err)
	if head.LastSeq != 35 {
		t.Fatalf("last seq %d, want 35", head.LastSeq)
	}
	for _, tc := range []struct {
		from, to uint64
		order    storage.Order
		limit    int
		want     string
	}{
		{1, 0, storage.NewestFirst, 12, span(35, 24)},
		{1, 0, storage.OldestFirst, 12, span(1, 12)},
		{5, 31, storage.NewestFirst, 100, span(31, 5)},
		{9, 21, storage.OldestFirst, 100, span(9, 21)},
		{10, 10, storage.OldestFirst, 5, "10"},
		{19, 20, storage.NewestFirst, 5, "20 19"},
		{30, 0, storage.OldestFirst, 100, span(30, 35)},
		{36, 0, storage.OldestFirst, 100, ""},
	} {
		got, err := s.ListMessages(ctx, conv, tc.from, tc.to, tc.order, tc.limit)
		must(t, err)
		if seqList(got) != tc.want {
			t.Errorf("ListMessages(%d, %d, %d, %d) = %s, want %s", tc.from, tc.to, tc.order, tc.limit, seqList(got), tc.want)
		}
	}
	// A batch over an existing seq in a later bucket fails as a whole
	// partition: 36..39 may be written, 40 and 41 are not.
	err = s.AppendMessages(ctx, conv, 0, append(msgs(conv, 40, 41), msgs(conv, 35, 35)...))
	if !errors.Is(err, storage.ErrSeqExists) {
		t.Fatalf("append over seq 35: %v, want ErrSeqExists", err)
	}
}

// testEpochRaceWithReserve: two activations race; the loser cannot reserve.
func testEpochRaceWithReserve(t *testing.T, s *Store) {
	ctx := testCtx(t)
	for round := 0; round < 5; round++ {
		conv := fmt.Sprintf("race-%d", round)
		must(t, s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindDirect}))
		var wg sync.WaitGroup
		epochs := make([]uint64, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				epochs[i], errs[i] = s.AcquireEpoch(ctx, conv, 0)
			}()
		}
		wg.Wait()
		winner, loser := 0, 1
		if errs[0] != nil {
			winner, loser = 1, 0
		}
		if errs[winner] != nil || !errors.Is(errs[loser], storage.ErrEpochLost) {
			t.Fatalf("round %d: errors %v, want one nil and one ErrEpochLost", round, errs)
		}
		must(t, s.ReserveSeqs(ctx, conv, epochs[winner], 100))
		// The loser's idea of the epoch (0, it never got 1) is fenced off.
		if err := s.ReserveSeqs(ctx, conv, 0, 200); !errors.Is(err, storage.ErrEpochLost) {
			t.Fatalf("round %d: stale reserve: %v", round, err)
		}
	}
	if err := s.ReserveSeqs(ctx, "no-such-conv", 0, 1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("reserve on a missing conversation: %v", err)
	}
}

// writeRowsOnly stores messages as a writer that crashed before raising
// the hint would have left them.
func writeRowsOnly(t *testing.T, s *Store, conv string, ms []storage.Message) {
	t.Helper()
	for _, chunk := range s.partitionChunks(conv, ms) {
		must(t, s.insertIfNotExists(testCtx(t), msgInsert, chunk))
	}
}

func testHintProbeAfterCrash(t *testing.T, s *Store) {
	ctx := testCtx(t)
	lastSeq := func(conv string) uint64 {
		t.Helper()
		h, err := s.GetConversation(ctx, conv)
		must(t, err)
		return h.LastSeq
	}

	// Same bucket as the hint.
	must(t, s.CreateConversation(ctx, storage.Conversation{ID: "crash1", Kind: storage.KindGroup}))
	must(t, s.AppendMessages(ctx, "crash1", 0, msgs("crash1", 1, 3)))
	writeRowsOnly(t, s, "crash1", msgs("crash1", 4, 6))
	if got := lastSeq("crash1"); got != 6 {
		t.Fatalf("same bucket: last seq %d, want 6", got)
	}

	// Crossing full buckets: hint 5, rows to 27 (buckets 0, 1, 2 full up to 27).
	must(t, s.CreateConversation(ctx, storage.Conversation{ID: "crash2", Kind: storage.KindGroup}))
	must(t, s.AppendMessages(ctx, "crash2", 0, msgs("crash2", 1, 5)))
	writeRowsOnly(t, s, "crash2", msgs("crash2", 6, 27))
	if got := lastSeq("crash2"); got != 27 {
		t.Fatalf("full buckets: last seq %d, want 27", got)
	}
	// The newest page sees them too (toSeq 0 uses the probed last seq).
	page, err := s.ListMessages(ctx, "crash2", 1, 0, storage.NewestFirst, 3)
	must(t, err)
	if seqList(page) != "27 26 25" {
		t.Fatalf("newest page %s", seqList(page))
	}

	// A gap: an activation reserved 1..40, wrote 1..3 with hints, crashed;
	// the next one wrote 31..33 and crashed before its hint. The probe walks
	// down from the reservation.
	conv := "crash3"
	must(t, s.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup}))
	e, err := s.AcquireEpoch(ctx, conv, 0)
	must(t, err)
	must(t, s.ReserveSeqs(ctx, conv, e, 40))
	must(t, s.AppendMessages(ctx, conv, 0, msgs(conv, 1, 3)))
	writeRowsOnly(t, s, conv, msgs(conv, 31, 33))
	if got := lastSeq(conv); got != 33 {
		t.Fatalf("gap below the reservation: last seq %d, want 33", got)
	}
	// The next append raises the hint again.
	must(t, s.AppendMessages(ctx, conv, 0, msgs(conv, 34, 34)))
	if got := lastSeq(conv); got != 34 {
		t.Fatalf("after a new append: last seq %d, want 34", got)
	}
}

func testHintNeverBackwards(t *testing.T, s *Store) {
	ctx := testCtx(t)
	conv := "hint"
	must(t, s.setHint(ctx, convHintSet, conv, 50))
	must(t, s.setHint(ctx, convHintSet, conv, 20)) // a slower, older append lands late
	got, err := s.readHint(ctx, convHintGet, conv)
	must(t, err)
	if got != 50 {
		t.Fatalf("hint %d after 50 then 20, want 50", got)
	}
	// Async appends completing out of order leave the right last seq.
	must(t, s.CreateConversation(ctx, storage.Conversation{ID: "async", Kind: storage.KindGroup}))
	var wg sync.WaitGroup
	for seq := uint64(1); seq <= 40; seq++ {
		wg.Add(1)
		s.AppendMessagesAsync(ctx, "async", 0, msgs("async", seq, seq), func(err error) {
			defer wg.Done()
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h, err := s.GetConversation(ctx, "async")
	must(t, err)
	if h.LastSeq != 40 {
		t.Fatalf("last seq after async appends %d, want 40", h.LastSeq)
	}
}

func testInboxProbeAfterCrash(t *testing.T, s *Store) {
	ctx := testCtx(t)
	user := "inbox-crash"
	entries := func(from, to uint64) []storage.InboxEntry {
		var out []storage.InboxEntry
		for seq := from; seq <= to; seq++ {
			out = append(out, storage.InboxEntry{Seq: seq, Kind: storage.InboxMessage, ConvID: "c", ConvSeq: seq})
		}
		return out
	}
	must(t, s.AppendInbox(ctx, user, entries(1, 4)))
	// Rows 5..23 without the hint, across two full buckets.
	var rows []any
	for _, e := range entries(5, 23) {
		rows = append(rows, inboxRow{UserID: user, Bucket: bucketOf(e.Seq, 10), Seq: int64(e.Seq), Kind: int(e.Kind), ConvID: "c", ConvSeq: int64(e.ConvSeq)})
	}
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && rows[n].(inboxRow).Bucket == rows[0].(inboxRow).Bucket {
			n++
		}
		must(t, s.insertIfNotExists(ctx, inboxInsert, rows[:n]))
		rows = rows[n:]
	}
	last, err := s.LastInboxSeq(ctx, user)
	must(t, err)
	if last != 23 {
		t.Fatalf("last inbox seq %d, want 23", last)
	}
	page, err := s.ListInbox(ctx, user, 8, 100)
	must(t, err)
	if len(page) != 15 || page[0].Seq != 9 || page[14].Seq != 23 {
		t.Fatalf("inbox page after 8: %d entries", len(page))
	}
}

// testConditionalBatch: a batch of one partition with one existing seq
// writes nothing.
func testConditionalBatch(t *testing.T, s *Store) {
	ctx := testCtx(t)
	conv := "cond"
	must(t, s.AppendMessages(ctx, conv, 0, msgs(conv, 5, 5)))
	err := s.AppendMessages(ctx, conv, 0, msgs(conv, 1, 8))
	if !errors.Is(err, storage.ErrSeqExists) {
		t.Fatalf("append 1..8 over 5: %v", err)
	}
	got, err := s.ListMessages(ctx, conv, 1, 9, storage.OldestFirst, 100)
	must(t, err)
	if seqList(got) != "5" {
		t.Fatalf("after a refused batch: %s, want only 5", seqList(got))
	}
}

func testConcurrentReadCursor(t *testing.T, s *Store) {
	ctx := testCtx(t)
	var wg sync.WaitGroup
	var maxSeen atomic.Uint64
	for i := 1; i <= 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.AdvanceReadCursor(ctx, "reader", "conv", uint64(i))
			if err != nil {
				t.Error(err)
				return
			}
			if got < uint64(i) {
				t.Errorf("advance to %d returned %d", i, got)
			}
			for {
				m := maxSeen.Load()
				if got <= m || maxSeen.CompareAndSwap(m, got) {
					break
				}
			}
		}()
	}
	wg.Wait()
	uc, err := s.GetUserConv(ctx, "reader", "conv")
	must(t, err)
	if uc.ReadSeq != 12 {
		t.Fatalf("read cursor %d after concurrent advances to 1..12, want 12", uc.ReadSeq)
	}
}

// TestTouchWithoutMemory: a touch by a store that does not remember the
// later activity (another node, a restart) cannot move it back: the write
// is max-wins by its timestamp, with no read.
func TestTouchWithoutMemory(t *testing.T) {
	cfg := testConfig(t)
	a, b := openWith(t, cfg), openWith(t, cfg)
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, a.TouchConversation(ctx, "u", "c", at.Add(time.Minute)))
	must(t, b.TouchConversation(ctx, "u", "c", at))
	got, err := b.GetUserConv(ctx, "u", "c")
	must(t, err)
	if !got.LastActivity.Equal(at.Add(time.Minute)) {
		t.Fatalf("last activity %v, want %v (the later touch)", got.LastActivity, at.Add(time.Minute))
	}
}

// TestOpenConcurrently: two processes opening a new keyspace at once both
// succeed, and a later open finds nothing to apply.
func TestOpenConcurrently(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	again := openWith(t, cfg)
	defer again.Close()
	must(t, stores[0].CreateConversation(ctx, storage.Conversation{ID: "x", Kind: storage.KindDirect}))
	if _, err := again.GetConversation(ctx, "x"); err != nil {
		t.Fatal(err)
	}
}

// TestCloseDrainsAsync: Close waits for queued appends; each done runs once.
func TestCloseDrainsAsync(t *testing.T) {
	cfg := testConfig(t)
	cfg.AsyncWorkers, cfg.AsyncQueue = 2, 4
	s := openWith(t, cfg)
	ctx := context.Background()
	const n = 100
	var calls [n + 1]atomic.Int32
	for seq := uint64(1); seq <= n; seq++ {
		s.AppendMessagesAsync(ctx, "drain", 0, msgs("drain", seq, seq), func(err error) {
			if err != nil {
				t.Errorf("seq %d: %v", seq, err)
			}
			calls[seq].Add(1)
		})
	}
	must(t, s.Close())
	for seq := 1; seq <= n; seq++ {
		if c := calls[seq].Load(); c != 1 {
			t.Fatalf("done of seq %d called %d times after Close", seq, c)
		}
	}
	done := make(chan error, 1)
	s.AppendMessagesAsync(ctx, "drain", 0, msgs("drain", n+1, n+1), func(err error) { done <- err })
	if err := <-done; !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("append after Close: %v, want ErrClosed", err)
	}
	if _, err := s.GetMessage(ctx, "drain", 1); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("read after Close: %v, want ErrClosed", err)
	}
}
