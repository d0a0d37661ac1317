package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// spaceFS reports free space as set by the test (the real file system
// underneath; the store's free-space floor does the refusing).
type spaceFS struct {
	vfs.FS
	free atomic.Int64 // -1: the real value
}

func (f *spaceFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	u, err := f.FS.GetDiskUsage(path)
	if n := f.free.Load(); n >= 0 {
		u.AvailBytes = uint64(n)
	}
	return u, err
}

// storeOnSettableDisk opens a Pebble store in dir (empty: a new one)
// whose free space the test sets (free: bytes, -1: the real value), with
// a 1 MiB floor checked every 20 ms.
func storeOnSettableDisk(t *testing.T, dir string, free int64) (*pebblestore.Store, *spaceFS) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	fs := &spaceFS{FS: vfs.Default}
	fs.free.Store(free)
	store, err := pebblestore.Open(pebblestore.Config{Dir: dir, FS: fs, MinFreeBytes: 1 << 20, MonitorInterval: 20 * time.Millisecond, Logger: testLogger()})
	if err != nil {
		t.Fatalf("open the store (free space %d): %v", free, err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store, fs
}

// fillDisk makes the disk report no free space and waits until the store
// noticed (its monitor does within its interval).
func fillDisk(t *testing.T, fs *spaceFS, store *pebblestore.Store) {
	t.Helper()
	fs.free.Store(0)
	for deadline := time.Now().Add(5 * time.Second); store.Health() == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the store did not notice the full disk within 5 s")
		}
	}
}

// TestStorageUnavailable: a disk under the store's free-space floor makes
// sends fail STORAGE_UNAVAILABLE with a retry hint; the conversation is not
// fenced, does not hand the failed seqs to other messages, and sends work
// again as soon as space is back. Nothing unacknowledged is stored.
func TestStorageUnavailable(t *testing.T) {
	store, fs := storeOnSettableDisk(t, "", -1)
	node := startCluster(t, 1, store, actors.Config{SeqReserve: 4})[0]
	ctx := tctx(t)
	const conv = "g:full"
	mustCreateGroup(t, node, conv, "a", "b")
	first := mustSend(t, node, conv, "a", "before").Seq

	// The store's monitor notices within its interval; a send made before
	// it does still finds space (the floor is not reached yet for it).
	fillDisk(t, fs, store)
	for i := range 6 { // past the 4-seq reservation: ReserveSeqs is refused too
		_, err := send(ctx, node, conv, "a", "lost")
		if code := actors.CodeOf(err); code != pb.Code_STORAGE_UNAVAILABLE {
			t.Fatalf("send %d on a full disk: %v (%v), want STORAGE_UNAVAILABLE", i, code, err)
		}
		if ae := (*actors.Error)(nil); !errors.As(err, &ae) || ae.RetryAfterMs == 0 {
			t.Fatalf("send %d on a full disk: no retry hint in %v", i, err)
		}
	}
	fs.free.Store(-1)
	var after *pb.SendResponse
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, err = send(ctx, node, conv, "a", "after")
		if err == nil {
			break
		}
		if actors.CodeOf(err) != pb.Code_STORAGE_UNAVAILABLE || time.Now().After(deadline) {
			t.Fatalf("send after space is back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after.Seq <= first {
		t.Fatalf("seq after recovery %d, not above %d", after.Seq, first)
	}
	msgs, err := store.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range msgs {
		if m.Kind == storage.MsgNormal {
			bodies = append(bodies, string(m.Body))
		}
	}
	if len(bodies) != 2 || bodies[0] != "before" || bodies[1] != "after" {
		t.Fatalf("stored messages %q, want only the acked [before after]", bodies)
	}
}

// TestStartOnFullDisk: a node whose store opened read-only on a full disk
// serves connects and history (conversations activate without taking an
// epoch), refuses sends with STORAGE_UNAVAILABLE, and takes sends again
// once space is back, continuing the log without reusing a seq.
func TestStartOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	{ // a conversation with three messages, written directly
		s, err := pebblestore.Open(pebblestore.Config{Dir: dir, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateConversation(ctx, storage.Conversation{ID: "g:g", Kind: storage.KindGroup}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"a", "b"} {
			if err := s.PutMember(ctx, storage.Member{ConvID: "g:g", UserID: u, JoinedSeq: 1}); err != nil {
				t.Fatal(err)
			}
		}
		for seq := uint64(1); seq <= 3; seq++ {
			m := storage.Message{ConvID: "g:g", Seq: seq, MsgID: seq, Sender: "a", Body: []byte(fmt.Sprint("m", seq)), ServerTS: time.Now()}
			if err := s.AppendMessages(ctx, "g:g", 0, []storage.Message{m}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	store, fs := storeOnSettableDisk(t, dir, 0)
	if store.Health() == nil {
		t.Fatal("store healthy on a full disk")
	}
	node := startCluster(t, 1, store, actors.Config{})[0]
	tc := tctx(t)
	hist, err := node.History(tc, &pb.GetHistory{Conv: "g:g", User: "b", FromSeq: 1, OldestFirst: true, Limit: 10})
	if err != nil || len(hist) != 3 {
		t.Fatalf("history on a full disk: %d messages, %v", len(hist), err)
	}
	if _, err := send(tc, node, "g:g", "a", "refused"); actors.CodeOf(err) != pb.Code_STORAGE_UNAVAILABLE {
		t.Fatalf("send on a full disk: %v", err)
	}
	fs.free.Store(-1)
	deadline := time.Now().Add(5 * time.Second)
	for store.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store not writable after space came back: %v", store.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := send(tc, node, "g:g", "a", "after")
	if err != nil {
		t.Fatalf("send after space came back: %v", err)
	}
	if res.Seq != 4 {
		t.Fatalf("first seq after recovery %d, want 4 (no failed write was stored)", res.Seq)
	}
	hist, err = node.History(tc, &pb.GetHistory{Conv: "g:g", User: "b", FromSeq: 1, OldestFirst: true, Limit: 10})
	if err != nil || len(hist) != 4 || string(hist[3].Body) != "after" {
		t.Fatalf("history after recovery: %v %v", hist, err)
	}
}
