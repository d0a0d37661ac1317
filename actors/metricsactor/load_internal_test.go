package metricsactor

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// A checkpoint of the snapshot version before ratings is refused on
// activation and the grain recomputes from the log: the rating that the
// old engine consumed without counting is counted.
func TestOldCheckpointRecomputes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	const conv = "s:cars:c1:1"
	base := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := store.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindService, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	sys := func(seq uint64, sender, body string) storage.Message {
		return storage.Message{ConvID: conv, Seq: seq, MsgID: seq, Sender: sender, SenderRole: storage.SenderSystem, Kind: storage.MsgSystem,
			Body: []byte(body), ServerTS: base.Add(time.Duration(seq) * time.Second)}
	}
	msgs := []storage.Message{
		sys(1, "desk", `{"desk":"start","session":"s:cars:c1:1/1","line":"cars","scene":"listing","data":""}`),
		sys(2, "desk", `{"desk":"assigned","session":"s:cars:c1:1/1","queue":"sales","agent":"ann","wait_ms":1000}`),
		sys(3, "ann", `{"desk":"close","session":"s:cars:c1:1/1","by":"ann","reason":"resolved","state":"assigned"}`),
		sys(4, "c1", `{"desk":"rating","session":"s:cars:c1:1/1","score":5,"comment":"quick and kind","agent":"ann"}`),
	}
	if err := store.AppendMessages(ctx, conv, 0, msgs); err != nil {
		t.Fatal(err)
	}
	// The old engine consumed every seq and read no rating.
	cfg := analytics.DefaultConfig()
	old, err := analytics.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		ev := analytics.EventFromMessage(m)
		if ev.Desk.Op == analytics.DeskRating {
			ev.Desk = analytics.DeskStep{}
		}
		if err := old.Process(ev); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := old.Checkpoint(checkpointKey, base)
	if err != nil {
		t.Fatal(err)
	}
	state := append([]byte("SBM\x03"), cp.State[4:len(cp.State)-4]...)
	cp.State = binary.LittleEndian.AppendUint32(state, crc32.Checksum(state, crc32.MakeTable(crc32.Castagnoli)))
	if err := store.SaveCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}

	g := &grain{store: store, cfg: Config{Engine: cfg, CheckpointInterval: time.Second, Logger: log}, log: log}
	if err := g.load(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ann", "line:cars", analytics.AllKey} {
		rows := g.engine.Rows(analytics.Query{Size: time.Hour, Key: key})
		if len(rows) != 1 || rows[0].Ratings != 1 || rows[0].AvgRating != 5 || rows[0].CSATRate != 1 {
			t.Errorf("%s after activation: %+v, want the rating counted", key, rows)
		}
	}
	// The grain saved its state in the current version.
	saved, err := store.LoadCheckpoint(ctx, checkpointKey)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := analytics.New(cfg)
	if err := again.RestoreCheckpoint(saved); err != nil {
		t.Errorf("the checkpoint saved on activation: %v", err)
	}
}
