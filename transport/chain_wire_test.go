package transport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A pipelined send whose after_client_msg_id names a send the server
// refused transiently (here the conversation grain's rate limit) is
// refused BUSY with a retry-after, and so is the one behind it; a send
// naming nothing, or a send that ran, goes to the grain. Sent again in
// order, the refused ones get the next seqs.
func TestSendBehindRefusedSendIsRefused(t *testing.T) {
	t.Parallel()
	// Two sends per conversation at once, then one per second.
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 1, SendBurst: 2},
		transport: transport.Config{MaxQueueWait: time.Minute},
	})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	collect := func(n int) map[uint64]*wirepb.Response {
		got := map[uint64]*wirepb.Response{}
		for len(got) < n {
			res, err := r.response()
			if err != nil {
				t.Fatal(err)
			}
			got[res.Id] = res
		}
		return got
	}
	var batch []byte
	batch = append(batch, sendAfter(1, "m1", "")...)
	batch = append(batch, sendAfter(2, "m2", "m1")...)
	batch = append(batch, sendAfter(3, "m3", "m2")...) // the grain's limit: RATE_LIMITED
	batch = append(batch, sendAfter(4, "m4", "m3")...) // behind m3: BUSY
	batch = append(batch, sendAfter(5, "m5", "m4")...) // behind m4: BUSY
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	got := collect(5)
	for id, seq := range map[uint64]uint64{1: 1, 2: 2} {
		if s := got[id].GetSend().GetSeq(); s != seq || got[id].GetError() != nil {
			t.Fatalf("send %d: seq %d (%v), want %d", id, s, got[id].GetError(), seq)
		}
	}
	if c := got[3].GetError().GetCode(); c != wirepb.Code_RATE_LIMITED {
		t.Fatalf("send 3: %v, want the grain's RATE_LIMITED", got[3].GetError())
	}
	for _, id := range []uint64{4, 5} {
		e := got[id].GetError()
		if e.GetCode() != wirepb.Code_BUSY || e.GetRetryAfterMs() == 0 || !strings.Contains(e.GetMessage(), "behind a refused send") {
			t.Fatalf("send %d: %v, want BUSY behind a refused send with a retry-after", id, e)
		}
	}
	// Once the limit has refilled: m3 again naming nothing ahead, m4
	// behind it (they run); m5 behind m4, which ran, is not chained: it
	// reaches the grain, whose limit refuses it.
	time.Sleep(2100 * time.Millisecond)
	batch = append(sendAfter(6, "m3", ""), sendAfter(7, "m4", "m3")...)
	batch = append(batch, sendAfter(8, "m5", "m4")...)
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	got = collect(3)
	for id, seq := range map[uint64]uint64{6: 3, 7: 4} {
		if s := got[id].GetSend().GetSeq(); s != seq || got[id].GetError() != nil {
			t.Fatalf("send %d: seq %d (%v), want %d", id, s, got[id].GetError(), seq)
		}
	}
	if c := got[8].GetError().GetCode(); c != wirepb.Code_RATE_LIMITED {
		t.Fatalf("send 8 (m5 behind m4, which ran): %v, want the grain's RATE_LIMITED", got[8].GetError())
	}
}

// A send refused for good as soon as it is read (here: it reuses the id of
// a request in flight), while the send it names is still waiting its turn,
// passes the question on: the send written behind it is refused if that
// one is refused, in its turn.
func TestSendBehindSkippedSendFollowsItsPredecessor(t *testing.T) {
	t.Parallel()
	// One send per conversation at once, then one per 10 s.
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 0.1, SendBurst: 1},
		transport: transport.Config{MaxQueueWait: time.Minute},
	})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	var batch []byte
	batch = append(batch, sendAfter(1, "m0", "")...)   // runs
	batch = append(batch, sendAfter(2, "m1", "m0")...) // waits behind m0, then the grain's limit: RATE_LIMITED
	batch = append(batch, sendAfter(2, "m2", "m1")...) // id 2 is in flight: PROTOCOL when read
	batch = append(batch, sendAfter(3, "m3", "m2")...) // behind m2, so behind m1: BUSY
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	// Two answers carry id 2: m2's refusal (when read) and m1's.
	got := map[uint64]*wirepb.Response{}
	var id2 []*wirepb.Error
	for range 4 {
		res, err := r.response()
		if err != nil {
			t.Fatal(err)
		}
		if res.Id == 2 {
			id2 = append(id2, res.GetError())
		}
		got[res.Id] = res
	}
	codes := map[wirepb.Code]bool{}
	for _, e := range id2 {
		codes[e.GetCode()] = true
	}
	if len(id2) != 2 || !codes[wirepb.Code_PROTOCOL] || !codes[wirepb.Code_RATE_LIMITED] {
		t.Fatalf("answers with id 2: %v, want m2's PROTOCOL (an id in flight) and m1's RATE_LIMITED (the grain's limit)", id2)
	}
	if got[1].GetError() != nil || got[1].GetSend().GetSeq() != 1 {
		t.Fatalf("m0: %v", got[1])
	}
	if e := got[3].GetError(); e.GetCode() != wirepb.Code_BUSY || !strings.Contains(e.GetMessage(), "behind a refused send") {
		t.Fatalf("m3, behind m2 which followed refused m1: %v, want BUSY behind a refused send", e)
	}
}

// sendAfter is the frame of a send to bob with client id cm, written
// behind the send named after ("": none).
func sendAfter(id uint64, cm, after string) []byte {
	return frame(&wirepb.Request{Id: id, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{
		To: "bob", ClientMsgId: cm, AfterClientMsgId: after, Body: []byte(cm)}}})
}
