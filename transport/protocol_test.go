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

// raw is a hand-driven protocol connection: frames built from wirepb
// and written byte for byte, no SDK.
type raw struct {
	t  testing.TB
	qc *quic.Conn
	st *quic.Stream
	rd wirepb.ByteReader
}

func rawDial(t testing.TB, e *env, qcfg *quic.Config) *raw {
	t.Helper()
	return rawDialNode(t, e, 0, qcfg)
}

// rawDialNode is rawDial to e's node i.
func rawDialNode(t testing.TB, e *env, i int, qcfg *quic.Config) *raw {
	t.Helper()
	if qcfg == nil {
		qcfg = &quic.Config{}
	}
	qcfg.EnableDatagrams = true
	qc, err := quic.DialAddr(tctx(t), e.addr(i), &tls.Config{RootCAs: e.roots, NextProtos: []string{wirepb.ALPN}}, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
	return &raw{t: t, qc: qc}
}

// hello opens the stream and writes payload as its first bytes.
func (r *raw) hello(payload []byte) {
	r.t.Helper()
	st, err := r.qc.OpenStreamSync(tctx(r.t))
	if err != nil {
		r.t.Fatal(err)
	}
	r.st, r.rd = st, wirepb.NewReader(st)
	if _, err := st.Write(payload); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) login(token string) *wirepb.Welcome {
	r.t.Helper()
	b, _ := wirepb.Marshal(&wirepb.Hello{Token: token})
	r.hello(b)
	sf, err := r.next()
	if err != nil {
		r.t.Fatal(err)
	}
	if sf.GetWelcome() == nil {
		r.t.Fatalf("no welcome: %v", sf)
	}
	return sf.GetWelcome()
}

// next reads the next server frame.
func (r *raw) next() (*wirepb.ServerFrame, error) {
	var sf wirepb.ServerFrame
	_ = r.st.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := wirepb.ReadMsg(r.rd, &sf, wirepb.DefaultMaxFrame); err != nil {
		return nil, err
	}
	return &sf, nil
}

// request writes raw bytes on the stream and reads frames up to the
// next response (pushes before it are skipped).
func (r *raw) request(b []byte) (*wirepb.Response, error) {
	_ = r.st.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.st.Write(b); err != nil {
		return nil, err
	}
	return r.response()
}

func (r *raw) response() (*wirepb.Response, error) {
	for {
		sf, err := r.next()
		if err != nil {
			return nil, err
		}
		if res := sf.GetResponse(); res != nil {
			return res, nil
		}
		if e := sf.GetError(); e != nil {
			return nil, e
		}
	}
}

// errorFrame reads frames until the server's Error frame.
func (r *raw) errorFrame() *wirepb.Error {
	r.t.Helper()
	for {
		sf, err := r.next()
		if err != nil {
			r.t.Fatalf("no error frame before the close: %v", err)
		}
		if e := sf.GetError(); e != nil {
			return e
		}
	}
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

// Every kind of bad input gets its code and costs only its own request
// (a frame that decodes) or connection (framing, hello): a bystander's
// connection keeps working throughout.
func TestMalformedInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{HelloTimeout: 500 * time.Millisecond, RequestTimeout: 2 * time.Second}})
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

	// Frames that decode are answered on the stream, with their id when
	// they have one, and the connection carries on. A frame of exactly the
	// maximum size is read and decoded (the grain then answers: no such
	// conversation).
	for _, tc := range []struct {
		name   string
		b      []byte
		want   wirepb.Code
		wantID uint64
	}{
		{"max frame", sendOfPayloadSize(max, 3), wirepb.Code_NOT_FOUND, 3},
		{"garbage", wirepb.AppendFrame(nil, []byte{0xff, 0xff, 0xff, 0xff}), wirepb.Code_BAD_FRAME, 0},
		{"unknown op", wirepb.AppendFrame(nil, protowire99()), wirepb.Code_UNKNOWN_TYPE, 7},
		{"no op", frame(&wirepb.Request{Id: 4}), wirepb.Code_UNKNOWN_TYPE, 4},
		{"bad conv id", frame(&wirepb.Request{Id: 5, Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: "bad conv!"}}}), wirepb.Code_INVALID, 5},
		{"send without client_msg_id", frame(&wirepb.Request{Id: 6, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:c", Body: []byte("x")}}}), wirepb.Code_INVALID, 6},
		{"send to both", frame(&wirepb.Request{Id: 8, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:c", To: "u", Body: []byte("x")}}}), wirepb.Code_INVALID, 8},
		// The store keys messages by client_msg_id: one it could not
		// store is refused alone, before it reaches a batch.
		{"NUL in client_msg_id", frame(&wirepb.Request{Id: 11, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "carol", ClientMsgId: "a\x00b", Body: []byte("x")}}}), wirepb.Code_INVALID, 11},
		{"bad role", frame(&wirepb.Request{Id: 10, Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: "g:c", Users: []string{"u"}, Role: 99}}}), wirepb.Code_INVALID, 10},
	} {
		res, err := r.request(tc.b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := res.GetError().GetCode(); got != tc.want || res.Id != tc.wantID {
			t.Fatalf("%s: got %v (%s) for id %d, want %v for id %d", tc.name, got, res.GetError().GetMessage(), res.Id, tc.want, tc.wantID)
		}
		// The connection survives a bad request.
		if res, err := r.request(ping); err != nil || res.GetPing() == nil || res.Id != 9 {
			t.Fatalf("after %s: ping %v %v", tc.name, res, err)
		}
	}
	alive()

	// Broken framing loses the stream: the connection is closed with the
	// code, after an Error frame saying it.
	for _, tc := range []struct {
		name string
		b    []byte
		fin  bool
		want wirepb.Code
	}{
		{"max frame + 1", sendOfPayloadSize(max+1, 3), false, wirepb.Code_FRAME_TOO_LARGE},
		{"huge prefix", binary.AppendUvarint(nil, 1<<34), false, wirepb.Code_FRAME_TOO_LARGE},
		{"6-byte prefix", binary.AppendUvarint(nil, 1<<40), false, wirepb.Code_BAD_FRAME},
		{"long prefix", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, false, wirepb.Code_BAD_FRAME},
		{"non-minimal prefix", []byte{0x85, 0x00, 1, 2, 3, 4, 5}, false, wirepb.Code_BAD_FRAME},
		{"cut short", append(binary.AppendUvarint(nil, 10), 1, 2, 3), true, wirepb.Code_BAD_FRAME},
		{"cut in prefix", []byte{0x80}, true, wirepb.Code_BAD_FRAME},
		{"stalled inside a frame", append(binary.AppendUvarint(nil, 10), 1, 2, 3), false, wirepb.Code_TIMEOUT},
	} {
		r := rawDial(t, e, nil)
		r.login(e.token("mallory", "tablet"))
		// The server may close before a large write went out: then the
		// Error frame can be lost with the write, and the close code says it.
		_, werr := r.st.Write(tc.b)
		if tc.fin {
			_ = r.st.Close()
		}
		for {
			sf, err := r.next()
			if err != nil {
				if werr == nil {
					t.Fatalf("%s: no error frame before the close: %v", tc.name, err)
				}
				break
			}
			if e := sf.GetError(); e != nil {
				if e.Code != tc.want {
					t.Fatalf("%s: error frame %v, want %v", tc.name, e.Code, tc.want)
				}
				break
			}
		}
		if got := r.closeCode(); got != tc.want {
			t.Fatalf("%s: closed with %v, want %v", tc.name, got, tc.want)
		}
	}
	alive()

	// Bad hellos close the connection with their code.
	for _, tc := range []struct {
		name  string
		hello []byte
		fin   bool
		want  wirepb.Code
	}{
		{"garbage hello", wirepb.AppendFrame(nil, []byte{0xff, 0xff}), false, wirepb.Code_BAD_FRAME},
		{"huge hello", binary.AppendUvarint(nil, uint64(max)+1), false, wirepb.Code_FRAME_TOO_LARGE},
		{"no hello", nil, false, wirepb.Code_TIMEOUT},
		{"stream ended before hello", nil, true, wirepb.Code_PROTOCOL},
		{"empty token", frame(&wirepb.Hello{}), false, wirepb.Code_UNAUTHENTICATED},
	} {
		r := rawDial(t, e, nil)
		r.hello(tc.hello)
		if tc.fin {
			_ = r.st.Close()
		}
		if got := r.closeCode(); got != tc.want {
			t.Fatalf("%s: closed with %v, want %v", tc.name, got, tc.want)
		}
	}
	// No stream at all.
	r3 := rawDial(t, e, nil)
	if got := r3.closeCode(); got != wirepb.Code_TIMEOUT {
		t.Fatalf("silent client: %v", got)
	}
	alive()
}

// sendOfPayloadSize builds a send request frame whose payload is exactly n bytes.
func sendOfPayloadSize(n int, id uint64) []byte {
	req := &wirepb.Request{Id: id, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:c", ClientMsgId: "x"}}}
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

// A client that reads too slowly costs bounded memory: its queue is
// dropped and it is told to resync; one that stops reading is
// disconnected. The sender and other clients carry on.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{PushQueue: 16, WriteTimeout: 2 * time.Second}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bobOK := e.dial("bob", "laptop")
	// Bob's phone and tablet give the stream a tiny flow-control window;
	// the phone reads slowly, the tablet never reads again.
	small := func() *quic.Config {
		return &quic.Config{InitialStreamReceiveWindow: 1 << 10, MaxStreamReceiveWindow: 1 << 10}
	}
	phone := rawDial(t, e, small())
	if w := phone.login(e.token("bob", "phone")); w.Cursor != 0 {
		t.Fatalf("cursor %d", w.Cursor)
	}
	tablet := rawDial(t, e, small())
	tablet.login(e.token("bob", "tablet"))
	// The phone reads a frame every 50 ms: its stream never stalls for
	// WriteTimeout, but pushes come faster than it drains them.
	resync := make(chan *wirepb.Resync, 1)
	go func() {
		for {
			sf, err := phone.next()
			if err != nil {
				return
			}
			if rs := sf.GetResync(); rs != nil {
				select {
				case resync <- rs:
				default:
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	body := bytes.Repeat([]byte("x"), 2000)
	conv := wirepb.DirectConvID("alice", "bob")
	// One push per message reaches bob's devices (alice's reads of her own
	// messages send no receipts): enough of them to overflow a queue of 16
	// drained at 20 frames/s however slowly a loaded box sends.
	const sent = 150
	for i := range sent {
		p, err := alice.Send(client.ToUser("bob"), body, "")
		if err != nil {
			t.Fatal(err)
		}
		if i == sent-1 {
			if _, err := p.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "the healthy device got everything", func() bool { return len(texts(t, bobOK, conv)) == sent })
	// Among the phone's frames, a Resync naming the cursor (nothing was
	// acknowledged, so 0).
	select {
	case rs := <-resync:
		if rs.Cursor != 0 {
			t.Fatalf("resync cursor %d: nothing was acknowledged", rs.Cursor)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no resync")
	}
	if got := tablet.closeCode(); got != wirepb.Code_SLOW_CONSUMER {
		t.Fatalf("slow consumer closed with %v", got)
	}
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
// Error frame on its stream before the close, not only the QUIC close
// reason.
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
	sf, err := r.next()
	if err != nil {
		t.Fatalf("no error frame before the close: %v", err)
	}
	if got := sf.GetError().GetCode(); got != wirepb.Code_TOKEN_EXPIRED {
		t.Fatalf("frame %v, want an error TOKEN_EXPIRED", sf)
	}
}
