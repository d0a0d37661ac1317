package actors_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/cql"
	"github.com/switchboard-im/switchboard/storage/cql/cqltest"
)

// TestFencingTwoActivations forces live activations of one conversation
// beside the cluster's (the fencing case of a node presumed dead that is
// still running) and interleaves sends through all of them: no seq may be
// acked twice, and every acked message must be stored exactly once.
func TestFencingTwoActivations(t *testing.T) { fencingTwoActivations(t, openStore(t)) }

// TestFencingTwoActivationsCQL is the same on Cassandra, where appends are
// fenced by the epoch without a conditional write of their own. Needs
// SWITCHBOARD_CQL_HOSTS (skipped without it, failed under CI=true).
func TestFencingTwoActivationsCQL(t *testing.T) { fencingTwoActivations(t, openCQLStore(t)) }

// openCQLStore opens a CQL store on a fresh keyspace, dropped at cleanup.
func openCQLStore(t *testing.T) storage.Store {
	s, _ := openCQLStoreConfig(t)
	return s
}

// openCQLStoreConfig is openCQLStore, also returning the store's config.
func openCQLStoreConfig(t *testing.T) (storage.Store, cql.Config) {
	return cqltest.Open(t, "sbactors", testLogger())
}

func fencingTwoActivations(t *testing.T, store storage.Store) {
	// A small reserve makes stale activations hit ReserveSeqs's epoch
	// check as well as the store's seq-exists check.
	node := startCluster(t, 1, store, actors.Config{SeqReserve: 4, RequestTimeout: 2 * time.Second})[0]
	ctx := tctx(t)
	const conv = "g:fenced"
	mustCreateGroup(t, node, conv, "s0", "s1", "s2", "s3")
	mustSend(t, node, conv, "s0", "warm-up")

	var mu sync.Mutex
	acked := map[uint64]string{}   // seq → client id
	ackedBy := map[string]uint64{} // client id → seq
	var targets []*actor.PID
	spawned := 0
	respawn := func() {
		mu.Lock()
		defer mu.Unlock()
		targets = append(targets, actors.SpawnConversationForTest(node.Runtime, conv))
		spawned++
	}
	respawn()
	respawn()

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			sender := fmt.Sprint("s", w)
			for i := range 60 {
				cid := fmt.Sprintf("%s-%d", sender, i)
				msg := &pb.SendMessage{Conv: conv, Sender: sender, ClientMsgId: cid, Body: []byte(cid)}
				var lastErr error
				for attempt := 0; ; attempt++ {
					if attempt > 50 {
						errs <- fmt.Errorf("%s never acked: %v", cid, lastErr)
						return
					}
					var res *pb.SendResponse
					var err error
					// Pick under one lock: another sender may forget a
					// stopped activation in between.
					var pid *actor.PID
					mu.Lock()
					if k := r.IntN(len(targets) + 1); k < len(targets) {
						pid = targets[k]
					}
					mu.Unlock()
					if pid != nil {
						// Straight to an extra activation.
						var v any
						v, err = node.System().Root.RequestFuture(pid, msg, time.Second).Result()
						if err != nil {
							// Stopped (fenced): forget it.
							mu.Lock()
							targets = slices.DeleteFunc(targets, func(p *actor.PID) bool { return p == pid })
							mu.Unlock()
						} else {
							res = v.(*pb.SendResponse)
							err = actorsErr(res.Error)
						}
					} else {
						res, err = node.Send(ctx, msg) // through the cluster's activation
					}
					if err != nil {
						lastErr = err
						continue // RETRY, dead letter, time-out: the client retries the same id
					}
					mu.Lock()
					if prev, ok := acked[res.Seq]; ok && prev != cid {
						errs <- fmt.Errorf("seq %d acked to %s and %s", res.Seq, prev, cid)
					}
					if prev, ok := ackedBy[cid]; ok && prev != res.Seq {
						errs <- fmt.Errorf("%s acked as seq %d and %d", cid, prev, res.Seq)
					}
					acked[res.Seq], ackedBy[cid] = cid, res.Seq
					mu.Unlock()
					break
				}
				if i%15 == 7 {
					respawn() // another stale activation joins in
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	msgs, err := store.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 10000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string][]uint64{}
	for i, m := range msgs {
		if m.Seq != uint64(i+1) {
			t.Fatalf("seq %d at position %d: log not contiguous", m.Seq, i)
		}
		if m.ClientMsgID != "" {
			stored[m.ClientMsgID] = append(stored[m.ClientMsgID], m.Seq)
		}
	}
	for cid, seq := range ackedBy {
		if got := stored[cid]; len(got) != 1 || got[0] != seq {
			t.Errorf("%s acked as seq %d, stored at %v", cid, seq, got)
		}
	}
	if len(ackedBy) != 4*60 {
		t.Errorf("%d messages acked, want %d", len(ackedBy), 4*60)
	}
	t.Logf("%d messages, %d stored rows, %d extra activations", len(ackedBy), len(msgs), spawned)
}

func actorsErr(e *pb.Error) error {
	if e == nil || e.Code == pb.Code_OK {
		return nil
	}
	return &actors.Error{Code: e.Code, Message: e.Message}
}
