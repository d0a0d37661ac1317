package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

type visitorAnswer struct {
	User      string `json:"user"`
	Token     string `json:"token"`
	ExpiresMs int64  `json:"expires_ms"`
}

// A node open to anonymous visitors mints their tokens at /visitor: a
// fresh visitor id each, good for the configured life, which connects
// (the hello naming the device) and is refused what a visitor may not
// do. The pages learn it from /web.json. One source address gets
// PerMinute tokens, then 429 with Retry-After; another address is not
// held up by it; a page of a foreign origin gets none.
func TestVisitorTokens(t *testing.T) {
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, transport.Config{Auth: auth}, web.Config{Origins: web.Origins{Allowed: []string{"https://shop.example"}}})
	var cfg struct {
		Visitors bool `json:"visitors"`
	}
	getJSON(t, n.http.URL+web.ConfigPath, &cfg)
	if cfg.Visitors {
		t.Fatal("/web.json offers visitors before the node takes them")
	}
	if res := post(n.web.Handler(), "10.0.0.1:5000", ""); res.Code != http.StatusNotFound && res.Code != http.StatusMethodNotAllowed {
		t.Fatalf("/visitor before the node takes visitors: %d", res.Code)
	}
	counted := func() (minted, limited, forbidden float64) {
		return promtest.Value(t, "switchboard_web_visitor_tokens_total", "result", "minted"),
			promtest.Value(t, "switchboard_web_visitor_tokens_total", "result", "limited"),
			promtest.Value(t, "switchboard_web_visitor_tokens_total", "result", "forbidden")
	}
	const perMinute = 3
	if err := n.web.ServeVisitors(web.VisitorConfig{Auth: auth, TTL: 48 * time.Hour, PerMinute: perMinute}); err != nil {
		t.Fatal(err)
	}
	getJSON(t, n.http.URL+web.ConfigPath, &cfg)
	if !cfg.Visitors {
		t.Fatal("/web.json does not offer visitors")
	}

	minted0, limited0, forbidden0 := counted()
	seen := map[string]bool{}
	var first visitorAnswer
	for i := range perMinute {
		res := post(n.web.Handler(), "10.0.0.1:5000", "")
		if res.Code != http.StatusOK || res.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("token %d: %d %s", i+1, res.Code, res.Body)
		}
		var v visitorAnswer
		if err := json.Unmarshal(res.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		life := time.Until(time.UnixMilli(v.ExpiresMs))
		if !strings.HasPrefix(v.User, "visitor-") || len(v.User) != len("visitor-")+20 || seen[v.User] || life < 47*time.Hour || life > 48*time.Hour {
			t.Fatalf("token %d: %+v (life %v)", i+1, v, life)
		}
		seen[v.User] = true
		if i == 0 {
			first = v
		}
	}
	res := post(n.web.Handler(), "10.0.0.1:5001", "")
	if res.Code != http.StatusTooManyRequests {
		t.Fatalf("token %d from one address in a minute: %d", perMinute+1, res.Code)
	}
	if s, err := strconv.Atoi(res.Header().Get("Retry-After")); err != nil || s < 1 || s > 60/perMinute {
		t.Fatalf("Retry-After %q", res.Header().Get("Retry-After"))
	}
	if res := post(n.web.Handler(), "10.0.0.2:5000", ""); res.Code != http.StatusOK {
		t.Fatalf("another address: %d", res.Code)
	}
	if res := post(n.web.Handler(), "10.0.0.3:5000", "https://elsewhere.example"); res.Code != http.StatusForbidden || res.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign page: %d %v", res.Code, res.Header())
	}
	// A page of an allowed origin (the business's own app, with the SDK)
	// may read the answer; its browser asks first for a claim's JSON.
	if res := post(n.web.Handler(), "10.0.0.4:5000", "https://shop.example"); res.Code != http.StatusOK || res.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("an allowed origin's page: %d %v", res.Code, res.Header())
	}
	pre := httptest.NewRequest(http.MethodOptions, web.VisitorPath, nil)
	pre.Header.Set("Origin", "https://shop.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	res = httptest.NewRecorder()
	n.web.Handler().ServeHTTP(res, pre)
	if res.Code != http.StatusNoContent || res.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" || res.Header().Get("Access-Control-Allow-Headers") != "Content-Type" {
		t.Fatalf("preflight: %d %v", res.Code, res.Header())
	}

	if minted, limited, forbidden := counted(); minted-minted0 != perMinute+2 || limited-limited0 != 1 || forbidden-forbidden0 != 1 {
		t.Errorf("switchboard_web_visitor_tokens_total moved by minted %v, limited %v, forbidden %v; want %d, 1, 1", minted-minted0, limited-limited0, forbidden-forbidden0, perMinute+2)
	}

	// The token connects, as the visitor, on the device the hello names;
	// the visitor may not write to a user.
	p := mustDial(t, dialWS, n)
	p.send(&wirepb.Hello{Token: first.Token, Client: "test", Device: "widget"})
	w := p.next().GetWelcome()
	if w == nil || w.User != first.User || w.Device != "widget" {
		t.Fatalf("welcome %+v", w)
	}
	r := p.call(&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: "m1", Body: []byte("hi")}}})
	if r.Error.GetCode() != wirepb.Code_FORBIDDEN {
		t.Fatalf("a visitor writes to a user: %v", r)
	}
}

func post(h http.Handler, remote, origin string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, web.VisitorPath, nil)
	req.RemoteAddr = remote
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res := httptest.NewRecorder()
	h.ServeHTTP(res, req)
	return res
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// A visitor who signed in claims their chats for the account: both tokens
// must be good, the first a visitor's, the second not.
func TestVisitorClaim(t *testing.T) {
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, transport.Config{Auth: auth}, web.Config{})
	var claimed []string
	if err := n.web.ServeVisitors(web.VisitorConfig{Auth: auth, Claim: func(_ context.Context, visitor, account string) error {
		claimed = append(claimed, visitor+">"+account)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	v, err := auth.MintVisitor(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := auth.MintVisitor(time.Hour)
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "visitor-k3q9zt4m2x8cexpired", "vis": true, "exp": time.Now().Add(-time.Hour).Unix()}).SignedString(testSecret)
	forged, _ := transport.MintHS256([]byte("another-secret-another-secret-xx"), v.User, "", time.Hour, "")
	account := token(t, "carla", "")
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"not JSON", "{", http.StatusBadRequest},
		{"no tokens", "{}", http.StatusUnauthorized},
		{"an account's token as the visitor's", claimBody(account, account), http.StatusUnauthorized},
		{"a forged visitor token", claimBody(forged, account), http.StatusUnauthorized},
		{"an expired visitor token", claimBody(expired, account), http.StatusUnauthorized},
		{"another visitor as the account", claimBody(v.Token, other.Token), http.StatusUnauthorized},
		{"the visitor into the account", claimBody(v.Token, account), http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodPost, web.ClaimPath, strings.NewReader(tc.body))
		req.RemoteAddr = "10.1.0.1:5000"
		res := httptest.NewRecorder()
		n.web.Handler().ServeHTTP(res, req)
		if res.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, res.Code, res.Body, tc.want)
		}
	}
	if want := []string{v.User + ">carla"}; !slices.Equal(claimed, want) {
		t.Fatalf("claimed %v, want %v", claimed, want)
	}
}

func claimBody(visitorToken, token string) string {
	b, _ := json.Marshal(map[string]string{"visitor_token": visitorToken, "token": token})
	return string(b)
}
