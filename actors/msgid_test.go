package actors_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestMessageIDsUniqueAcrossNodes starts three nodes on one store: each
// leases its own node number, every message id carries the number of the
// node whose grain made it, and no two ids are equal. A node that stops
// releases its number.
func TestMessageIDsUniqueAcrossNodes(t *testing.T) {
	store := openStore(t)
	nodes := startCluster(t, 3, store, actors.Config{})
	numbers := map[uint32]bool{}
	for _, n := range nodes {
		numbers[n.NodeNumber()] = true
	}
	if len(numbers) != len(nodes) {
		t.Fatalf("node numbers %v: two nodes share one", numbers)
	}
	const convs, perConv = 24, 20
	var mu sync.Mutex
	seen := map[uint64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, convs)
	for c := range convs {
		conv := fmt.Sprintf("g:ids-%d", c)
		mustCreateGroup(t, nodes[c%3], conv, "alice", "bob")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perConv {
				res, err := nodes[i%3].Send(tctx(t), &pb.SendMessage{Conv: conv, Sender: "alice", Body: []byte("x")})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				where := fmt.Sprintf("%s/%d", conv, res.Seq)
				if prev, dup := seen[res.MsgId]; dup {
					mu.Unlock()
					errs <- fmt.Errorf("msg id %d of %s already given to %s", res.MsgId, where, prev)
					return
				}
				seen[res.MsgId] = where
				mu.Unlock()
				if !numbers[actors.NodeOfMsgID(res.MsgId)] {
					errs <- fmt.Errorf("msg id %d carries node %d, not one of %v", res.MsgId, actors.NodeOfMsgID(res.MsgId), numbers)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != convs*perConv {
		t.Fatalf("%d ids, want %d", len(seen), convs*perConv)
	}
	// A graceful stop frees the number for the next node at once.
	num := nodes[2].NodeNumber()
	nodes[2].Stop(true)
	now := time.Now()
	if err := store.ClaimNodeSlot(tctx(t), num, "next-node", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("number %d of a stopped node: %v", num, err)
	}
}
