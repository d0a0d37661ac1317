package web_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// sdkOverWS dials the Go SDK over the node's WebSocket.
func sdkOverWS(t *testing.T, n *node, user, device string, events chan<- client.Event) *client.Client {
	t.Helper()
	c, err := client.Dial(tctx(t), client.Config{
		WebSocketURL: n.wsURL(), TLS: &tls.Config{}, Token: token(t, user, device),
		Logger: testLogger(), OnEvent: func(e client.Event) {
			select {
			case events <- e:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitEvent waits for an event ok accepts.
func waitEvent(t *testing.T, what string, events <-chan client.Event, ok func(client.Event) bool) client.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if ok(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within 10 s", what)
		}
	}
}

// TestGoSDKOverWebSocket: the Go SDK speaks the protocol over WebSocket
// (for networks that block UDP) as it does over QUIC: a send is acked and
// pushed, the recipient's ack comes back as DELIVERED and its typing as a
// signal (both in band), and the server's close code is the error a
// refused connect returns.
func TestGoSDKOverWebSocket(t *testing.T) {
	n := newNode(t, transport.Config{}, web.Config{})
	aliceEvents, bobEvents := make(chan client.Event, 256), make(chan client.Event, 256)
	alice := sdkOverWS(t, n, "alice", "laptop", aliceEvents)
	bob := sdkOverWS(t, n, "bob", "laptop", bobEvents)
	if p := alice.Protocol(); p != wirepb.ALPN {
		t.Fatalf("protocol %q over WebSocket, want %q", p, wirepb.ALPN)
	}
	if _, ok := alice.ConnStats(); ok {
		t.Fatal("QUIC statistics reported for a WebSocket")
	}

	m, err := alice.SendText(tctx(t), client.ToUser("bob"), "over tcp")
	if err != nil || m.Seq == 0 {
		t.Fatalf("send: %v, %v", m, err)
	}
	got := waitEvent(t, "bob's message", bobEvents, func(e client.Event) bool { return e.Kind == client.EventMessage && e.Seq == m.Seq })
	if got.Message == nil || string(got.Message.Body) != "over tcp" || got.Message.Sender != "alice" {
		t.Fatalf("bob got %+v", got.Message)
	}
	// Bob's SDK acks the push; the DELIVERED signal reaches alice in band.
	waitEvent(t, "DELIVERED at alice", aliceEvents, func(e client.Event) bool {
		return e.Kind == client.EventMessageState && e.Seq == m.Seq && e.Message != nil && e.Message.State >= client.StateDelivered
	})
	if err := bob.Typing(m.Conv, true); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, "bob typing at alice", aliceEvents, func(e client.Event) bool {
		return e.Kind == client.EventTyping && e.User == "bob" && e.Typing
	})

	// Over TLS (wss://), trusting the web server's certificate.
	tlsSrv := httptest.NewTLSServer(n.web.Handler())
	t.Cleanup(tlsSrv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	carol, err := client.Dial(tctx(t), client.Config{
		WebSocketURL: "wss" + strings.TrimPrefix(tlsSrv.URL, "https") + web.WebSocketPath,
		TLS:          &tls.Config{RootCAs: roots}, Token: token(t, "carol", "laptop"), Logger: testLogger(),
	})
	if err != nil {
		t.Fatalf("connect over wss: %v", err)
	}
	defer carol.Close()
	if _, err := carol.SendText(tctx(t), client.ToUser("bob"), "over tls"); err != nil {
		t.Fatalf("send over wss: %v", err)
	}
	waitEvent(t, "carol's message", bobEvents, func(e client.Event) bool {
		return e.Kind == client.EventMessage && e.Message != nil && string(e.Message.Body) == "over tls"
	})

	// A connect the server refuses fails with the server's code.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.Dial(ctx, client.Config{WebSocketURL: n.wsURL(), TLS: &tls.Config{}, Token: "not-a-token", Logger: testLogger()})
	if code := wirepb.CodeOf(err); code != wirepb.Code_UNAUTHENTICATED {
		t.Fatalf("connect with a bad token: %v (code %v), want UNAUTHENTICATED", err, code)
	}
}

// TestWebSocketFollowsMaxFrame: the WebSocket's message limit follows the
// transport's frame. With a frame four times the default, a body at the
// matching limit goes out in one WebSocket message and comes back in
// another, to SDKs left at their default frame.
func TestWebSocketFollowsMaxFrame(t *testing.T) {
	const max = 4 * wirepb.DefaultMaxFrame
	const body = max - transport.FrameEnvelope
	n := newActorNode(t, actors.Config{MaxBodyBytes: body}, transport.Config{MaxFrame: max}, web.Config{})
	aliceEvents, bobEvents := make(chan client.Event, 256), make(chan client.Event, 256)
	alice := sdkOverWS(t, n, "alice", "laptop", aliceEvents)
	sdkOverWS(t, n, "bob", "laptop", bobEvents)
	p, err := alice.Send(client.ToUser("bob"), bytes.Repeat([]byte{'x'}, body), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Wait(tctx(t))
	if err != nil {
		t.Fatalf("a %d-byte body over WebSocket under a %d-byte frame: %v", body, max, err)
	}
	got := waitEvent(t, "bob's large message", bobEvents, func(e client.Event) bool { return e.Kind == client.EventMessage && e.Seq == m.Seq })
	if got.Message == nil || len(got.Message.Body) != body {
		t.Fatalf("bob got %+v", got.Message)
	}
}
