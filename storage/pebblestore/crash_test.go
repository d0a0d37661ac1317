package pebblestore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestCrashDurability runs a writer in a child process, kills it with
// SIGKILL while it appends, and checks that every append the child saw
// acknowledged is in the store after reopening.
func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv("SWITCHBOARD_CRASH_CHILD_DIR"); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_CRASH_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]uint64{} // conversation → highest acked seq
	sc := bufio.NewScanner(out)
	lines := 0
	deadline := time.After(60 * time.Second)
	for lines < 3000 && sc.Scan() {
		var conv string
		var seq uint64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &conv, &seq); err != nil {
			continue
		}
		acked[conv] = max(acked[conv], seq)
		lines++
		select {
		case <-deadline:
			t.Fatal("child too slow")
		default:
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acks printed before the kill may still sit in the pipe: read them too.
	for sc.Scan() {
		var conv string
		var seq uint64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &conv, &seq); err == nil {
			acked[conv] = max(acked[conv], seq)
			lines++
		}
	}
	_ = cmd.Wait()
	if lines < 3000 {
		t.Fatalf("child acked only %d appends", lines)
	}

	s, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for conv, last := range acked {
		msgs, err := s.ListMessages(ctx, conv, 1, last, storage.OldestFirst, int(last)+1)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(msgs)) != last {
			t.Fatalf("%s: %d messages survived, %d were acked", conv, len(msgs), last)
		}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) || string(m.Body) != strconv.FormatUint(m.Seq, 10) {
				t.Fatalf("%s: message %d is %+v", conv, i+1, m)
			}
		}
	}
	t.Logf("%d acked appends over %d conversations survived SIGKILL", lines, len(acked))
}

// crashChild appends to 16 conversations as fast as it can and prints
// "conv seq" after each durable ack, until it is killed.
func crashChild(dir string) {
	s, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(conv string) {
			defer wg.Done()
			for seq := uint64(1); ; seq++ {
				m := storage.Message{Seq: seq, Sender: "u", Body: []byte(strconv.FormatUint(seq, 10)), ServerTS: time.Now()}
				if err := s.AppendMessages(context.Background(), conv, 0, []storage.Message{m}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(w, "%s %d\n", conv, seq)
				_ = w.Flush()
				mu.Unlock()
			}
		}(fmt.Sprintf("conv-%d", i))
	}
	wg.Wait()
}
