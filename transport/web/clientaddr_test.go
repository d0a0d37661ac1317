package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Behind a trusted proxy the client is the last untrusted hop of
// X-Forwarded-For: the per-address caps count clients, not the proxy. A
// peer that is no trusted proxy is its own address, whatever it writes in
// the header.
func TestTrustedProxies(t *testing.T) {
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16"), netip.MustParsePrefix("127.0.0.0/8")}
	n := newNode(t, transport.Config{Auth: auth, MaxConnsPerAddr: 1}, web.Config{TrustedProxies: proxies})
	if err := n.web.ServeVisitors(web.VisitorConfig{Auth: auth, PerMinute: 1}); err != nil {
		t.Fatal(err)
	}
	mint := func(peer string, forwarded ...string) int {
		req := httptest.NewRequest(http.MethodPost, web.VisitorPath, nil)
		req.RemoteAddr = peer
		for _, f := range forwarded {
			req.Header.Add("X-Forwarded-For", f)
		}
		res := httptest.NewRecorder()
		n.web.Handler().ServeHTTP(res, req)
		return res.Code
	}
	for _, tc := range []struct {
		name      string
		peer      string
		forwarded []string
		want      int
	}{
		{"a client through the proxy", "10.9.0.1:443", []string{"203.0.113.5"}, http.StatusOK},
		{"the same client again", "10.9.0.2:443", []string{"203.0.113.5"}, http.StatusTooManyRequests},
		{"another client through the proxy", "10.9.0.1:443", []string{"203.0.113.6"}, http.StatusOK},
		{"a client through two proxies", "10.9.0.1:443", []string{"203.0.113.7, 10.9.0.3"}, http.StatusOK},
		{"a client naming another before it (not believed)", "10.9.0.1:443", []string{"198.51.100.1, 203.0.113.7"}, http.StatusTooManyRequests},
		{"the header over two lines", "10.9.0.1:443", []string{"198.51.100.2", "203.0.113.7"}, http.StatusTooManyRequests},
		{"a peer that is no proxy", "198.51.100.9:5000", []string{"203.0.113.8"}, http.StatusOK},
		{"it again, naming someone else", "198.51.100.9:5000", []string{"203.0.113.9"}, http.StatusTooManyRequests},
		{"a proxy forwarding garbage", "10.9.0.1:443", []string{"not-an-address"}, http.StatusOK}, // counted as the proxy
		{"the proxy itself again", "10.9.0.1:443", nil, http.StatusTooManyRequests},
	} {
		if got := mint(tc.peer, tc.forwarded...); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}

	// WebSocket connections from the loopback proxy: one per client.
	dial := func(client string) (*peer, error) {
		h := http.Header{"X-Forwarded-For": {client}}
		c, _, err := websocket.Dial(tctx(t), n.wsURL(), &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			return nil, err
		}
		nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
		return newPeer(t, nc, func() { _ = nc.Close() }), nil
	}
	for i, client := range []string{"203.0.113.5", "203.0.113.6"} {
		p, err := dial(client)
		if err != nil {
			t.Fatalf("client %s: %v", client, err)
		}
		if w := p.hello(token(t, "proxied", client)); w.User != "proxied" {
			t.Fatalf("client %d: %+v", i, w)
		}
	}
	p, err := dial("203.0.113.5")
	if err != nil {
		return // refused while dialing: the cap
	}
	_ = wirepb.WriteMsg(p.w, &wirepb.Hello{Token: token(t, "proxied", "again")}, wirepb.DefaultMaxFrame)
	if _, err := p.ended(); closeCode(err) != wirepb.Code_TOO_MANY {
		t.Fatalf("a second connection of one client through the proxy: %v, want TOO_MANY", err)
	}
}
