package web_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/quic-go/webtransport-go"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

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
			p, err := tr.dial(t, n, "")
			if err != nil {
				// The refusal can close a WebTransport session before its
				// dial returned: then the dial's error is the refusal.
				if closeCode(err) != wirepb.Code_TOO_MANY && !strings.Contains(err.Error(), "connections from 127.0.0.1, limit 3") {
					t.Fatalf("fourth connection from one address: dial failed with %v, want the TOO_MANY refusal", err)
				}
				return
			}
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
