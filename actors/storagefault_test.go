package actors_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebble"
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

// TestStorageUnavailable: a disk under the store's free-space floor makes
// sends fail STORAGE_UNAVAILABLE with a retry hint; the conversation is not
// fenced, does not hand the failed seqs to other messages, and sends work
// again as soon as space is back. Nothing unacknowledged is stored.
func TestStorageUnavailable(t *testing.T) {
	fs := &spaceFS{FS: vfs.Default}
	fs.free.Store(-1)
	store, err := pebble.Open(pebble.Config{Dir: t.TempDir(), FS: fs, MinFreeBytes: 1 << 20, MonitorInterval: 20 * time.Millisecond, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	node := startCluster(t, 1, store, actors.Config{SeqReserve: 4})[0]
	ctx := tctx(t)
	const conv = "full"
	mustCreateGroup(t, node, conv, "a", "b")
	first := mustSend(t, node, conv, "a", "before").Seq

	fs.free.Store(0)
	for i := range 6 { // past the 4-seq reservation: ReserveSeqs is refused too
		_, err := send(ctx, node, conv, "a", "lost")
		if code := actors.CodeOf(err); code != pb.Code_STORAGE_UNAVAILABLE {
			t.Fatalf("send %d on a full disk: %v (%v), want STORAGE_UNAVAILABLE", i, code, err)
		}
	}
	fs.free.Store(-1)
	var after *pb.SendResponse
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
