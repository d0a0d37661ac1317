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

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/storage"
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

// nodeLogger is a test node's logger: with SWITCHBOARD_TEST_LOG,
// testLogger's; otherwise it keeps what the node says at info and above
// and prints it if t failed, so a failure that shows up only under load
// (as in CI) comes with the node's side of the story.
func nodeLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return testLogger()
	}
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the node's log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, nil))
}

// lockedBuffer is a log written on many goroutines; writes after the
// test ended are kept and never read.
type lockedBuffer = testenv.Buffer

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// node is a real node (Pebble on disk, actors) with its QUIC server and
// the browser transports: WebSocket on an HTTP test server, WebTransport
// on loopback UDP with a hashed dev certificate.
type node struct {
	t    *testing.T
	ts   *transport.Server
	web  *web.Server
	http *httptest.Server
	boot *boot.Node
}

func newNode(t *testing.T, tc transport.Config, wc web.Config) *node {
	t.Helper()
	return newActorNode(t, actors.Config{}, tc, wc)
}

// newActorNode is newNode with the grains configured by ac.
func newActorNode(t *testing.T, ac actors.Config, tc transport.Config, wc web.Config) *node {
	t.Helper()
	logger := nodeLogger(t)
	limits := storage.DefaultLimits()
	if ac.MaxBodyBytes > 0 {
		limits.MaxBodyBytes = ac.MaxBodyBytes // the store takes what the grains take
	}
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Limits: limits, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: logger, ClusterName: "web-test", Actors: ac})
	if err != nil {
		t.Fatal(err)
	}
	waitRemoteServing(t, n.Address())
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
	tc.Addr, tc.TLS, tc.Logger = "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}}, logger
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
	wc.Logger = logger
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
	return &node{t: t, ts: ts, web: ws, http: hs, boot: n}
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
			var se *webtransport.SessionError
			if p.wtSess != nil && !errors.As(err, &se) {
				// The stream ended (cleanly, or reset or rejected while
				// the session closed): the session's close follows and
				// carries the code.
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

// waitRemoteServing returns once the node's actor remoting (a gRPC server)
// answers an HTTP/2 connection preface with its SETTINGS: its Serve
// goroutine is past its first log line then. protoactor-go sets grpc's
// global logger in every remote's Start, so the next node started in this
// process would otherwise race (under -race) with that log line.
func waitRemoteServing(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("actor remoting at %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	preface := append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0) // + an empty SETTINGS frame
	if _, err := c.Write(preface); err != nil {
		t.Fatalf("actor remoting at %s: %v", addr, err)
	}
	if _, err := io.ReadFull(c, make([]byte, 9)); err != nil { // the server's first frame header
		t.Fatalf("actor remoting at %s did not answer: %v", addr, err)
	}
}
