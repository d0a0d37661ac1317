package transport_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret, PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{transport: transport.Config{Auth: auth}})
	mint := func(f func() (string, error)) string {
		s, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forged := mint(func() (string, error) {
		return transport.MintHS256([]byte("another-secret-another-secret-xx"), "alice", "phone", time.Hour, "")
	})
	expired := mint(func() (string, error) { return transport.MintHS256(testSecret, "alice", "phone", -time.Hour, "") })
	wrongKey := mint(func() (string, error) { return transport.MintEdDSA(otherPriv, "alice", "phone", time.Hour, "") })
	noExp := mint(func() (string, error) {
		return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "dev": "phone"}).SignedString(testSecret)
	})
	noDevice := mint(func() (string, error) { return transport.MintHS256(testSecret, "alice", "", time.Hour, "") })
	badUser := mint(func() (string, error) { return transport.MintHS256(testSecret, "al ice/../", "phone", time.Hour, "") })
	// The visitor namespace is the node's: an app's token may not name
	// one of its ids without the visitor mark, nor mark another user.
	visitorID := mint(func() (string, error) {
		return transport.MintHS256(testSecret, "visitor-k3q9zt4m2x8c", "phone", time.Hour, "")
	})
	markedUser := mint(func() (string, error) {
		return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "dev": "phone", "vis": true, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(testSecret)
	})
	parts := strings.Split(e.token("alice", "phone"), ".")
	algNone := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."

	for _, tc := range []struct {
		name  string
		token string
		want  wirepb.Code
	}{
		{"missing", "", wirepb.Code_UNAUTHENTICATED},
		{"garbage", "not.a.jwt", wirepb.Code_UNAUTHENTICATED},
		{"forged", forged, wirepb.Code_UNAUTHENTICATED},
		{"expired", expired, wirepb.Code_TOKEN_EXPIRED},
		{"wrong key", wrongKey, wirepb.Code_UNAUTHENTICATED},
		{"alg none", algNone, wirepb.Code_UNAUTHENTICATED},
		{"no exp", noExp, wirepb.Code_UNAUTHENTICATED},
		{"no device", noDevice, wirepb.Code_UNAUTHENTICATED},
		{"bad user", badUser, wirepb.Code_UNAUTHENTICATED},
		{"a visitor's id, unmarked", visitorID, wirepb.Code_UNAUTHENTICATED},
		{"a user marked a visitor", markedUser, wirepb.Code_UNAUTHENTICATED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config("x", "y")
			tok := tc.token
			cfg.Token, cfg.TokenSource = "", func(_ context.Context) (string, error) { return tok, nil }
			_, err := client.Dial(tctx(t), cfg)
			if codeOf(err) != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Both accepted kinds work.
	ed := mint(func() (string, error) { return transport.MintEdDSA(priv, "alice", "tablet", time.Hour, "") })
	c := e.dial("alice", "tablet", func(c *client.Config) { c.Token = ed })
	if c.User() != "alice" || c.Device() != "tablet" {
		t.Fatalf("identity %s/%s", c.User(), c.Device())
	}
	// So does a visitor's token the node minted, the client naming its
	// device; a node without an HS256 secret mints none.
	v, err := auth.MintVisitor(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	vc := e.dial("x", "y", func(c *client.Config) { c.Token, c.Device = v.Token, "widget" })
	if vc.User() != v.User || vc.Device() != "widget" {
		t.Fatalf("visitor identity %s/%s, minted %s", vc.User(), vc.Device(), v.User)
	}
	edOnly, err := transport.NewAuthenticator(transport.AuthConfig{PublicKeys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := edOnly.MintVisitor(time.Hour); err == nil {
		t.Fatal("a node without an HS256 secret minted a visitor token")
	}
}

// No user reads or writes a conversation it is not in, and nothing in a
// request can make a device act as another user.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	eve := e.dial("eve", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "private")
	if err != nil {
		t.Fatal(err)
	}
	group, err := alice.CreateGroup(ctx, "", "", []string{"bob"})
	if err != nil || !strings.HasPrefix(group, "g:") {
		t.Fatalf("group %q %v", group, err)
	}
	for name, req := range map[string]*wirepb.Request{
		"send":      {Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: conv, ClientMsgId: "e1", Body: []byte("x")}}},
		"history":   {Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: conv}}},
		"search":    {Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Conv: conv, Query: "x"}}},
		"mark read": {Op: &wirepb.Request_MarkRead{MarkRead: &wirepb.MarkReadRequest{Conv: conv, Seq: 1}}},
		"recall":    {Op: &wirepb.Request_Recall{Recall: &wirepb.RecallRequest{Conv: conv, Seq: sent.Seq}}},
		"members":   {Op: &wirepb.Request_Members{Members: &wirepb.MembersRequest{Conv: group}}},
		"add self":  {Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: group, Users: []string{"eve"}}}},
		"group":     {Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: group, ClientMsgId: "e2", Body: []byte("x")}}},
	} {
		_, err := eve.Raw(ctx, req)
		if c := codeOf(err); c != wirepb.Code_NOT_MEMBER && c != wirepb.Code_FORBIDDEN {
			t.Errorf("eve %s: %v", name, err)
		}
	}
	if _, _, err := eve.Presence(ctx, "alice"); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Errorf("presence of a stranger: %v", err)
	}
	// Eve's sync shows nothing of alice's.
	s, err := eve.SyncFrom(ctx, 0, 0)
	if err != nil || len(s.Conversations) != 0 {
		t.Fatalf("eve's sync: %v %v", s, err)
	}
	// Bob's token reads bob's data only: a send names no sender, so it is bob's.
	bob := e.dial("bob", "phone")
	m, err := bob.SendText(ctx, client.ToConv(conv), "from bob")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := alice.History(ctx, conv, client.HistoryOptions{FromSeq: m.Seq, ToSeq: m.Seq})
	if err != nil || len(hist) != 1 || hist[0].Sender != "bob" {
		t.Fatalf("bob's message as seen by alice: %+v %v", hist, err)
	}
	if found, next, err := alice.Search(ctx, conv, "FROM BOB", 0, 0); err != nil || len(found) != 1 || found[0].Seq != m.Seq || next != 0 {
		t.Fatalf("alice searches for bob's words: %v next %d %v", found, next, err)
	}
	if _, _, err := alice.Search(ctx, conv, "", 0, 0); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("an empty search: %v", err)
	}
	// Searching everywhere finds it for alice, in its conversation, and
	// nothing for eve, who is not in it.
	if found, next, err := alice.SearchEverywhere(ctx, "from bob", client.SearchCursor{}, 0); err != nil || len(found) != 1 || found[0].Conv != conv || found[0].Seq != m.Seq || next != (client.SearchCursor{}) {
		t.Fatalf("alice searches everywhere: %v next %v %v", found, next, err)
	}
	if found, _, err := eve.SearchEverywhere(ctx, "from bob", client.SearchCursor{}, 0); err != nil || len(found) != 0 {
		t.Fatalf("eve searches everywhere: %v %v", found, err)
	}
	if _, _, err := eve.SearchEverywhere(ctx, "x", client.SearchCursor{Conv: "bad\x00id"}, 0); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a malformed cursor: %v", err)
	}
	if online, n, err := alice.Presence(ctx, "bob"); err != nil || !online || n != 1 {
		t.Fatalf("presence of a contact: %v %d %v", online, n, err)
	}
	// Bob leaves: alice sees when, through their conversation.
	left := time.Now().Truncate(time.Millisecond)
	bob.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := alice.PresenceIn(ctx, "bob", conv)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Online {
			if p.LastSeen.Before(left) || p.LastSeen.After(time.Now()) {
				t.Fatalf("bob last seen %v, left at %v", p.LastSeen, left)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob still online after closing")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPreviousSecrets: during a rotation of the HS256 secret, tokens
// minted with the new secret and with the previous one are both good, any
// other is not; a previous secret needs a secret, and its length.
func TestPreviousSecrets(t *testing.T) {
	t.Parallel()
	newSecret, oldSecret := bytes.Repeat([]byte("n"), 32), bytes.Repeat([]byte("o"), 32)
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: newSecret, PreviousSecrets: [][]byte{oldSecret}})
	if err != nil {
		t.Fatal(err)
	}
	for secret, want := range map[string]wirepb.Code{string(newSecret): wirepb.Code_OK, string(oldSecret): wirepb.Code_OK,
		strings.Repeat("x", 32): wirepb.Code_UNAUTHENTICATED} {
		tok, err := transport.MintHS256([]byte(secret), "alice", "phone", time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auth.Verify(tok, ""); codeOf(err) != want {
			t.Errorf("a token of secret %.1s…: %v, want %v", secret, err, want)
		}
	}
	for _, bad := range []transport.AuthConfig{
		{PreviousSecrets: [][]byte{oldSecret}, PublicKeys: nil},
		{Secret: newSecret, PreviousSecrets: [][]byte{[]byte("short")}},
	} {
		if _, err := transport.NewAuthenticator(bad); err == nil {
			t.Errorf("%d previous secrets, secret %d bytes: accepted", len(bad.PreviousSecrets), len(bad.Secret))
		}
	}
}
