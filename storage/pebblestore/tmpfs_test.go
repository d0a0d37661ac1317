package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// smallDisk mounts an 8 MiB tmpfs for the test (root only); under CI=true
// not being able to is a failure, elsewhere the test is skipped.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("cannot mount a tmpfs (needs root): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			// Busy (a failed test left the store open): detach it anyway.
			_ = exec.Command("umount", "-l", dir).Run()
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func freeOn(t *testing.T, dir string) uint64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// fill writes a filler file until at most leave bytes are free (0: until
// the disk is full).
func fill(t *testing.T, dir string, leave uint64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 16<<10)
	for freeOn(t, dir) > leave {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	return path
}

// ackedLog tracks which seqs were acknowledged.
type ackedLog struct {
	next  uint64
	acked []uint64
}

func (a *ackedLog) send(s *pebblestore.Store) error {
	a.next++ // a failed seq is never reused
	m := msg("c1", a.next)
	m.Body = make([]byte, 512)
	err := s.AppendMessages(context.Background(), "c1", 0, []storage.Message{m})
	if err == nil {
		a.acked = append(a.acked, a.next)
	}
	return err
}

func (a *ackedLog) check(t *testing.T, s *pebblestore.Store) {
	t.Helper()
	ms, err := s.ListMessages(context.Background(), "c1", 1, 0, storage.OldestFirst, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, m := range ms {
		got = append(got, m.Seq)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if fmt.Sprint(got) != fmt.Sprint(a.acked) {
		t.Fatalf("stored seqs differ from the acknowledged ones:\n stored %v\n acked  %v", got, a.acked)
	}
}

func smallConfig(dir string, minFree int64) pebblestore.Config {
	return pebblestore.Config{Dir: dir, MemTableSize: 1 << 20, CacheSize: 1 << 20, MinFreeBytes: minFree, MonitorInterval: 20 * time.Millisecond}
}

// On a real full disk: writes are refused with ErrUnavailable under the
// floor and at ENOSPC, reads work, writes resume when space is freed, a
// store opened on the full disk serves reads and resumes by itself, and
// exactly the acknowledged messages survive.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := smallDisk(t)
	cfg := smallConfig(filepath.Join(mnt, "store"), 2<<20)
	s, err := pebblestore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	var log ackedLog
	for range 100 {
		if err := log.send(s); err != nil {
			t.Fatal(err)
		}
	}
	filler := fill(t, mnt, 1<<20) // under the 2 MiB floor
	if err := log.send(s); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("under the floor: %v", err)
	}
	fill(t, mnt, 0) // ENOSPC for real
	for range 20 {
		if err := log.send(s); !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("disk full: %v", err)
		}
	}
	log.check(t, s) // reads work
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitWritable(t, s)
	for range 50 {
		if err := log.send(s); err != nil {
			t.Fatalf("after freeing space: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Start on a full disk: read-only, reads served, writes refused.
	filler = fill(t, mnt, 0)
	s, err = pebblestore.Open(cfg)
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	if h := s.Health(); h == nil {
		t.Fatal("healthy on a full disk")
	} else {
		t.Logf("health on a full disk: %v", h)
	}
	log.check(t, s)
	if err := log.send(s); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("write on a full disk: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitWritable(t, s)
	if err := log.send(s); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = pebblestore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log.check(t, s)
}

// With the floor disabled, Pebble itself hits ENOSPC (WAL, flush): no
// panic, ErrUnavailable, recovery once space is freed, and exactly the
// acknowledged messages survive.
func TestENOSPCInsidePebbleTmpfs(t *testing.T) {
	// How much is left free decides where Pebble fails first: the WAL,
	// a memtable flush, or creating the next WAL.
	for _, leave := range []uint64{0, 512 << 10, 1536 << 10, 3 << 20} {
		t.Run(fmt.Sprintf("leave_%dk", leave>>10), func(t *testing.T) { enospcInsidePebble(t, leave) })
	}
}

func enospcInsidePebble(t *testing.T, leave uint64) {
	mnt := smallDisk(t)
	cfg := smallConfig(filepath.Join(mnt, "store"), -1)
	s, err := pebblestore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c1", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	var log ackedLog
	filler := fill(t, mnt, leave)
	var failed error
	for range 50000 {
		if failed = log.send(s); failed != nil {
			break
		}
	}
	if !errors.Is(failed, storage.ErrUnavailable) {
		t.Fatalf("writing into a full disk: %v", failed)
	}
	t.Logf("%d acked before: %v", len(log.acked), failed)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitWritable(t, s)
	for range 20 {
		if err := log.send(s); err != nil {
			t.Fatalf("after freeing space: %v", err)
		}
	}
	log.check(t, s)
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	s, err = pebblestore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log.check(t, s)
}
