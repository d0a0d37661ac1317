package cql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// writer is one activation of a conversation on its own Store (its own
// process, as far as the database can tell): it holds an epoch, reserves
// seqs in ranges and appends pipelined batches, and records what it was
// told is durable.
type writer struct {
	s        *Store
	conv     string
	name     string
	epoch    uint64
	next     uint64 // next seq to assign
	reserved uint64

	mu    sync.Mutex
	acked map[uint64]string // seq → body acknowledged
	lost  bool              // saw ErrEpochLost
}

// activate does what a conversation grain does on activation: read the
// head, take the next epoch, start above the last stored seq, reserve.
func activate(ctx context.Context, s *Store, conv, name string) (*writer, error) {
	head, err := s.GetConversation(ctx, conv)
	if err != nil {
		return nil, err
	}
	epoch, err := s.AcquireEpoch(ctx, conv, head.Epoch)
	if err != nil {
		return nil, err
	}
	recent, err := s.ListMessages(ctx, conv, 1, 0, storage.NewestFirst, 1)
	if err != nil {
		return nil, err
	}
	w := &writer{s: s, conv: conv, name: name, epoch: epoch, next: head.LastSeq + 1, acked: map[uint64]string{}}
	if len(recent) > 0 {
		w.next = max(w.next, recent[0].Seq+1)
	}
	return w, w.reserve(ctx)
}

func (w *writer) reserve(ctx context.Context) error {
	w.reserved = w.next + 15
	return w.s.ReserveSeqs(ctx, w.conv, w.epoch, w.reserved)
}

// run appends batches of 1–3 messages with up to 4 batches in flight until
// stop closes or the epoch is lost; it returns the first other error.
func (w *writer) run(ctx context.Context, stop <-chan struct{}) error {
	slots := make(chan error, 4)
	for range 4 {
		slots <- nil
	}
	defer func() {
		for range 4 {
			<-slots
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		case err := <-slots:
			if errors.Is(err, storage.ErrEpochLost) {
				slots <- nil
				return nil
			}
			if err != nil {
				slots <- nil
				return err
			}
		}
		n := uint64(1 + i%3)
		if w.next+n-1 > w.reserved {
			if err := w.reserve(ctx); err != nil {
				slots <- nil
				if errors.Is(err, storage.ErrEpochLost) {
					w.mu.Lock()
					w.lost = true
					w.mu.Unlock()
					return nil
				}
				return err
			}
		}
		batch := make([]storage.Message, n)
		for k := range batch {
			seq := w.next + uint64(k)
			batch[k] = storage.Message{ConvID: w.conv, Seq: seq, MsgID: seq, Sender: w.name,
				Body: []byte(fmt.Sprintf("%s-%d", w.name, seq)), ServerTS: time.Now()}
		}
		w.next += n
		w.s.AppendMessagesAsync(ctx, w.conv, w.epoch, batch, func(err error) {
			if err == nil {
				w.mu.Lock()
				for _, m := range batch {
					w.acked[m.Seq] = string(m.Body)
				}
				w.mu.Unlock()
			} else if errors.Is(err, storage.ErrEpochLost) {
				w.mu.Lock()
				w.lost = true
				w.mu.Unlock()
			}
			slots <- err
		})
	}
}

// TestTakeoverTwoWriters runs two activations of one conversation at once
// on two Stores against Cassandra: the first writes, the second takes over
// in the middle of its pipeline, and both keep writing until the first
// learns it lost. Whatever was acknowledged to either must be stored as
// acknowledged, every seq from the second writer's start on must be the
// second writer's, and the log must have no seq a writer never sent.
func TestTakeoverTwoWriters(t *testing.T) {
	cfg := testConfig(t)
	a, b := openWith(t, cfg), openWith(t, cfg)
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	for round := range 3 {
		conv := fmt.Sprintf("takeover-%d", round)
		must(t, a.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup}))
		old, err := activate(ctx, a, conv, "old")
		must(t, err)
		stopOld, stopNew := make(chan struct{}), make(chan struct{})
		oldErr := make(chan error, 1)
		go func() { oldErr <- old.run(ctx, stopOld) }()
		time.Sleep(time.Duration(50+100*round) * time.Millisecond)

		cur, err := activate(ctx, b, conv, "new")
		must(t, err)
		start := cur.next
		newErr := make(chan error, 1)
		go func() { newErr <- cur.run(ctx, stopNew) }()
		time.Sleep(300 * time.Millisecond)
		close(stopOld)
		must(t, <-oldErr)
		time.Sleep(100 * time.Millisecond)
		close(stopNew)
		must(t, <-newErr)

		// A stale write after everything: refused and invisible.
		stale := storage.Message{ConvID: conv, Seq: start, MsgID: 1, Sender: "old", Body: []byte("late")}
		err = a.AppendMessages(ctx, conv, old.epoch, []storage.Message{stale})
		if !errors.Is(err, storage.ErrEpochLost) {
			t.Fatalf("round %d: late stale append: %v, want ErrEpochLost", round, err)
		}
		if !old.lost {
			t.Fatalf("round %d: the old writer never learnt it lost its epoch", round)
		}

		// A fresh reader (a third store) sees the current writer's history.
		r := openWith(t, cfg)
		log, err := r.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100000)
		r.Close()
		must(t, err)
		stored := map[uint64]string{}
		for _, m := range log {
			stored[m.Seq] = string(m.Body)
		}
		for _, w := range []*writer{old, cur} {
			for seq, body := range w.acked {
				if stored[seq] != body {
					t.Errorf("round %d: %s acked seq %d as %q, stored %q", round, w.name, seq, body, stored[seq])
				}
			}
		}
		for _, m := range log {
			switch {
			case m.Seq >= start && m.Sender != "new":
				t.Errorf("round %d: seq %d (from the new writer's start %d) holds %q", round, m.Seq, start, m.Body)
			case m.Seq < start && m.Sender != "old":
				t.Errorf("round %d: seq %d below the new writer's start holds %q", round, m.Seq, m.Body)
			}
			if m.Seq >= cur.next {
				t.Errorf("round %d: seq %d above the new writer's last (%d)", round, m.Seq, cur.next-1)
			}
		}
		if len(cur.acked) == 0 || len(old.acked) == 0 {
			t.Fatalf("round %d: acked old %d, new %d: the scenario did not run", round, len(old.acked), len(cur.acked))
		}
		t.Logf("round %d: old acked %d (sent up to %d), new started at %d, acked %d, log %d rows",
			round, len(old.acked), old.next-1, start, len(cur.acked), len(log))
	}
}

// TestStaleRowsLose writes with a stale epoch through a store that does
// not know the epoch moved (as a process on the far side of a partition),
// so the rows really reach Cassandra: inside the range the takeover closed
// they stay invisible, and over the new writer's rows they lose.
func TestStaleRowsLose(t *testing.T) {
	cfg := testConfig(t)
	a, b := openWith(t, cfg), openWith(t, cfg)
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	const conv = "stale"
	body := func(s *Store) string {
		page, err := s.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
		must(t, err)
		var out []string
		for _, m := range page {
			out = append(out, fmt.Sprintf("%d:%s", m.Seq, m.Body))
		}
		return fmt.Sprint(out)
	}
	mk := func(from, to uint64, text string) []storage.Message {
		ms := msgs(conv, from, to)
		for i := range ms {
			ms[i].Body = []byte(text)
		}
		return ms
	}
	// staleView makes a believe epoch e still holds up to 30, whatever it saw.
	staleView := func(e uint64) {
		a.leases = newLeases(10, convFence, "append to")
		a.confirms = newConfirms(a.leases)
		a.leases.note(conv, e, 30)
	}
	must(t, a.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup}))
	e1, err := a.AcquireEpoch(ctx, conv, 0)
	must(t, err)
	must(t, a.ReserveSeqs(ctx, conv, e1, 30))
	must(t, a.AppendMessages(ctx, conv, e1, mk(1, 3, "e1")))

	e2, err := b.AcquireEpoch(ctx, conv, e1) // closes (3, 30]
	must(t, err)
	must(t, b.ReserveSeqs(ctx, conv, e2, 40))
	before := a.Stats()
	staleView(e1)
	wantErrIs(t, a.AppendMessages(ctx, conv, e1, mk(4, 6, "stale")), storage.ErrEpochLost)
	if d := a.Stats().Sub(before); d.Batches == 0 {
		t.Fatalf("the stale batch was not sent (%+v): the test tests nothing", d)
	}
	if got := body(b); got != "[1:e1 2:e1 3:e1]" {
		t.Fatalf("stale rows in the closed range are visible: %s", got)
	}
	must(t, b.AppendMessages(ctx, conv, e2, mk(4, 5, "e2")))
	staleView(e1)
	wantErrIs(t, a.AppendMessages(ctx, conv, e1, mk(5, 6, "stale")), storage.ErrEpochLost)
	if got := body(b); got != "[1:e1 2:e1 3:e1 4:e2 5:e2]" {
		t.Fatalf("after a stale rewrite: %s", got)
	}
	// The close reaches a reservation that spans later buckets.
	must(t, b.ReserveSeqs(ctx, conv, e2, 2500))
	e3, err := b.AcquireEpoch(ctx, conv, e2)
	must(t, err)
	staleView(e2)
	a.leases.note(conv, e2, 2500)
	wantErrIs(t, a.AppendMessages(ctx, conv, e2, mk(1999, 2001, "stale")), storage.ErrEpochLost)
	if got := body(b); got != "[1:e1 2:e1 3:e1 4:e2 5:e2]" {
		t.Fatalf("stale rows across buckets: %s", got)
	}
	must(t, b.AppendMessages(ctx, conv, e3, mk(6, 6, "e3")))
	head, err := b.GetConversation(ctx, conv)
	must(t, err)
	if head.LastSeq != 6 || head.Epoch != e3 {
		t.Fatalf("head %+v", head)
	}
}

func wantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got %v, want %v", err, target)
	}
}
