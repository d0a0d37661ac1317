package transport_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func ackReq(id uint64, seqs ...uint64) []byte {
	return frame(&wirepb.Request{Id: id, Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: seqs}}})
}

func pingReq(id uint64) []byte {
	return frame(&wirepb.Request{Id: id, Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})
}

// responseIDs reads frames up to the n-th response and returns the ids
// of the responses in the order read, and the signals read on the way.
func (r *raw) responseIDs(n int) (ids []uint64, signals []*wirepb.Signal) {
	r.t.Helper()
	for len(ids) < n {
		sf, err := r.next()
		if err != nil {
			r.t.Fatalf("after answers %v: %v", ids, err)
		}
		if res := sf.GetResponse(); res != nil {
			if res.GetError() != nil {
				r.t.Fatalf("answer %d: %v", res.Id, res.GetError())
			}
			ids = append(ids, res.Id)
		}
		if s := sf.GetSignal(); s != nil {
			signals = append(signals, s)
		}
	}
	return ids, signals
}

// An ack's answer waits for another frame to the connection and leaves
// with it: with a delay nothing reaches, it comes only with the ping's
// answer, written after it. Once the delay passes, an answer alone is
// written too; with the delay off, it is written at once, ahead of the
// ping's.
func TestAckAnswerWaitsForCompany(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		want  []uint64 // answers in the order read
	}{
		{"waits", time.Hour, []uint64{2, 1}},
		{"off", -1, []uint64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{transport: transport.Config{CoalesceDelay: tc.delay}})
			r := rawDial(t, e, nil)
			r.login(e.token("alice", "phone"))
			if _, err := r.st.Write(ackReq(1)); err != nil {
				t.Fatal(err)
			}
			// The ack was read and answered (or held) before the ping is:
			// both are answered by the connection's reader, in order.
			if _, err := r.st.Write(pingReq(2)); err != nil {
				t.Fatal(err)
			}
			if ids, _ := r.responseIDs(2); ids[0] != tc.want[0] || ids[1] != tc.want[1] {
				t.Fatalf("answers in the order %v, want %v", ids, tc.want)
			}
		})
	}
	t.Run("a full set goes at once", func(t *testing.T) {
		e := newEnv(t, envOptions{transport: transport.Config{CoalesceDelay: time.Hour}})
		r := rawDial(t, e, nil)
		r.login(e.token("alice", "phone"))
		var acks []byte
		for id := uint64(1); id <= transport.MaxLazyFrames; id++ {
			acks = append(acks, ackReq(id)...)
		}
		if _, err := r.st.Write(acks); err != nil {
			t.Fatal(err)
		}
		// No other frame comes and the delay never passes: only the
		// bound writes them.
		if ids, _ := r.responseIDs(transport.MaxLazyFrames); len(ids) != transport.MaxLazyFrames {
			t.Fatalf("%d answers, want %d", len(ids), transport.MaxLazyFrames)
		}
	})
	t.Run("alone after the delay", func(t *testing.T) {
		e := newEnv(t, envOptions{transport: transport.Config{CoalesceDelay: 30 * time.Millisecond}})
		r := rawDial(t, e, nil)
		r.login(e.token("alice", "phone"))
		for id := uint64(1); id <= 3; id++ {
			if _, err := r.st.Write(ackReq(id)); err != nil {
				t.Fatal(err)
			}
			if ids, _ := r.responseIDs(1); ids[0] != id {
				t.Fatalf("answer %d, want %d", ids[0], id)
			}
		}
	})
}

// On switchboard/3 the DELIVERED signal comes in band, and waits for
// company as an ack's answer does: here it can only leave with the
// answer to alice's ping.
func TestDeliveredSignalInBandWithTheNextFrame(t *testing.T) {
	alice, bob := heldPair(t)
	sendHi(t, alice)
	var inboxSeq uint64
	for inboxSeq == 0 {
		sf, err := bob.next()
		if err != nil {
			t.Fatal(err)
		}
		if m := sf.GetPush().GetMessage(); m != nil && m.Sender == "alice" {
			inboxSeq = sf.GetPush().InboxSeq
		}
	}
	if _, err := bob.st.Write(ackReq(1, inboxSeq)); err != nil {
		t.Fatal(err)
	}
	// Bob's ack was answered (with his ping) before alice pings, so the
	// signal was routed to her connection before her ping is answered.
	if _, err := bob.st.Write(pingReq(2)); err != nil {
		t.Fatal(err)
	}
	if ids, _ := bob.responseIDs(2); ids[0] != 2 {
		t.Fatalf("bob's answers in the order %v, want the ping's first", ids)
	}
	delivered := func(sigs []*wirepb.Signal) bool {
		for _, s := range sigs {
			if s.Kind == wirepb.Signal_DELIVERED && s.User == "bob" && s.Seq == 1 {
				return true
			}
		}
		return false
	}
	// The signal is routed to alice's connection on another goroutine
	// after bob's ack: ping until it has come along.
	deadline := time.Now().Add(5 * time.Second)
	for id := uint64(2); ; id++ {
		if _, err := alice.st.Write(pingReq(id)); err != nil {
			t.Fatal(err)
		}
		if _, sigs := alice.responseIDs(1); delivered(sigs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no DELIVERED signal in band with alice's answers")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The SDK's acks ride along with its next request: with an AckDelay
// nothing reaches, bob's ack of alice's message reaches the node only
// with his next request (a ping, which marks nothing read), and then
// alice's message turns delivered.
func TestAcksRideWithTheNextRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone", func(c *client.Config) { c.AckDelay = time.Hour })
	conv := wirepb.DirectConvID("alice", "bob")

	p, err := alice.Send(client.ToUser("bob"), []byte("hi bob"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob has the message", func() bool { return joined(texts(t, bob, conv)) == "hi bob" })
	time.Sleep(100 * time.Millisecond)
	if s := alice.Messages(conv)[0].State; s == client.StateDelivered {
		t.Fatalf("delivered before bob's ack could have ridden along: %v", s)
	}
	if _, err := bob.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered", func() bool { return alice.Messages(conv)[0].State == client.StateDelivered })
}

// An ack's answer also leaves with the next push to its connection: with
// a delay nothing reaches, bob reads it no later than alice's next
// message.
func TestAckAnswerLeavesWithThePush(t *testing.T) {
	alice, bob := heldPair(t)
	if _, err := bob.st.Write(ackReq(1)); err != nil {
		t.Fatal(err)
	}
	sendHi(t, alice)
	answered := false
	for {
		sf, err := bob.next()
		if err != nil {
			t.Fatalf("bob read neither the answer nor the push: %v", err)
		}
		if sf.GetResponse().GetId() == 1 {
			answered = true
		}
		if m := sf.GetPush().GetMessage(); m != nil && m.Sender == "alice" {
			if !answered {
				t.Fatal("alice's message came before the answer to bob's ack")
			}
			return
		}
	}
}

// heldPair starts a node whose lazy frames wait for company for ever and
// logs alice and bob in on raw switchboard/3 connections.
func heldPair(t *testing.T) (alice, bob *raw) {
	e := newEnv(t, envOptions{transport: transport.Config{CoalesceDelay: time.Hour}})
	alice = rawDial(t, e, nil)
	alice.login(e.token("alice", "phone"))
	bob = rawDial(t, e, nil)
	bob.login(e.token("bob", "phone"))
	return alice, bob
}

// sendHi sends bob alice's message "hi" (request id 1) and waits for its answer.
func sendHi(t *testing.T, alice *raw) {
	t.Helper()
	send := &wirepb.Request{Id: 1, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: "m1", Body: []byte("hi")}}}
	if res, err := alice.request(frame(send)); err != nil || res.GetError() != nil {
		t.Fatalf("send: %v %v", res.GetError(), err)
	}
}
