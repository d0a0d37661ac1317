package transport_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Sends written back to back on one connection, without waiting for
// their answers, are sequenced in the order written, to the same
// conversation and to a direct one named by its peer. Several request
// workers run per connection, so without ordered lanes this reorders.
func TestPipelinedSendsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	// However slow the machine, none may be refused for waiting its turn.
	e := newEnv(t, envOptions{transport: transport.Config{MaxQueueWait: time.Minute}})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	// The first send creates the direct conversation.
	first := frame(&wirepb.Request{Id: 1000, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: "first", Body: []byte("first")}}})
	if res, err := r.request(first); err != nil || res.GetError() != nil {
		t.Fatalf("first send: %v %v", res, err)
	}
	const n = 60
	var batch []byte
	for i := range n {
		send := &wirepb.SendRequest{ClientMsgId: fmt.Sprintf("m%d", i), Body: []byte(fmt.Sprint(i))}
		if i%2 == 0 {
			send.To = "bob"
		} else {
			send.Conv = wirepb.DirectConvID("alice", "bob")
		}
		batch = append(batch, frame(&wirepb.Request{Id: uint64(i + 1), Op: &wirepb.Request_Send{Send: send}})...)
	}
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	seqOf := map[uint64]uint64{}
	for len(seqOf) < n {
		res, err := r.response()
		if err != nil {
			t.Fatal(err)
		}
		if res.GetError() != nil {
			t.Fatalf("request %d: %v", res.Id, res.GetError())
		}
		seqOf[res.Id] = res.GetSend().Seq
	}
	for id := uint64(2); id <= n; id++ {
		if seqOf[id] != seqOf[id-1]+1 {
			t.Fatalf("request %d got seq %d after request %d's seq %d", id, seqOf[id], id-1, seqOf[id-1])
		}
	}
}
