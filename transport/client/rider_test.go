package client

import "testing"

// Pending acks ride along with a request up to maxRidingAcks of them; a
// larger backlog is left for the ack loop, and acks given back (their
// request was not written) ride with the next one.
func TestAckRiderBound(t *testing.T) {
	c := &Client{ackWake: make(chan struct{}, 1)}
	r := ackRider{c}
	if req := r.ride(); req != nil {
		t.Fatalf("no acks pending, rode %v", req)
	}
	for i := range maxRidingAcks {
		c.ackSeqs = append(c.ackSeqs, uint64(i+1))
	}
	c.ackSync = 7
	req := r.ride()
	if got := len(req.GetAck().GetInboxSeqs()); got != maxRidingAcks || req.GetAck().GetSyncCursor() != 7 {
		t.Fatalf("%d acks and cursor %d rode, want %d and 7", got, req.GetAck().GetSyncCursor(), maxRidingAcks)
	}
	if len(c.ackSeqs) != 0 || c.ackSync != 0 {
		t.Fatalf("%d acks and cursor %d still pending after riding", len(c.ackSeqs), c.ackSync)
	}
	r.unride(req)
	if len(c.ackSeqs) != maxRidingAcks || c.ackSync != 7 {
		t.Fatalf("given back: %d acks and cursor %d pending, want %d and 7", len(c.ackSeqs), c.ackSync, maxRidingAcks)
	}
	select {
	case <-c.ackWake:
	default:
		t.Fatal("acks given back did not wake the ack loop")
	}
	c.ackSeqs = append(c.ackSeqs, maxRidingAcks+1)
	if req := r.ride(); req != nil {
		t.Fatalf("%d acks pending rode; want them left to the ack loop", maxRidingAcks+1)
	}
}
