package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// raw is a hand-driven protocol connection.
type raw struct {
	t    *testing.T
	qc   *quic.Conn
	ctrl *quic.Stream
	ctrR wirepb.ByteReader
}

func rawDial(t *testing.T, e *env, qcfg *quic.Config) *raw {
	t.Helper()
	if qcfg == nil {
		qcfg = &quic.Config{}
	}
	qcfg.EnableDatagrams = true
	qc, err := quic.DialAddr(tctx(t), e.addr(0), &tls.Config{RootCAs: e.roots, NextProtos: []string{wirepb.ALPN}}, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
	return &raw{t: t, qc: qc}
}

// hello sends payload as the control stream's first frame.
func (r *raw) hello(payload []byte) {
	r.t.Helper()
	st, err := r.qc.OpenStreamSync(tctx(r.t))
	if err != nil {
		r.t.Fatal(err)
	}
	r.ctrl, r.ctrR = st, wirepb.NewReader(st)
	if _, err := st.Write(payload); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) login(token string) *wirepb.Welcome {
	r.t.Helper()
	b, _ := wirepb.Marshal(&wirepb.Hello{Token: token})
	r.hello(b)
	var sc wirepb.ServerControl
	if err := wirepb.ReadMsg(r.ctrR, &sc, wirepb.DefaultMaxFrame); err != nil {
		r.t.Fatal(err)
	}
	if sc.GetWelcome() == nil {
		r.t.Fatalf("no welcome: %v", &sc)
	}
	return sc.GetWelcome()
}

// request writes raw bytes on a new stream and reads the answer.
func (r *raw) request(b []byte) (*wirepb.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := r.qc.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	_ = st.SetDeadline(time.Now().Add(5 * time.Second))
	// A server refusing the frame stops the stream's reading: the write
	// may fail, the answer is still there to read.
	if _, err := st.Write(b); err == nil {
		_ = st.Close()
	}
	var res wirepb.Response
	if err := wirepb.ReadMsg(wirepb.NewReader(st), &res, wirepb.DefaultMaxFrame); err != nil {
		return nil, err
	}
	return &res, nil
}

func frame(m proto.Message) []byte {
	b, _ := wirepb.Marshal(m)
	return b
}

// closeCode waits for the connection to close and returns its code.
func (r *raw) closeCode() wirepb.Code {
	r.t.Helper()
	select {
	case <-r.qc.Context().Done():
	case <-time.After(10 * time.Second):
		r.t.Fatal("connection not closed")
	}
	var ae *quic.ApplicationError
	if errors.As(context.Cause(r.qc.Context()), &ae) {
		return wirepb.Code(ae.ErrorCode)
	}
	r.t.Fatalf("closed without an application code: %v", context.Cause(r.qc.Context()))
	return 0
}

// Every kind of bad input gets its code and costs only its own stream or
// connection: a bystander's connection keeps working throughout.
func TestMalformedInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{HelloTimeout: 500 * time.Millisecond}})
	ctx := tctx(t)
	bystander := e.dial("carol", "phone")
	alive := func() {
		t.Helper()
		if _, err := bystander.Ping(ctx); err != nil {
			t.Fatalf("bystander broken: %v", err)
		}
	}

	r := rawDial(t, e, nil)
	r.login(e.token("mallory", "phone"))
	max := wirepb.DefaultMaxFrame
	ping := frame(&wirepb.Request{Id: 9, Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})

	// A frame of exactly the maximum size is read and decoded (the grain
	// then answers: no such conversation); one byte more is refused by the
	// framing.
	for _, tc := range []struct {
		name string
		b    []byte
		want wirepb.Code
	}{
		{"max frame", sendOfPayloadSize(max), wirepb.Code_NOT_FOUND},
		{"max frame + 1", sendOfPayloadSize(max + 1), wirepb.Code_FRAME_TOO_LARGE},
		{"huge prefix", binary.AppendUvarint(nil, 1<<34), wirepb.Code_FRAME_TOO_LARGE},
		{"6-byte prefix", binary.AppendUvarint(nil, 1<<40), wirepb.Code_BAD_FRAME},
		{"long prefix", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, wirepb.Code_BAD_FRAME},
		{"non-minimal prefix", []byte{0x85, 0x00, 1, 2, 3, 4, 5}, wirepb.Code_BAD_FRAME},
		{"cut short", append(binary.AppendUvarint(nil, 10), 1, 2, 3), wirepb.Code_BAD_FRAME},
		{"cut in prefix", []byte{0x80}, wirepb.Code_BAD_FRAME},
		{"empty stream", nil, wirepb.Code_PROTOCOL},
		{"garbage", wirepb.AppendFrame(nil, []byte{0xff, 0xff, 0xff, 0xff}), wirepb.Code_BAD_FRAME},
		{"unknown op", wirepb.AppendFrame(nil, protowire99()), wirepb.Code_UNKNOWN_TYPE},
		{"no op", frame(&wirepb.Request{Id: 4}), wirepb.Code_UNKNOWN_TYPE},
		{"bad conv id", frame(&wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: "bad conv!"}}}), wirepb.Code_INVALID},
		{"send without client_msg_id", frame(&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:c", Body: []byte("x")}}}), wirepb.Code_INVALID},
		{"send to both", frame(&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:c", To: "u", Body: []byte("x")}}}), wirepb.Code_INVALID},
		{"bad role", frame(&wirepb.Request{Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: "g:c", Users: []string{"u"}, Role: 99}}}), wirepb.Code_INVALID},
	} {
		res, err := r.request(tc.b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := res.GetError().GetCode(); got != tc.want {
			t.Fatalf("%s: got %v (%s), want %v", tc.name, got, res.GetError().GetMessage(), tc.want)
		}
		// The connection survives a bad stream.
		if res, err := r.request(ping); err != nil || res.GetPing() == nil || res.Id != 9 {
			t.Fatalf("after %s: ping %v %v", tc.name, res, err)
		}
	}
	alive()

	// Bad control streams close the connection with their code.
	for _, tc := range []struct {
		name  string
		hello []byte
		want  wirepb.Code
	}{
		{"garbage hello", wirepb.AppendFrame(nil, []byte{0xff, 0xff}), wirepb.Code_BAD_FRAME},
		{"huge hello", binary.AppendUvarint(nil, uint64(max)+1), wirepb.Code_FRAME_TOO_LARGE},
		{"no hello", nil, wirepb.Code_TIMEOUT},
		{"empty token", frame(&wirepb.Hello{}), wirepb.Code_UNAUTHENTICATED},
	} {
		r := rawDial(t, e, nil)
		r.hello(tc.hello)
		if got := r.closeCode(); got != tc.want {
			t.Fatalf("%s: closed with %v, want %v", tc.name, got, tc.want)
		}
	}
	// A frame on the control stream after hello is a protocol error.
	r2 := rawDial(t, e, nil)
	r2.login(e.token("mallory", "tablet"))
	if _, err := r2.ctrl.Write(frame(&wirepb.Hello{Token: "again"})); err != nil {
		t.Fatal(err)
	}
	if got := r2.closeCode(); got != wirepb.Code_PROTOCOL {
		t.Fatalf("second hello: %v", got)
	}
	// No control stream at all.
	r3 := rawDial(t, e, nil)
	if got := r3.closeCode(); got != wirepb.Code_TIMEOUT {
		t.Fatalf("silent client: %v", got)
	}
	alive()
}

// sendOfPayloadSize builds a send request frame whose payload is exactly n bytes.
func sendOfPayloadSize(n int) []byte {
	req := &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:c", ClientMsgId: "x"}}}
	for body := n - proto.Size(req) - 8; ; body++ {
		req.GetSend().Body = bytes.Repeat([]byte{'a'}, body)
		if s := proto.Size(req); s == n {
			return wirepb.AppendFrame(nil, mustMarshal(req))
		} else if s > n {
			req.GetSend().Body = req.GetSend().Body[:body-1]
			req.GetSend().ClientMsgId = "xy"
			if proto.Size(req) == n {
				return wirepb.AppendFrame(nil, mustMarshal(req))
			}
			panic("cannot hit the size")
		}
	}
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// protowire99 is a Request with only a field the protocol does not know.
func protowire99() []byte {
	return []byte{0x08, 0x07, 0x9a, 0x06, 0x00} // id=7, field 99 (bytes, empty)
}

// A client flooding requests gets RATE_LIMITED, then is disconnected;
// others are not affected.
func TestRequestFlood(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{ConnRate: 5, ConnBurst: 5, MaxRejected: 20}})
	ctx := tctx(t)
	bystander := e.dial("carol", "phone")
	r := rawDial(t, e, nil)
	r.login(e.token("mallory", "phone"))
	ping := frame(&wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})
	limited := 0
	for range 60 {
		res, err := r.request(ping)
		if err != nil {
			break
		}
		if res.GetError().GetCode() == wirepb.Code_RATE_LIMITED {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("never rate limited")
	}
	if got := r.closeCode(); got != wirepb.Code_RATE_LIMITED {
		t.Fatalf("flooder closed with %v", got)
	}
	if _, err := bystander.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// A client that stops reading its pushes costs bounded memory: its queue
// is dropped, it is told to resync, and at last disconnected; the sender
// and other clients carry on.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{PushQueue: 16, WriteTimeout: 2 * time.Second}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bobOK := e.dial("bob", "laptop")
	// Bob's phone reads its control stream but never its push streams, and
	// gives them a tiny flow-control window.
	r := rawDial(t, e, &quic.Config{InitialStreamReceiveWindow: 1 << 10, MaxStreamReceiveWindow: 1 << 10})
	w := r.login(e.token("bob", "phone"))
	if w.Cursor != 0 {
		t.Fatalf("cursor %d", w.Cursor)
	}
	resync := make(chan *wirepb.Resync, 1)
	go func() {
		for {
			var sc wirepb.ServerControl
			if err := wirepb.ReadMsg(r.ctrR, &sc, wirepb.DefaultMaxFrame); err != nil {
				return
			}
			if rs := sc.GetResync(); rs != nil {
				select {
				case resync <- rs:
				default:
				}
			}
		}
	}()
	body := bytes.Repeat([]byte("x"), 2000)
	conv := wirepb.DirectConvID("alice", "bob")
	for i := range 60 {
		p, err := alice.Send(client.ToUser("bob"), body, "")
		if err != nil {
			t.Fatal(err)
		}
		if i == 59 {
			if _, err := p.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case rs := <-resync:
		if rs.Cursor != 0 {
			t.Fatalf("resync cursor %d: nothing was acknowledged", rs.Cursor)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resync")
	}
	if got := r.closeCode(); got != wirepb.Code_SLOW_CONSUMER {
		t.Fatalf("slow consumer closed with %v", got)
	}
	eventually(t, "the healthy device got everything", func() bool { return len(texts(t, bobOK, conv)) == 60 })
	// Nothing was acknowledged by the phone: its cursor did not move.
	if d, ok := storedDevice(t, e, "bob", "phone"); ok && d.Cursor != 0 {
		t.Fatalf("phone cursor moved to %d", d.Cursor)
	}
}

// Drain tells clients to go elsewhere; they reconnect there and carry on.
func TestDrain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{nodes: 2, transport: transport.Config{DrainGrace: 3 * time.Second}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone", func(c *client.Config) { c.Addr = e.addr(1) })
	conv := wirepb.DirectConvID("alice", "bob")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "before"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob got it across nodes", func() bool { return len(texts(t, bob, conv)) == 1 })

	done := make(chan struct{})
	go func() { e.servers[0].Drain(ctx, e.addr(1)); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("drain did not finish")
	}
	if n := e.servers[0].Connections(); n != 0 {
		t.Fatalf("%d connections left after drain", n)
	}
	eventually(t, "alice reconnected elsewhere", alice.Connected)
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "after"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob got the second", func() bool { return joined(texts(t, bob, conv)) == "before,after" })
	// A new connection to the drained server is refused.
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := client.Dial(dctx, e.config("dave", "phone")); err == nil {
		t.Fatal("drained server accepted a connection")
	}
}

// TestErrorFrameBeforeClose: a refused connection gets the documented
// ServerControl.error frame on its control stream before the close, not
// only the QUIC close reason.
func TestErrorFrameBeforeClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	expired, err := transport.MintHS256(testSecret, "alice", "phone", -time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	r := rawDial(t, e, nil)
	b, _ := wirepb.Marshal(&wirepb.Hello{Token: expired})
	r.hello(b)
	var sc wirepb.ServerControl
	if err := wirepb.ReadMsg(r.ctrR, &sc, wirepb.DefaultMaxFrame); err != nil {
		t.Fatalf("no error frame before the close: %v", err)
	}
	if got := sc.GetError().GetCode(); got != wirepb.Code_TOKEN_EXPIRED {
		t.Fatalf("control frame %v, want an error TOKEN_EXPIRED", &sc)
	}
}
