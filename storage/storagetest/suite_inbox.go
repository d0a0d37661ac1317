package storagetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// inboxEntry is one entry written by the activation named by payload.
func inboxEntry(u string, seq uint64, payload string) storage.InboxEntry {
	return storage.InboxEntry{UserID: u, Seq: seq, Kind: storage.InboxMessage, ConvID: "c", ConvSeq: seq, At: at(float64(seq)), Payload: []byte(payload)}
}

// testInboxTakeover runs two activations of one user's inbox at once: A
// writes one entry per call until it is fenced off, while B takes the
// inbox over and writes its own. Readers must see one entry per seq, every
// entry either acknowledged, and above B's starting point only B's.
func testInboxTakeover(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u := id("u")
	a, err := s.AcquireInbox(c, u)
	must(t, err)
	if a.Epoch == 0 || a.LastSeq != 0 {
		t.Fatalf("first lease %+v", a)
	}
	wantErr(t, s.WriteUser(c, u, a.Epoch, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, 1, "A")}}), storage.ErrInvalid) // not reserved
	must(t, s.ReserveInboxSeqs(c, u, a.Epoch, 1000))
	for seq := uint64(1); seq <= 10; seq++ {
		must(t, s.WriteUser(c, u, a.Epoch, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, seq, "A")}}))
	}

	var (
		mu     sync.Mutex
		ackedA []uint64
		errA   error
		wg     sync.WaitGroup
	)
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := uint64(11); seq <= 900; seq++ {
			if seq == 14 {
				close(started)
			}
			err := s.WriteUser(c, u, a.Epoch, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, seq, "A")}})
			mu.Lock()
			if err != nil {
				errA = err
				mu.Unlock()
				return
			}
			ackedA = append(ackedA, seq)
			mu.Unlock()
		}
	}()
	<-started
	b, err := s.AcquireInbox(c, u)
	must(t, err)
	if b.Epoch <= a.Epoch || b.LastSeq < 13 {
		t.Fatalf("takeover lease %+v after %+v with 13 entries acknowledged", b, a)
	}
	must(t, s.ReserveInboxSeqs(c, u, b.Epoch, b.LastSeq+100))
	const nB = 20
	for seq := b.LastSeq + 1; seq <= b.LastSeq+nB; seq++ {
		must(t, s.WriteUser(c, u, b.Epoch, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, seq, "B")}}))
	}
	wg.Wait()
	if !errors.Is(errA, storage.ErrEpochLost) {
		t.Fatalf("the fenced-off activation ended with %v, want ErrEpochLost", errA)
	}
	wantErr(t, s.WriteUser(c, u, a.Epoch, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, b.LastSeq+nB+1, "A")}}), storage.ErrEpochLost)
	wantErr(t, s.ReserveInboxSeqs(c, u, a.Epoch, 5000), storage.ErrEpochLost)

	got, err := s.ListInbox(c, u, 0, 1000)
	must(t, err)
	bySeq := map[uint64]string{}
	for i, e := range got {
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Fatalf("inbox seq %d after %d: a seq given twice or out of order", e.Seq, got[i-1].Seq)
		}
		if uint64(i+1) != e.Seq {
			t.Fatalf("entry %d has seq %d: a gap", i, e.Seq)
		}
		bySeq[e.Seq] = string(e.Payload)
	}
	for _, seq := range ackedA {
		if seq > b.LastSeq {
			t.Fatalf("A's entry %d was acknowledged above the takeover's last seq %d", seq, b.LastSeq)
		}
		if bySeq[seq] != "A" {
			t.Fatalf("A's acknowledged entry %d reads %q", seq, bySeq[seq])
		}
	}
	if want := b.LastSeq + nB; uint64(len(got)) != want {
		t.Fatalf("%d entries, want %d (B's last); A's writes above the takeover must not show", len(got), want)
	}
	for seq := b.LastSeq + 1; seq <= b.LastSeq+nB; seq++ {
		if bySeq[seq] != "B" {
			t.Fatalf("entry %d reads %q, want the current writer's", seq, bySeq[seq])
		}
	}
	last, err := s.LastInboxSeq(c, u)
	must(t, err)
	if last != b.LastSeq+nB {
		t.Fatalf("last inbox seq %d, want %d", last, b.LastSeq+nB)
	}
	// A third activation starts after B's entries.
	cl, err := s.AcquireInbox(c, u)
	must(t, err)
	if cl.Epoch != b.Epoch+1 || cl.LastSeq != b.LastSeq+nB || cl.ReservedSeq != max(b.ReservedSeq, b.LastSeq+100) {
		t.Fatalf("third lease %+v after %+v", cl, b)
	}
	wantErr(t, s.WriteUser(c, u, b.Epoch, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, cl.LastSeq+1, "B")}}), storage.ErrEpochLost)
}

// testUserWrite checks the rest of a user flush: cursors and activity move
// forward only, and a write without entries needs no epoch.
func testUserWrite(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u := id("u")
	wantErr(t, s.WriteUser(c, u, 1, storage.UserWrite{Inbox: []storage.InboxEntry{inboxEntry(u, 1, "x")}}), storage.ErrEpochLost)
	must(t, s.WriteUser(c, u, 0, storage.UserWrite{})) // nothing to write
	w := storage.UserWrite{
		Reads:    []storage.ReadMove{{ConvID: "c1", Seq: 5}, {ConvID: "c2", Seq: 2}},
		Activity: []storage.ActivityMove{{ConvID: "c1", At: at(10)}, {ConvID: "c3", At: at(20)}},
		Devices:  []storage.Device{{DeviceID: "phone", Cursor: 7, LastSeen: at(1)}},
	}
	must(t, s.WriteUser(c, u, 0, w))
	// Lower values are no-ops; a later activity replaces the index entry.
	must(t, s.WriteUser(c, u, 0, storage.UserWrite{
		Reads:    []storage.ReadMove{{ConvID: "c1", Seq: 3}},
		Activity: []storage.ActivityMove{{ConvID: "c1", At: at(5)}, {ConvID: "c2", At: at(30)}},
		Devices:  []storage.Device{{DeviceID: "phone", Cursor: 4, LastSeen: at(0.5)}, {DeviceID: "tablet", Cursor: 1}},
	}))
	for conv, want := range map[string]uint64{"c1": 5, "c2": 2, "c3": 0} {
		uc, err := s.GetUserConv(c, u, conv)
		must(t, err)
		if uc.ReadSeq != want {
			t.Fatalf("%s read cursor %d, want %d", conv, uc.ReadSeq, want)
		}
	}
	// A later activity replaces the earlier one; an older one is a no-op.
	for conv, want := range map[string]time.Duration{"c1": 10 * time.Second, "c2": 30 * time.Second, "c3": 20 * time.Second} {
		uc, err := s.GetUserConv(c, u, conv)
		must(t, err)
		if got := uc.LastActivity.Sub(base); got != want {
			t.Fatalf("%s last activity %v, want %v", conv, got, want)
		}
	}
	ds, err := s.ListDevices(c, u)
	must(t, err)
	if len(ds) != 2 || ds[1].DeviceID != "tablet" || ds[1].Cursor != 1 {
		t.Fatalf("devices %+v", ds)
	}
	if d := ds[0]; d.DeviceID != "phone" || d.Cursor != 7 || !d.LastSeen.Equal(at(1)) {
		t.Fatalf("device %+v", d)
	}
	bad := storage.UserWrite{Devices: []storage.Device{{DeviceID: ""}}}
	wantErr(t, s.WriteUser(c, u, 0, bad), storage.ErrInvalid)
}
