package actors_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func openStoreWithLimits(t testing.TB, lim storage.Limits) storage.Store {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: testLogger(), Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestBodyLimitHasOneOwner: with the limit raised to 128 KiB in one place
// (the store, which the grains read), a 70 KiB body is stored, a body at
// the limit too, and one byte more is TOO_LARGE; the conversation is never
// fenced (seqs stay consecutive, no hole from a reactivation).
func TestBodyLimitHasOneOwner(t *testing.T) {
	const limit = 128 << 10
	store := openStoreWithLimits(t, storage.Limits{MaxBodyBytes: limit})
	node := startCluster(t, 1, store, actors.Config{})[0]
	if got := node.Config().MaxBodyBytes; got != limit {
		t.Fatalf("grain limit %d, want the store's %d", got, limit)
	}
	conv := "g:big"
	mustCreateGroup(t, node, conv, "alice", "bob")
	for i, size := range []int{70 << 10, limit, limit + 1, limit + 64<<10, 10} {
		body := bytes.Repeat([]byte{'x'}, size)
		res, err := node.Send(tctx(t), &pb.SendMessage{Conv: conv, Sender: "alice", ClientMsgId: fmt.Sprint("c", i), Body: body})
		if size > limit {
			wantCode(t, err, pb.Code_TOO_LARGE, fmt.Sprintf("body of %d bytes", size))
			continue
		}
		if err != nil {
			t.Fatalf("body of %d bytes: %v", size, err)
		}
		hist, err := node.History(tctx(t), &pb.GetHistory{Conv: conv, User: "bob", FromSeq: res.Seq, ToSeq: res.Seq, Limit: 1})
		if err != nil || len(hist) != 1 || len(hist[0].Body) != size {
			t.Fatalf("history after a %d-byte body: %v %v", size, len(hist), err)
		}
	}
	// Seqs 1 (creation note) … then three stored messages, consecutive.
	hist, err := node.History(tctx(t), &pb.GetHistory{Conv: conv, User: "bob", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(hist); i++ {
		if d := int64(hist[i-1].Seq) - int64(hist[i].Seq); d != 1 && d != -1 {
			t.Fatalf("seq hole between %d and %d: the conversation was fenced", hist[i-1].Seq, hist[i].Seq)
		}
	}
}

// TestBodyLimitAboveStoreRefused: a grain limit above the store's would
// let a body pass the grain and fail in the store; the node does not
// start.
func TestBodyLimitAboveStoreRefused(t *testing.T) {
	store := openStore(t) // default limits: 64 KiB
	_, err := boot.StartNode(boot.NodeConfig{Store: store, Actors: actors.Config{MaxBodyBytes: 128 << 10, Logger: testLogger()}, Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "exceeds the store's limit") {
		t.Fatalf("start with grain limit above the store's: %v", err)
	}
	// At the store's limit it starts.
	startCluster(t, 1, store, actors.Config{MaxBodyBytes: storage.DefaultLimits().MaxBodyBytes})
}
