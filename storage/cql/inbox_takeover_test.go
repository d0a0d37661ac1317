package cql

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/storage"
)

// TestStaleInboxRowsLose is TestStaleRowsLose for a user's inbox: an
// activation on another store (another process) that does not know its
// epoch moved really writes its rows, and they neither show in the closed
// range nor win over the current writer's, so no inbox seq reads as two
// different entries and a device never skips one the current writer gave.
func TestStaleInboxRowsLose(t *testing.T) {
	cfg := testConfig(t)
	a, b := openWith(t, cfg), openWith(t, cfg)
	defer a.Close()
	defer b.Close()
	ctx := testCtx(t)
	const user = "stale-user"
	entries := func(from, to uint64, text string) storage.UserWrite {
		var w storage.UserWrite
		for seq := from; seq <= to; seq++ {
			w.Inbox = append(w.Inbox, storage.InboxEntry{Seq: seq, Kind: storage.InboxMessage, ConvID: "c", ConvSeq: seq, Payload: []byte(text)})
		}
		return w
	}
	read := func() string {
		page, err := b.ListInbox(ctx, user, 0, 100)
		must(t, err)
		var out []string
		for _, e := range page {
			out = append(out, fmt.Sprintf("%d:%s", e.Seq, e.Payload))
		}
		return fmt.Sprint(out)
	}
	staleView := func(e, reserved uint64) {
		a.inboxLeases = newLeases(10, inboxFence, "write inbox of")
		a.inboxConfirms = newConfirms(a.inboxLeases)
		a.inboxLeases.note(user, e, reserved)
	}
	l1, err := a.AcquireInbox(ctx, user)
	must(t, err)
	must(t, a.ReserveInboxSeqs(ctx, user, l1.Epoch, 30))
	must(t, a.WriteUser(ctx, user, l1.Epoch, entries(1, 3, "e1")))

	l2, err := b.AcquireInbox(ctx, user) // closes (3, 30]
	must(t, err)
	if l2.LastSeq != 3 || l2.Epoch != l1.Epoch+1 {
		t.Fatalf("takeover lease %+v", l2)
	}
	before := a.Stats()
	staleView(l1.Epoch, 30)
	wantErrIs(t, a.WriteUser(ctx, user, l1.Epoch, entries(4, 6, "stale")), storage.ErrEpochLost)
	if d := a.Stats().Sub(before); d.Requests() < 2 {
		t.Fatalf("the stale rows were not sent (%+v): the test tests nothing", d)
	}
	if got := read(); got != "[1:e1 2:e1 3:e1]" {
		t.Fatalf("stale rows in the closed range are visible: %s", got)
	}
	must(t, b.WriteUser(ctx, user, l2.Epoch, entries(4, 5, "e2")))
	staleView(l1.Epoch, 30)
	wantErrIs(t, a.WriteUser(ctx, user, l1.Epoch, entries(5, 6, "stale")), storage.ErrEpochLost)
	if got := read(); got != "[1:e1 2:e1 3:e1 4:e2 5:e2]" {
		t.Fatalf("after a stale rewrite: %s", got)
	}
	// The close reaches a reservation that spans later buckets.
	must(t, b.ReserveInboxSeqs(ctx, user, l2.Epoch, 2500))
	l3, err := b.AcquireInbox(ctx, user)
	must(t, err)
	if l3.LastSeq != 5 || l3.ReservedSeq != 2500 {
		t.Fatalf("third lease %+v", l3)
	}
	staleView(l2.Epoch, 2500)
	wantErrIs(t, a.WriteUser(ctx, user, l2.Epoch, entries(999, 1001, "stale")), storage.ErrEpochLost)
	if got := read(); got != "[1:e1 2:e1 3:e1 4:e2 5:e2]" {
		t.Fatalf("stale rows across buckets: %s", got)
	}
	must(t, b.WriteUser(ctx, user, l3.Epoch, entries(6, 6, "e3")))
	last, err := a.LastInboxSeq(ctx, user)
	must(t, err)
	if last != 6 {
		t.Fatalf("last inbox seq %d, want 6", last)
	}
	// Two stores racing for the epoch: each attempt ends with one holder.
	done := make(chan storage.InboxLease, 2)
	for _, s := range []*Store{a, b} {
		go func() {
			l, err := s.AcquireInbox(ctx, user)
			if err != nil {
				t.Errorf("acquire: %v", err)
			}
			done <- l
		}()
	}
	x, y := <-done, <-done
	if x.Epoch == y.Epoch || max(x.Epoch, y.Epoch) != l3.Epoch+2 || x.LastSeq != 6 || y.LastSeq != 6 {
		t.Fatalf("racing acquisitions %+v and %+v after epoch %d", x, y, l3.Epoch)
	}
}
