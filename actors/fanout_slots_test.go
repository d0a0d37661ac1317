package actors

import (
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Membership notices never wait for the fan-out's slots (a large group's
// change would hold the grain's mailbox); Delivers still do, and a done
// notice gives back only a slot it took.
func TestFanoutNoticesDoNotWaitForSlots(t *testing.T) {
	rt := &Runtime{admit: newAdmission(Config{})}
	// The lane exists, so queue starts no goroutine: jobs stay queued.
	f := &fanout{rt: rt, slots: make(chan struct{}, 2), lanes: map[string]*lane{"u1": {}}}
	f.deliver(&pb.Deliver{User: "u1"})
	f.notice(&pb.MembershipNotice{User: "u1"}) // takes the last slot
	returned := make(chan struct{})
	go func() {
		f.notice(&pb.MembershipNotice{User: "u1"}) // no slot left
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("a notice waited for a fan-out slot")
	}
	jobs := f.lanes["u1"].jobs
	if len(jobs) != 3 || !jobs[0].slot || !jobs[1].slot || jobs[2].slot {
		t.Fatalf("jobs %+v: want a Deliver and a notice holding slots, then a notice without", jobs)
	}
	delivered := make(chan struct{})
	go func() {
		f.deliver(&pb.Deliver{User: "u1"}) // waits: both slots are held
		close(delivered)
	}()
	f.finished(jobs[2:]) // the slotless notice frees nothing
	select {
	case <-delivered:
		t.Fatal("a Deliver got a slot freed by a notice that held none")
	case <-time.After(100 * time.Millisecond):
	}
	f.finished(jobs[:1])
	select {
	case <-delivered:
	case <-time.After(5 * time.Second):
		t.Fatal("a Deliver did not get the slot a done job gave back")
	}
}
