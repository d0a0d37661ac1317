package actors

import (
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A call's relay takes relayRoom signals waiting and refuses the next,
// while a step of the call itself still finds room up to relayQueue.
func TestCallRelayRoom(t *testing.T) {
	r := &callRelay{rt: &Runtime{}, conv: "d:a:b", ch: make(chan callDelivery, relayQueue)} // no goroutine drains it
	signal := callDelivery{user: "b", ev: &pb.CallEvent{Kind: pb.CallEvent_SIGNAL}}
	for i := range relayRoom {
		if !r.offer(signal) {
			t.Fatalf("signal %d of %d refused", i+1, relayRoom)
		}
	}
	if r.offer(signal) {
		t.Fatalf("signal %d accepted past the room", relayRoom+1)
	}
	step := callDelivery{user: "b", must: true, ev: &pb.CallEvent{Kind: pb.CallEvent_ENDED}}
	for i := relayRoom; i < relayQueue; i++ {
		if !r.offer(step) {
			t.Fatalf("a step of the call refused with %d queued", i)
		}
	}
}
