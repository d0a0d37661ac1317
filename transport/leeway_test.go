package transport_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// tokenWithExp signs an HS256 token whose exp is exactly exp (whole
// seconds, as JWT numeric dates are).
func tokenWithExp(t *testing.T, exp time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "dev": "phone", "exp": exp.Unix()}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLeewayEdge: a token is accepted up to exp + leeway and refused with
// TOKEN_EXPIRED past it; the identity expires at exp + leeway, which is when
// the connection ends. JWT times are whole seconds: the edges are taken 2 s
// inside and outside.
func TestLeewayEdge(t *testing.T) {
	t.Parallel()
	for _, leeway := range []time.Duration{transport.DefaultLeeway, 5 * time.Second, transport.NoLeeway} {
		a, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret, Leeway: leeway})
		if err != nil {
			t.Fatal(err)
		}
		l := a.Leeway()
		if leeway == transport.NoLeeway && l != 0 {
			t.Fatalf("NoLeeway gave %v", l)
		}
		now := time.Now().Truncate(time.Second)
		inside := now.Add(-l + 2*time.Second)
		id, err := a.Verify(tokenWithExp(t, inside), "")
		if err != nil {
			t.Fatalf("leeway %v: token %v past exp refused: %v", l, now.Sub(inside), err)
		}
		if !id.Expires.Equal(inside.Add(l)) {
			t.Fatalf("leeway %v: identity expires %v, want exp+leeway %v", l, id.Expires, inside.Add(l))
		}
		outside := now.Add(-l - 2*time.Second)
		if _, err := a.Verify(tokenWithExp(t, outside), ""); wirepb.CodeOf(err) != wirepb.Code_TOKEN_EXPIRED {
			t.Fatalf("leeway %v: token %v past exp: %v, want TOKEN_EXPIRED", l, now.Sub(outside), err)
		}
	}
	if _, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret, Leeway: transport.MaxLeeway + time.Second}); err == nil {
		t.Fatal("leeway above the maximum accepted")
	}
}

// TestLeewayKeepsConnection: a token already past exp but inside the
// leeway connects and the connection keeps serving requests (it is not
// welcomed and closed at once); it is closed once exp + leeway passes.
func TestLeewayKeepsConnection(t *testing.T) {
	t.Parallel()
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret, Leeway: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{transport: transport.Config{Auth: auth}})
	exp := time.Now().Truncate(time.Second).Add(-time.Second) // past exp, ≥ 3 s of leeway left
	tok := tokenWithExp(t, exp)
	c := e.dial("alice", "phone", func(c *client.Config) {
		c.Token, c.TokenSource = "", func(context.Context) (string, error) { return tok, nil }
	})
	time.Sleep(500 * time.Millisecond)
	if _, err := c.Ping(tctx(t)); err != nil {
		t.Fatalf("ping inside the leeway: %v", err)
	}
	// Past exp + leeway the server closes the connection and refuses the
	// token on every reconnection: requests fail.
	time.Sleep(time.Until(exp.Add(4*time.Second + 500*time.Millisecond)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err == nil {
		t.Fatal("ping served after exp + leeway")
	}
}
