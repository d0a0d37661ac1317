package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func runCmd(args ...string) (string, error) {
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestStoreCheckRepair: check passes on a sound store, finds a truncated
// WAL (exit error, JSON report naming the damage), repair recovers it and
// moves the conversation past every acknowledged seq, check passes again.
func TestStoreCheckRepair(t *testing.T) {
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "store")
	s, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateConversation(ctx, storage.Conversation{ID: "c", Kind: storage.KindGroup}); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 200; seq++ {
		m := storage.Message{ConvID: "c", Seq: seq, Sender: "a", Body: bytes.Repeat([]byte("x"), 300), ServerTS: time.Now()}
		if err := s.AppendMessages(ctx, "c", 0, []storage.Message{m}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd("store", "check", "--data-dir", dataDir); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("check of a sound store: %v\n%s", err, out)
	}

	wals, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	sort.Strings(wals)
	wal := wals[len(wals)-1]
	st, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(wal, st.Size()/3); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd("store", "check", "--data-dir", dataDir, "--json")
	if !errors.Is(err, errDamaged) {
		t.Fatalf("check of a truncated WAL: %v, want errDamaged\n%s", err, out)
	}
	var rep pebblestore.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if len(rep.Damage) == 0 || rep.Damage[0].Kind != "acked_missing" || rep.Acked == 0 {
		t.Fatalf("report: %+v", rep)
	}

	out, err = runCmd("store", "repair", "--data-dir", dataDir)
	if err != nil {
		t.Fatalf("repair: %v\n%s", err, out)
	}
	t.Logf("repair:\n%s", out)
	if out, err := runCmd("store", "check", "--data-dir", dataDir); err != nil {
		t.Fatalf("check after repair: %v\n%s", err, out)
	}
	s, err = pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.GetConversation(ctx, "c")
	if err != nil || c.LastSeq < 200 {
		t.Fatalf("after repair: %+v %v (acked up to 200)", c, err)
	}
	if _, err := runCmd("store", "check"); err == nil || !strings.Contains(fmt.Sprint(err), "--data-dir") {
		t.Fatalf("check without --data-dir: %v", err)
	}
}
