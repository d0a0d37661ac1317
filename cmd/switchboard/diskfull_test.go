package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestServeOnFullDisk runs the binary with its store on an 8 MiB tmpfs
// (root only; required under CI=true): restarted on the full disk the node
// starts, /healthz says why it refuses writes, clients connect and read
// history, a send is refused STORAGE_UNAVAILABLE with a retry hint, and
// once space is freed sends work again and continue the seqs.
func TestServeOnFullDisk(t *testing.T) {
	n := newDevNode(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, fmt.Sprintf("cannot mount a tmpfs (needs root): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if n.cmd != nil && n.cmd.ProcessState == nil {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
		}
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			_ = exec.Command("umount", "-l", mnt).Run() // busy: detach anyway
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	if err := os.Mkdir(filepath.Join(mnt, "store"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(mnt, "store"), filepath.Join(n.dir, "store")); err != nil {
		t.Fatal(err)
	}
	// The tmpfs is far below the default floor: a 2 MiB one fits it.
	serve := func() {
		n.log = &lockedBuffer{}
		n.cmd = exec.Command(n.bin, "serve", "--dev", "--data-dir", n.dir, "--listen", n.listen, "--admin", n.admin, "--store-min-free", "2097152")
		n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// waitHealth waits until /healthz answers code and returns the body.
	waitHealth := func(code int) string {
		for deadline := time.Now().Add(30 * time.Second); ; {
			if res, err := http.Get("http://" + n.admin + "/healthz"); err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if _, err := os.Stat(devServerPath(n.dir)); err == nil && res.StatusCode == code {
					return string(b)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node did not answer /healthz %d:\n%s", code, n.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	serve()
	waitHealth(http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, err := client.Dial(ctx, n.clientConfig("alice", "phone"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := alice.SendText(ctx, client.ToUser("bob"), "before")
	if err != nil {
		t.Fatal(err)
	}
	_ = alice.Close()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = n.cmd.Wait()

	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 64<<10)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	_ = f.Close()

	// Restart on the full disk: it must come up (healthz answers) and say why.
	serve()
	health := waitHealth(http.StatusServiceUnavailable)
	if !strings.Contains(health, "read_only") {
		t.Fatalf("healthz on a full disk: %q", health)
	}
	alice, err = client.Dial(ctx, n.clientConfig("alice", "phone"))
	if err != nil {
		t.Fatalf("connect on a full disk: %v", err)
	}
	defer alice.Close()
	hist, err := alice.History(ctx, first.Conv, client.HistoryOptions{FromSeq: 1, OldestFirst: true, Limit: 10})
	if err != nil || len(hist) != 1 || string(hist[0].Body) != "before" {
		t.Fatalf("history on a full disk: %v %v", hist, err)
	}
	_, err = alice.SendText(ctx, client.ToUser("bob"), "refused")
	var we *wirepb.Error
	if !errors.As(err, &we) || we.Code != wirepb.Code_STORAGE_UNAVAILABLE || we.RetryAfterMs == 0 {
		t.Fatalf("send on a full disk: %v, want STORAGE_UNAVAILABLE with a retry hint", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var after client.Message
	for deadline := time.Now().Add(10 * time.Second); ; {
		after, err = alice.SendText(ctx, client.ToUser("bob"), "after")
		if err == nil {
			break
		}
		if !errors.As(err, &we) || we.Code != wirepb.Code_STORAGE_UNAVAILABLE || time.Now().After(deadline) {
			t.Fatalf("send after freeing space: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after.Seq != first.Seq+1 {
		t.Fatalf("seq after recovery %d, want %d", after.Seq, first.Seq+1)
	}
	if c := strings.Count(n.log.String(), "\n"); c > 200 {
		t.Fatalf("%d log lines on a full disk", c)
	}
}
