package web_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A WebSocket client that stops reading is cut off once a write to it has
// been blocked for WriteTimeout, and its connection is gone from the node:
// the deadline cuts a write already blocked in the socket, and the close
// that follows does not wait on the client.
func TestWebSocketSlowConsumerIsCut(t *testing.T) {
	const body = 48 << 10
	n := newActorNode(t, actors.Config{SendRate: 1e6, SendBurst: 1 << 20, MaxBodyBytes: body},
		transport.Config{WriteTimeout: 300 * time.Millisecond, ConnRate: 1e6, ConnBurst: 1 << 20}, web.Config{})

	// The sink says hello and never reads again.
	sink, _, err := websocket.Dial(tctx(t), n.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.CloseNow() })
	nc := websocket.NetConn(context.Background(), sink, websocket.MessageBinary)
	if err := wirepb.WriteMsg(nc, &wirepb.Hello{Token: token(t, "sink", "d1"), Client: "test"}, wirepb.DefaultMaxFrame); err != nil {
		t.Fatal(err)
	}
	source := mustDial(t, dialWS, n)
	source.hello(token(t, "source", "d1"))
	if got := n.ts.Connections(); got != 2 {
		t.Fatalf("%d connections, want the sink's and the source's", got)
	}

	// Send until the sink's connection is gone: its socket buffers fill,
	// the writer blocks, WriteTimeout passes.
	payload := bytes.Repeat([]byte("x"), body)
	deadline := time.Now().Add(30 * time.Second)
	sent := 0
	for n.ts.Connections() == 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the sink still connected after %d messages of %d bytes it never read", sent, body)
		}
		r := source.call(&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "sink", Body: payload, ClientMsgId: fmt.Sprint(sent)}}})
		if r.Error != nil {
			t.Fatalf("send %d: %v", sent, r.Error)
		}
		sent++
	}
	t.Logf("the sink was cut off after %d messages (%d MiB) it never read", sent, sent*body>>20)
	// The source is untouched.
	if r := source.call(&wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}}); r.Error != nil {
		t.Fatalf("the source after the sink was cut: %v", r.Error)
	}
}
