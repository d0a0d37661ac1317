package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/quic-go/webtransport-go"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// node is a real node (Pebble on disk, actors) with its QUIC server and
// the browser transports: WebSocket on an HTTP test server, WebTransport
// on loopback UDP with a hashed dev certificate.
type node struct {
	t    *testing.T
	ts   *transport.Server
	web  *web.Server
	http *httptest.Server
}

func newNode(t *testing.T, tc transport.Config, wc web.Config) *node {
	t.Helper()
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: testLogger(), ClusterName: "web-test"})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := transport.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Auth == nil {
		if tc.Auth, err = transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret}); err != nil {
			t.Fatal(err)
		}
	}
	tc.Addr, tc.TLS, tc.Logger = "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}}, testLogger()
	ts, err := transport.Listen(n.Runtime, tc)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := web.NewHashedCert(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wc.WebTransportAddr = "127.0.0.1:0"
	wc.TLS = &tls.Config{GetCertificate: hc.GetCertificate}
	wc.Cert = hc
	wc.Logger = testLogger()
	ws, err := web.New(ts, wc)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ws.Handler())
	t.Cleanup(func() {
		_ = ts.Close()
		_ = ws.Close()
		hs.Close()
		n.Stop(true)
		_ = store.Close()
	})
	return &node{t: t, ts: ts, web: ws, http: hs}
}

func token(t testing.TB, user, device string) string {
	tok, err := transport.MintHS256(testSecret, user, device, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// peer is a raw protocol client on one stream: it writes ClientFrames and
// reads ServerFrames, as a browser does.
type peer struct {
	t      testing.TB
	w      io.Writer
	frames chan *wirepb.ServerFrame
	err    chan error // why reading stopped
	close  func()
	nextID uint64
	wsConn *websocket.Conn
	wtSess *webtransport.Session

	mu     sync.Mutex
	pushed []uint64 // inbox seqs of the pushes read, to acknowledge
}

func newPeer(t testing.TB, rw io.ReadWriter, close func()) *peer {
	p := &peer{t: t, w: rw, frames: make(chan *wirepb.ServerFrame, 1024), err: make(chan error, 1), close: close}
	go func() {
		r := wirepb.NewReader(rw)
		for {
			var f wirepb.ServerFrame
			if err := wirepb.ReadMsg(r, &f, wirepb.DefaultMaxFrame); err != nil {
				p.err <- err
				return
			}
			if s := f.GetPush().GetInboxSeq(); s > 0 {
				p.mu.Lock()
				p.pushed = append(p.pushed, s)
				p.mu.Unlock()
			}
			p.frames <- &f
		}
	}()
	t.Cleanup(close)
	return p
}

func (p *peer) send(f proto.Message) {
	p.t.Helper()
	if err := wirepb.WriteMsg(p.w, f, wirepb.DefaultMaxFrame); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *peer) hello(tok string) *wirepb.Welcome {
	p.t.Helper()
	p.send(&wirepb.Hello{Token: tok, Client: "test"})
	f := p.next()
	if f.GetWelcome() == nil {
		p.t.Fatalf("first frame is not Welcome: %v", f)
	}
	return f.GetWelcome()
}

// next is the next frame; it fails the test after 10 s or when the
// stream ended.
func (p *peer) next() *wirepb.ServerFrame {
	p.t.Helper()
	select {
	case f := <-p.frames:
		return f
	case err := <-p.err:
		p.t.Fatalf("stream ended: %v", err)
	case <-time.After(10 * time.Second):
		p.t.Fatal("no frame within 10 s")
	}
	return nil
}

// until skips frames until one satisfies ok.
func (p *peer) until(what string, ok func(*wirepb.ServerFrame) bool) *wirepb.ServerFrame {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-p.frames:
			if ok(f) {
				return f
			}
		case err := <-p.err:
			p.t.Fatalf("waiting for %s: stream ended: %v", what, err)
		case <-deadline:
			p.t.Fatalf("waiting for %s: nothing within 10 s", what)
		}
	}
}

// call sends a request and waits for its response (other frames skipped).
func (p *peer) call(req *wirepb.Request) *wirepb.Response {
	p.t.Helper()
	p.nextID++
	req.Id = p.nextID
	p.send(req)
	return p.until(fmt.Sprintf("response %d", req.Id), func(f *wirepb.ServerFrame) bool {
		return f.GetResponse() != nil && f.GetResponse().Id == req.Id
	}).GetResponse()
}

// ackAll acknowledges every push read so far and the sync answer with
// cursor syncCursor; it returns the device cursor.
func (p *peer) ackAll(syncCursor uint64) uint64 {
	p.t.Helper()
	p.mu.Lock()
	seqs := append([]uint64(nil), p.pushed...)
	p.mu.Unlock()
	r := p.call(&wirepb.Request{Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: seqs, SyncCursor: syncCursor}}})
	if r.Error != nil {
		p.t.Fatalf("ack: %v", r.Error)
	}
	return r.GetAck().Cursor
}

// ended waits for the server to end the stream, returning the Error
// control frame it sent first (nil if none) and the read error.
func (p *peer) ended() (*wirepb.Error, error) {
	p.t.Helper()
	var e *wirepb.Error
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-p.frames:
			if f.GetError() != nil {
				e = f.GetError()
			}
		case err := <-p.err:
			if p.wtSess != nil && errors.Is(err, io.EOF) {
				// The stream ended cleanly; the session's close follows.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err = p.wtSess.AcceptStream(ctx)
				cancel()
			}
			return e, err
		case <-deadline:
			p.t.Fatal("stream still open after 10 s")
		}
	}
}

func (n *node) wsURL() string {
	return "ws" + strings.TrimPrefix(n.http.URL, "http") + web.WebSocketPath
}

func dialWS(t testing.TB, n *node, origin string) (*peer, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, resp, err := websocket.Dial(tctx(t), n.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	p := newPeer(t, nc, func() { _ = nc.Close() })
	p.wsConn = c
	return p, nil
}

// webConfig fetches the document a page reads before connecting.
func webConfig(t testing.TB, n *node) (wt string, hash []byte) {
	t.Helper()
	resp, err := http.Get(n.http.URL + web.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		WebSocket    string `json:"websocket"`
		WebTransport string `json:"webtransport"`
		CertHashes   []struct {
			Algorithm, Value string
		} `json:"cert_hashes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.WebSocket != web.WebSocketPath || c.WebTransport == "" || len(c.CertHashes) != 1 || c.CertHashes[0].Algorithm != "sha-256" {
		t.Fatalf("config %+v", c)
	}
	h, err := base64.StdEncoding.DecodeString(c.CertHashes[0].Value)
	if err != nil || len(h) != 32 {
		t.Fatalf("hash %q: %v", c.CertHashes[0].Value, err)
	}
	return c.WebTransport, h
}

// dialWT connects over WebTransport trusting the server's certificate by
// the published hash only, as a browser with serverCertificateHashes does.
func dialWT(t testing.TB, n *node, origin string) (*peer, error) {
	url, hash := webConfig(t, n)
	tr := &webtransport.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the hash check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			if got := sha256.Sum256(raw[0]); !bytes.Equal(got[:], hash) {
				return errors.New("certificate hash differs from the published one")
			}
			return nil
		}}}
	t.Cleanup(func() { _ = tr.Close() })
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	resp, sess, err := tr.Dial(tctx(t), url, h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	st, err := sess.OpenStreamSync(tctx(t))
	if err != nil {
		return nil, err
	}
	p := newPeer(t, st, func() { _ = sess.CloseWithError(0, "") })
	p.wtSess = sess
	go func() { // signals come as datagrams
		for {
			b, err := sess.ReceiveDatagram(context.Background())
			if err != nil {
				return
			}
			var sig wirepb.Signal
			if proto.Unmarshal(b, &sig) == nil {
				p.frames <- &wirepb.ServerFrame{Msg: &wirepb.ServerFrame_Signal{Signal: &sig}}
			}
		}
	}()
	return p, nil
}

type dialer func(testing.TB, *node, string) (*peer, error)

var transports = []struct {
	name string
	dial dialer
}{{"websocket", dialWS}, {"webtransport", dialWT}}

func mustDial(t testing.TB, d dialer, n *node) *peer {
	t.Helper()
	p, err := d(t, n, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConversation: two browser clients on one node, over each transport:
// welcome, send with client message ids (a resend is a duplicate),
// pushes, acks moving the cursor, typing signals, read receipts, and a
// reconnect that resumes from the stored cursor with a sync.
func TestConversation(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			n := newNode(t, transport.Config{}, web.Config{})
			alice := mustDial(t, tr.dial, n)
			bob := mustDial(t, tr.dial, n)
			if w := alice.hello(token(t, "alice", "web1")); w.User != "alice" || w.Device != "web1" {
				t.Fatalf("welcome %+v", w)
			}
			bw := bob.hello(token(t, "bob", "web1"))

			send := &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: "m1", Body: []byte("hi bob")}}}
			res := alice.call(send)
			if res.Error != nil || res.GetSend().Seq == 0 || res.GetSend().Duplicate {
				t.Fatalf("send: %v", res)
			}
			conv, seq := res.GetSend().Conv, res.GetSend().Seq
			if again := alice.call(proto.Clone(send).(*wirepb.Request)); !again.GetSend().Duplicate || again.GetSend().Seq != seq {
				t.Fatalf("resend with the same client id: %v", again)
			}
			push := bob.until("bob's push", func(f *wirepb.ServerFrame) bool { return f.GetPush().GetMessage() != nil }).GetPush()
			if m := push.GetMessage(); m.Conv != conv || m.Seq != seq || string(m.Body) != "hi bob" || m.Sender != "alice" {
				t.Fatalf("push %v", push)
			}
			if cur := bob.ackAll(bw.Sync.Cursor); cur < push.InboxSeq {
				t.Fatalf("ack: cursor %d, pushed %d", cur, push.InboxSeq)
			}
			// Bob's ack tells alice her message was delivered.
			alice.until("delivered", func(f *wirepb.ServerFrame) bool {
				s := f.GetSignal()
				return s.GetKind() == wirepb.Signal_DELIVERED && s.Conv == conv && s.Seq == seq && s.User == "bob"
			})
			if r := bob.call(&wirepb.Request{Op: &wirepb.Request_Signal{Signal: &wirepb.Signal{Kind: wirepb.Signal_TYPING, Conv: conv}}}); r.Error != nil {
				t.Fatalf("typing: %v", r.Error)
			}
			alice.until("typing", func(f *wirepb.ServerFrame) bool {
				return f.GetSignal() != nil && f.GetSignal().GetKind() == wirepb.Signal_TYPING && f.GetSignal().GetUser() == "bob"
			})
			if r := bob.call(&wirepb.Request{Op: &wirepb.Request_MarkRead{MarkRead: &wirepb.MarkReadRequest{Conv: conv, Seq: seq}}}); r.Error != nil {
				t.Fatalf("mark read: %v", r.Error)
			}
			alice.until("receipt", func(f *wirepb.ServerFrame) bool { return f.GetPush().GetReceipt().GetSeq() == seq })

			// Bob goes away; alice writes twice more; bob's next connection
			// starts from his stored cursor and is told of the conversation.
			bob.close()
			_, _ = bob.ended()
			for i, body := range []string{"two", "three"} {
				r := alice.call(&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: conv, ClientMsgId: fmt.Sprintf("m%d", i+2), Body: []byte(body)}}})
				if r.Error != nil {
					t.Fatal(r.Error)
				}
			}
			bob2 := mustDial(t, tr.dial, n)
			w := bob2.hello(token(t, "bob", "web1"))
			if w.Cursor < push.InboxSeq {
				t.Fatalf("reconnect: cursor %d went behind the acknowledged %d", w.Cursor, push.InboxSeq)
			}
			var found *wirepb.ConvSummary
			for _, c := range w.Sync.Conversations {
				if c.Conv == conv {
					found = c
				}
			}
			// The sends were acknowledged, the inbox entries they cause may
			// trail by a moment: the sync names the conversation, and the
			// client pulls what it lacks.
			if found == nil || found.LastSeq <= seq || found.Unread == 0 {
				t.Fatalf("welcome sync after reconnect: %v", w.Sync)
			}
			h := bob2.call(&wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: conv, FromSeq: seq + 1, OldestFirst: true}}})
			if ms := h.GetHistory().Messages; len(ms) != 2 || string(ms[0].Body) != "two" || string(ms[1].Body) != "three" {
				t.Fatalf("history: %v", h)
			}
		})
	}
}

// TestOrigins: a page from an origin not allowed cannot connect over
// either transport; listed and (dev) loopback origins can.
func TestOrigins(t *testing.T) {
	n := newNode(t, transport.Config{}, web.Config{Origins: web.Origins{Allowed: []string{"https://desk.example.com"}, Localhost: true}})
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			if _, err := tr.dial(t, n, "https://evil.example.com"); err == nil {
				t.Fatal("a foreign origin connected")
			}
			for _, origin := range []string{"https://desk.example.com", "http://localhost:3000", "http://127.0.0.1:8080"} {
				p, err := tr.dial(t, n, origin)
				if err != nil {
					t.Fatalf("%s: %v", origin, err)
				}
				p.hello(token(t, "u", "d"))
			}
		})
	}
	resp, err := http.Get(n.http.URL + web.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", n.http.URL+web.ConfigPath, nil)
	req.Header.Set("Origin", "https://evil.example.com")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("config for a foreign origin: %v %v", resp.StatusCode, err)
	}
}

func TestOriginCheck(t *testing.T) {
	o := web.Origins{Allowed: []string{"https://a.example/"}}
	cases := []struct {
		origin, host string
		local, want  bool
	}{
		{"", "x", false, true},
		{"https://a.example", "node:1", false, true},
		{"https://b.example", "node:1", false, false},
		{"https://node:1", "node:1", false, true},
		{"http://localhost:5173", "node:1", false, false},
		{"http://localhost:5173", "node:1", true, true},
		{"http://[::1]:80", "node:1", true, true},
		{"http://127.0.0.2", "node:1", true, true},
		{"http://10.0.0.1", "node:1", true, false},
		{"null", "node:1", true, false},
		{"file:///x", "node:1", true, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "http://"+c.host+"/ws", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		o.Localhost = c.local
		if got := o.Check(r); got != c.want {
			t.Errorf("origin %q host %q localhost %v: %v, want %v", c.origin, c.host, c.local, got, c.want)
		}
	}
	if (web.Origins{Allowed: []string{"*"}}).Check(httptest.NewRequest("GET", "http://n/", nil)) != true {
		t.Error("* does not allow")
	}
}

// TestRefusals: what a QUIC connection is refused for, a browser stream
// is too, with the same codes, told in an Error frame before the close.
func TestRefusals(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			n := newNode(t, transport.Config{HelloTimeout: 300 * time.Millisecond, ConnRate: 1, ConnBurst: 2, MaxRejected: 3}, web.Config{})
			check := func(what string, p *peer, want wirepb.Code) {
				t.Helper()
				e, err := p.ended()
				// Refused before its stream was read (the address cap),
				// a connection is told by the close code only.
				if e != nil && e.GetCode() != want {
					t.Fatalf("%s: told %v, want %v", what, e, want)
				}
				if got := closeCode(err); got != want {
					t.Fatalf("%s: closed with %v (%v), want %v", what, got, err, want)
				}
			}
			p := mustDial(t, tr.dial, n)
			p.send(&wirepb.Hello{Token: "not-a-jwt"})
			check("bad token", p, wirepb.Code_UNAUTHENTICATED)

			// No hello: told TIMEOUT. (A WebTransport stream exists for the
			// server only once the client writes on it: this one says
			// nothing, so the session is closed with TIMEOUT instead.)
			p = mustDial(t, tr.dial, n)
			if tr.name == "webtransport" {
				_, _ = p.ended()
				p = mustDial(t, tr.dial, n)
				if _, err := p.w.Write([]byte{0x05}); err != nil { // a frame begun, never finished
					t.Fatal(err)
				}
			}
			check("no hello", p, wirepb.Code_TIMEOUT)

			p = mustDial(t, tr.dial, n)
			p.hello(token(t, "u", "d1"))
			if _, err := p.w.Write([]byte{0x03, 0xff, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
			// The framing holds: the bad frame is answered (id 0), the
			// connection stays.
			if r := p.until("answer to a bad frame", func(f *wirepb.ServerFrame) bool { return f.GetResponse() != nil }).GetResponse(); r.Error.GetCode() != wirepb.Code_BAD_FRAME {
				t.Fatalf("garbage frame: %v", r)
			}
			if r := p.call(&wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}}); r.Error != nil {
				t.Fatalf("ping after a bad frame: %v", r)
			}

			p = mustDial(t, tr.dial, n)
			p.hello(token(t, "u", "d2"))
			if _, err := p.w.Write([]byte{0x80, 0x80, 0x80, 0x08}); err != nil { // 16 MiB
				t.Fatal(err)
			}
			check("oversized frame", p, wirepb.Code_FRAME_TOO_LARGE)

			// An invalid request costs only itself.
			p = mustDial(t, tr.dial, n)
			p.hello(token(t, "u", "d3"))
			if r := p.call(&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", Body: []byte("x")}}}); r.Error.GetCode() != wirepb.Code_INVALID {
				t.Fatalf("send without client id: %v", r)
			}
			if r := p.call(&wirepb.Request{}); r.Error.GetCode() != wirepb.Code_UNKNOWN_TYPE {
				t.Fatalf("no operation: %v", r)
			}
			// Rate limit: burst 2 at 1/s; the rest are refused, and a flood
			// past MaxRejected closes the connection.
			codes := map[wirepb.Code]int{}
			for range 4 {
				codes[p.call(&wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}}).Error.GetCode()]++
			}
			if codes[wirepb.Code_RATE_LIMITED] < 2 {
				t.Fatalf("4 pings after a burst of 2: %v", codes)
			}
			for range 4 {
				p.send(&wirepb.Request{Id: 99, Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})
			}
			check("flood", p, wirepb.Code_RATE_LIMITED)

			// Per-address cap: 3 connections from 127.0.0.1 at most (a new
			// node: the closed connections above may not be gone yet).
			n = newNode(t, transport.Config{MaxConnsPerAddr: 3}, web.Config{})
			var open []*peer
			for i := range 3 {
				p := mustDial(t, tr.dial, n)
				p.hello(token(t, "cap", fmt.Sprint("d", i)))
				open = append(open, p)
			}
			p = mustDial(t, tr.dial, n)
			// (WebTransport: the write opens the stream. WebSocket: the
			// refusal may come first, so the write may fail.)
			_ = wirepb.WriteMsg(p.w, &wirepb.Hello{Token: token(t, "cap", "d4")}, wirepb.DefaultMaxFrame)
			check("fourth connection from one address", p, wirepb.Code_TOO_MANY)
			_ = open
		})
	}
}

// closeCode is the protocol code a transport's close carried.
func closeCode(err error) wirepb.Code {
	if st := websocket.CloseStatus(err); st >= 4000 {
		return wirepb.Code(st - 4000)
	}
	var se *webtransport.SessionError
	if errors.As(err, &se) && se.Remote {
		return wirepb.Code(se.ErrorCode)
	}
	return -1
}

// TestCloseCodes: the transports' own close carries the protocol code:
// WebSocket status 4000+code, WebTransport session code = code.
func TestCloseCodes(t *testing.T) {
	n := newNode(t, transport.Config{}, web.Config{})
	p := mustDial(t, dialWS, n)
	p.send(&wirepb.Hello{Token: "x"})
	_, err := p.ended()
	if got := websocket.CloseStatus(err); got != websocket.StatusCode(4000+int(wirepb.Code_UNAUTHENTICATED)) {
		t.Fatalf("websocket close status %d (%v)", got, err)
	}
	p = mustDial(t, dialWT, n)
	p.send(&wirepb.Hello{Token: "x"})
	_, err = p.ended()
	var se *webtransport.SessionError
	if !errors.As(err, &se) || !se.Remote || se.ErrorCode != webtransport.SessionErrorCode(wirepb.Code_UNAUTHENTICATED) {
		t.Fatalf("webtransport close: %v", err)
	}
}

// TestDrain: a draining server tells browser clients GoAway, and counts
// them among its connections.
func TestDrain(t *testing.T) {
	n := newNode(t, transport.Config{DrainGrace: 2 * time.Second}, web.Config{})
	ws := mustDial(t, dialWS, n)
	ws.hello(token(t, "a", "d1"))
	wt := mustDial(t, dialWT, n)
	wt.hello(token(t, "a", "d2"))
	if c := n.ts.Connections(); c != 2 {
		t.Fatalf("%d connections, want 2", c)
	}
	done := make(chan struct{})
	go func() { n.ts.Drain(context.Background(), "elsewhere:1"); close(done) }()
	for _, p := range []*peer{ws, wt} {
		g := p.until("go away", func(f *wirepb.ServerFrame) bool { return f.GetGoAway() != nil })
		if g.GetGoAway().ReconnectTo != "elsewhere:1" {
			t.Fatalf("go away %v", g)
		}
		p.close()
	}
	<-done
	// New connections are refused while draining.
	p := mustDial(t, dialWS, n)
	if e, _ := p.ended(); e != nil {
		t.Fatalf("refused with %v; want a plain close", e)
	}
}

// TestWebSocketMessageSplit: frames may be split across WebSocket
// messages and several may share one: the connection is a byte stream.
func TestWebSocketMessageSplit(t *testing.T) {
	n := newNode(t, transport.Config{}, web.Config{})
	c, _, err := websocket.Dial(tctx(t), n.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	hello, _ := wirepb.Marshal(&wirepb.Hello{Token: token(t, "s", "d")})
	ping, _ := wirepb.Marshal(&wirepb.Request{Id: 7, Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})
	all := append(append([]byte{}, hello...), ping...)
	for _, part := range [][]byte{all[:1], all[1:10], all[10:]} {
		if err := c.Write(tctx(t), websocket.MessageBinary, part); err != nil {
			t.Fatal(err)
		}
	}
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	r := wirepb.NewReader(nc)
	var got []string
	for len(got) < 2 {
		var f wirepb.ServerFrame
		if err := wirepb.ReadMsg(r, &f, wirepb.DefaultMaxFrame); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.GetWelcome() != nil:
			got = append(got, "welcome")
		case f.GetResponse().GetPing() != nil && f.GetResponse().Id == 7:
			got = append(got, "pong")
		}
	}
	if strings.Join(got, ",") != "welcome,pong" {
		t.Fatalf("got %v", got)
	}
}

// TestConfigAddress: the WebTransport URL names the bound port.
func TestConfigAddress(t *testing.T) {
	n := newNode(t, transport.Config{}, web.Config{})
	url, _ := webConfig(t, n)
	_, port, _ := net.SplitHostPort(n.web.WebTransportAddr().String())
	if !strings.HasSuffix(url, ":"+port+web.WebTransportPath) {
		t.Fatalf("url %s, bound %s", url, n.web.WebTransportAddr())
	}
}
