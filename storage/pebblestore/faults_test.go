package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// faultFS injects ENOSPC into WAL writes and syncs while walFull is set,
// and reports free space as free (when set) instead of the real disk's.
type faultFS struct {
	*errorfs.FS
	walFull atomic.Bool
	free    atomic.Int64 // -1: the real value
	// hold, while set, blocks WAL syncs until it is closed; held reports
	// that one is blocked.
	hold atomic.Pointer[chan struct{}]
	held atomic.Bool
}

func newFaultFS() *faultFS {
	f := &faultFS{}
	f.free.Store(-1)
	f.FS = errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if h := f.hold.Load(); h != nil && strings.HasSuffix(op.Path, ".log") &&
			(op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo) {
			f.held.Store(true)
			<-*h
		}
		if f.walFull.Load() && strings.HasSuffix(op.Path, ".log") &&
			(op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileWriteAt) {
			return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
		}
		return nil
	}))
	return f
}

func (f *faultFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	u, err := f.FS.GetDiskUsage(path)
	if n := f.free.Load(); n >= 0 {
		u.AvailBytes = uint64(n)
	}
	return u, err
}

func msg(conv string, seq uint64) storage.Message {
	return storage.Message{ConvID: conv, Seq: seq, MsgID: seq, Sender: "alice", ClientMsgID: fmt.Sprintf("c%d", seq), Body: []byte(fmt.Sprintf("m%d", seq)), ServerTS: time.Now()}
}

func appendSeq(s *pebblestore.Store, seq uint64) error {
	return s.AppendMessages(context.Background(), "c1", 0, []storage.Message{msg("c1", seq)})
}

func seqs(t *testing.T, s *pebblestore.Store) []uint64 {
	t.Helper()
	ms, err := s.ListMessages(context.Background(), "c1", 1, 0, storage.OldestFirst, 1000)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var out []uint64
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func waitWritable(t *testing.T, s *pebblestore.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store did not become writable: %v", s.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Below the free-space floor writes are refused with ErrUnavailable before
// Pebble sees them, reads go on, and writes resume once space is back.
func TestFreeSpaceFloor(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	s, err := pebblestore.Open(pebblestore.Config{Dir: dir, FS: fs, MinFreeBytes: 1 << 20, MonitorInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	if err := appendSeq(s, 1); err != nil {
		t.Fatal(err)
	}
	fs.free.Store(1<<20 - 1) // one byte under the floor
	err = appendSeq(s, 2)
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "below the floor") {
		t.Fatalf("append under the floor: %v, want ErrUnavailable naming the floor", err)
	}
	if h := s.Health(); !errors.Is(h, storage.ErrUnavailable) || !strings.Contains(h.Error(), "disk_full") {
		t.Fatalf("health: %v", h)
	}
	if got := seqs(t, s); fmt.Sprint(got) != "[1]" {
		t.Fatalf("reads under the floor: %v", got)
	}
	fs.free.Store(1 << 20) // exactly the floor: writable
	if err := appendSeq(s, 3); err != nil {
		t.Fatalf("append at the floor: %v", err)
	}
	waitWritable(t, s)
	if got := seqs(t, s); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("after resume: %v", got)
	}
}

// A WAL write failing with ENOSPC (space taken between the floor check and
// the write) does not panic: the write fails ErrUnavailable, the store
// reopens by itself once the WAL works, the failed message never becomes
// visible, acknowledged ones survive, and its seq is not stored twice.
func TestWALFailureRecovers(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	cfg := pebblestore.Config{Dir: dir, FS: fs, MinFreeBytes: -1, MonitorInterval: 20 * time.Millisecond}
	s, err := pebblestore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 3; seq++ {
		if err := appendSeq(s, seq); err != nil {
			t.Fatal(err)
		}
	}
	fs.walFull.Store(true)
	err = appendSeq(s, 4)
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("append with a failing WAL: %v, want ErrUnavailable", err)
	}
	// Until the reopen, reads are refused rather than showing seq 4 from
	// the memtable; writes are refused at once.
	if err := appendSeq(s, 5); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("second append: %v", err)
	}
	if _, err := s.GetMessage(ctx, "c1", 4); err == nil {
		t.Fatal("the failed message is readable")
	}
	time.Sleep(100 * time.Millisecond) // several monitor ticks with the WAL still failing
	if s.Health() == nil {
		t.Fatal("writable while the WAL still fails")
	}
	fs.walFull.Store(false)
	waitWritable(t, s)
	if got := seqs(t, s); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("after recovery: %v, want the acked 1..3 only", got)
	}
	if err := appendSeq(s, 6); err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = pebblestore.Open(cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got := seqs(t, s); fmt.Sprint(got) != "[1 2 3 6]" {
		t.Fatalf("after restart: %v", got)
	}
}

// A new store on a disk under the floor is created (a few KiB), refuses
// writes and becomes writable once space is back.
func TestNewStoreUnderFloor(t *testing.T) {
	fs := newFaultFS()
	fs.free.Store(0)
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), FS: fs, MinFreeBytes: 1 << 20, MonitorInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("open a new store under the floor: %v", err)
	}
	defer s.Close()
	if h := s.Health(); !errors.Is(h, storage.ErrUnavailable) || !strings.Contains(h.Error(), "disk_full") {
		t.Fatalf("health: %v", h)
	}
	ctx := context.Background()
	if _, err := s.GetConversation(ctx, "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("read: %v", err)
	}
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("write under the floor: %v", err)
	}
	fs.free.Store(-1)
	waitWritable(t, s)
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
}

// A message is invisible to readers from the moment its batch is applied
// until its WAL sync completes, and for ever if the sync fails.
func TestUnsyncedInvisible(t *testing.T) {
	fs := newFaultFS()
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), FS: fs, MinFreeBytes: -1, MonitorInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	if err := appendSeq(s, 1); err != nil {
		t.Fatal(err)
	}
	invisible := func(seq uint64, want string) {
		t.Helper()
		if _, err := s.GetMessage(ctx, "c1", seq); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("seq %d before its sync: %v", seq, err)
		}
		if got := fmt.Sprint(seqs(t, s)); got != want {
			t.Fatalf("list before the sync of %d: %s, want %s", seq, got, want)
		}
		if c, err := s.GetConversation(ctx, "c1"); err != nil || c.LastSeq >= seq {
			t.Fatalf("head before the sync of %d: %+v %v", seq, c, err)
		}
	}
	// holdSync appends seq and returns once its WAL sync is blocked.
	var gates []chan struct{}
	defer func() { // before Close (deferred earlier): a failed check must not leave a sync blocked
		fs.hold.Store(nil)
		for _, g := range gates {
			select {
			case <-g:
			default:
				close(g)
			}
		}
	}()
	holdSync := func(seq uint64) (chan struct{}, chan error) {
		gate, done := make(chan struct{}), make(chan error, 1)
		gates = append(gates, gate)
		fs.held.Store(false)
		fs.hold.Store(&gate)
		s.AppendMessagesAsync(ctx, "c1", 0, []storage.Message{msg("c1", seq)}, func(err error) { done <- err })
		for !fs.held.Load() {
			time.Sleep(time.Millisecond)
		}
		return gate, done
	}

	gate, done := holdSync(2)
	invisible(2, "[1]")
	fs.hold.Store(nil)
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMessage(ctx, "c1", 2); err != nil {
		t.Fatalf("seq 2 after its sync: %v", err)
	}

	gate, done = holdSync(3)
	invisible(3, "[1 2]")
	fs.walFull.Store(true) // the sync fails
	fs.hold.Store(nil)
	close(gate)
	if err := <-done; !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("failed sync: %v", err)
	}
	fs.walFull.Store(false)
	waitWritable(t, s)
	if _, err := s.GetMessage(ctx, "c1", 3); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("seq 3 after its failed sync and the reopen: %v", err)
	}
	if got := fmt.Sprint(seqs(t, s)); got != "[1 2]" {
		t.Fatalf("after the reopen: %s", got)
	}
}

// An inbox takeover whose WAL write failed leaves no trace: after the
// store recovered, the previous activation's epoch is still the one in
// force (the committer's cached head of the failed op was dropped), and
// the next takeover moves it by one.
func TestFailedInboxTakeoverIsForgotten(t *testing.T) {
	s, fs := openFaulty(t)
	ctx := context.Background()
	lease, err := s.AcquireInbox(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveInboxSeqs(ctx, "bob", lease.Epoch, 10); err != nil {
		t.Fatal(err)
	}
	fs.walFull.Store(true)
	if _, err := s.AcquireInbox(ctx, "bob"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("takeover with a failing WAL: %v, want ErrUnavailable", err)
	}
	fs.walFull.Store(false)
	waitWritable(t, s)
	w := storage.UserWrite{Inbox: []storage.InboxEntry{{Seq: 1, ConvID: "c1", Kind: storage.InboxMessage, ConvSeq: 1, At: time.Now()}}}
	if err := s.WriteUser(ctx, "bob", lease.Epoch, w); err != nil {
		t.Fatalf("write with the epoch in force after the failed takeover: %v", err)
	}
	next, err := s.AcquireInbox(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if next.Epoch != lease.Epoch+1 || next.LastSeq != 1 {
		t.Fatalf("next takeover: %+v, want epoch %d and last seq 1", next, lease.Epoch+1)
	}
	if err := s.WriteUser(ctx, "bob", lease.Epoch, w); !errors.Is(err, storage.ErrEpochLost) {
		t.Fatalf("write with the superseded epoch: %v, want ErrEpochLost", err)
	}
}

// The same for a conversation: a takeover (AcquireEpoch) whose WAL write
// failed leaves the previous activation's epoch in force (the committer's
// cached fence of the failed op was dropped), and the next takeover moves
// it by one and fences the previous activation off.
func TestFailedConversationTakeoverIsForgotten(t *testing.T) {
	s, fs := openFaulty(t)
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "g:x", Kind: storage.KindGroup, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	epoch, err := s.AcquireEpoch(ctx, "g:x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveSeqs(ctx, "g:x", epoch, 10); err != nil {
		t.Fatal(err)
	}
	msg := func(seq uint64) []storage.Message {
		return []storage.Message{{ConvID: "g:x", Seq: seq, MsgID: 1000 + seq, Sender: "ann", Body: []byte("hi"), ServerTS: time.Now()}}
	}
	if err := s.AppendMessages(ctx, "g:x", epoch, msg(11)); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("append above the reservation: %v, want ErrInvalid", err)
	}
	fs.walFull.Store(true)
	if _, err := s.AcquireEpoch(ctx, "g:x", epoch); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("takeover with a failing WAL: %v, want ErrUnavailable", err)
	}
	fs.walFull.Store(false)
	waitWritable(t, s)
	if err := s.AppendMessages(ctx, "g:x", epoch, msg(1)); err != nil {
		t.Fatalf("append with the epoch in force after the failed takeover: %v", err)
	}
	next, err := s.AcquireEpoch(ctx, "g:x", epoch)
	if err != nil {
		t.Fatal(err)
	}
	if next != epoch+1 {
		t.Fatalf("next takeover: epoch %d, want %d", next, epoch+1)
	}
	if err := s.AppendMessages(ctx, "g:x", epoch, msg(2)); !errors.Is(err, storage.ErrEpochLost) {
		t.Fatalf("append with the superseded epoch: %v, want ErrEpochLost", err)
	}
}

// openFaulty opens a store on a fault-injecting filesystem, with no free
// space floor and a fast monitor, closed when the test ends.
func openFaulty(t *testing.T) (*pebblestore.Store, *faultFS) {
	t.Helper()
	fs := newFaultFS()
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), FS: fs, MinFreeBytes: -1, MonitorInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, fs
}
