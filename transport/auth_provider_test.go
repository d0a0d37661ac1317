package transport_test

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// idProvider stands in for an identity provider: a real HTTP server
// publishing its key set (JWKS), and the keys that sign its ID tokens.
type idProvider struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys []map[string]string // the published JWKs
	down bool                // answering 503
	// docIssuer is the issuer its OpenID configuration names (empty: its
	// own URL, as a real issuer's does).
	docIssuer string
}

const (
	testIssuer   = "https://securetoken.google.com/sb-test"
	testAudience = "sb-test"
)

func newIDProvider(t *testing.T) *idProvider {
	p := &idProvider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/.well-known/openid-configuration" {
			self := "http://" + r.Host // p.srv's URL, which the handler may not read
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": cmp.Or(p.docIssuer, self), "jwks_uri": self + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": p.keys})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// publishRSA adds an RSA key under kid to the key set.
func (p *idProvider) publishRSA(kid string, k *rsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64u(k.N.Bytes()), "e": b64u(big.NewInt(int64(k.E)).Bytes())})
}

// publishEC adds a P-256 key under kid.
func (p *idProvider) publishEC(kid string, k *ecdsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		panic(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	p.keys = append(p.keys, map[string]string{"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64u(raw[1:33]), "y": b64u(raw[33:])})
}

func (p *idProvider) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// idToken signs claims as the provider would: its issuer, audience and
// an hour's life unless claims say otherwise.
func idToken(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func providerAuth(t *testing.T, p *idProvider, secret []byte, userClaim string) *transport.Authenticator {
	t.Helper()
	a, err := transport.NewAuthenticator(transport.AuthConfig{Secret: secret, Provider: &transport.ProviderConfig{
		JWKSURL: p.srv.URL, Issuer: testIssuer, Audience: testAudience, UserClaim: userClaim}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// An identity provider's ID tokens, checked against its published keys,
// issuer and audience, the device named by the client; everything else
// about them refused with the code a client acts on.
func TestProviderTokens(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rotated, _ := rsa.GenerateKey(rand.Reader, 2048)
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	p := newIDProvider(t)
	p.publishRSA("r1", rsaKey)
	p.publishEC("e1", ecKey)
	a := providerAuth(t, p, testSecret, "")
	refused := map[string]string{"verifier": "provider", "result": "refused"}
	refusedBefore := counted(t, "switchboard_transport_auth_total", refused)

	good := idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "u_42", "name": "Ana"})
	id, err := a.Verify(good, "pixel")
	if err != nil || id.User != "u_42" || id.Device != "pixel" || id.Name == nil || *id.Name != "Ana" || time.Until(id.Expires) < 59*time.Minute {
		t.Fatalf("an RS256 ID token: %+v %v", id, err)
	}
	if id, err := a.Verify(idToken(t, jwt.SigningMethodES256, "e1", ecKey, jwt.MapClaims{"sub": "u_43"}), "web"); err != nil || id.User != "u_43" {
		t.Fatalf("an ES256 ID token: %+v %v", id, err)
	}
	if id, err := a.Verify(idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "u_42", "dev": "pixel"}), "ipad"); err != nil || id.Device != "pixel" {
		t.Fatalf("a token naming its device, which wins over the hello's: %+v %v", id, err)
	}
	if id, err := a.Verify(good, strings.Repeat("d", 64)); err != nil || len(id.Device) != 64 {
		t.Fatalf("a device id of 64 bytes, the most: %+v %v", id, err)
	}
	// The app's own tokens still work beside the provider's.
	own, _ := transport.MintHS256(testSecret, "alice", "", time.Hour, "")
	if id, err := a.Verify(own, "laptop"); err != nil || id.User != "alice" || id.Device != "laptop" {
		t.Fatalf("an own token naming no device, the hello naming it: %+v %v", id, err)
	}

	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	for _, tc := range []struct {
		name, token, device string
		want                wirepb.Code
	}{
		{"no device", good, "", wirepb.Code_UNAUTHENTICATED},
		{"a malformed device", good, "a b", wirepb.Code_UNAUTHENTICATED},
		{"a device id of 65 bytes", good, strings.Repeat("d", 65), wirepb.Code_UNAUTHENTICATED},
		{"another app's (audience)", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "u_42", "aud": "other-app"}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"another issuer", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "u_42", "iss": "https://evil.example"}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"expired", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "u_42", "exp": time.Now().Add(-time.Hour).Unix()}), "pixel", wirepb.Code_TOKEN_EXPIRED},
		{"no exp", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "u_42", "exp": nil}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"a key the provider never published", idToken(t, jwt.SigningMethodRS256, "r1", stranger, jwt.MapClaims{"sub": "u_42"}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"the provider's public key as an HMAC secret", idToken(t, jwt.SigningMethodHS256, "r1", pemKey, jwt.MapClaims{"sub": "u_42"}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"a user id this node does not take", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "auth0|42"}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"no sub", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"an anonymous visitor's id", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "visitor-k3q9zt4m2x8c"}), "pixel", wirepb.Code_UNAUTHENTICATED},
		{"an anonymous visitor's id, marked one", idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "visitor-k3q9zt4m2x8c", "vis": true}), "pixel", wirepb.Code_UNAUTHENTICATED},
	} {
		if _, err := a.Verify(tc.token, tc.device); wirepb.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// Nine of those the provider's verifier refused; the expired one is
	// counted as expired, the HMAC one by our own verifier.
	if n := counted(t, "switchboard_transport_auth_total", refused) - refusedBefore; n < 9 {
		t.Errorf("switchboard_transport_auth_total{verifier=provider,result=refused} grew by %v for 9 refusals", n)
	}

	// The provider rotates: a token of its new key fetches the set again.
	p.publishRSA("r2", rotated)
	if id, err := a.Verify(idToken(t, jwt.SigningMethodRS256, "r2", rotated, jwt.MapClaims{"sub": "u_44"}), "pixel"); err != nil || id.User != "u_44" {
		t.Fatalf("a token of the rotated key: %+v %v", id, err)
	}

	// The user id from another claim (Auth0's sub has a "|").
	custom := providerAuth(t, p, nil, "uid")
	if id, err := custom.Verify(idToken(t, jwt.SigningMethodRS256, "r1", rsaKey, jwt.MapClaims{"sub": "auth0|42", "uid": "u_42"}), "pixel"); err != nil || id.User != "u_42" {
		t.Fatalf("the user from the uid claim: %+v %v", id, err)
	}
	// Without a secret of its own, a node takes no HMAC token at all.
	if _, err := custom.Verify(own, "laptop"); wirepb.CodeOf(err) != wirepb.Code_UNAUTHENTICATED {
		t.Fatalf("an HS256 token where only the provider's keys verify: %v", err)
	}
}

// A node starts while its provider's key set cannot be fetched; its
// tokens fail until it can, then work without a restart (the first token
// after the provider is back fetches the set: at most one fetch per 30 s
// for unknown keys, so each node here asks once).
func TestProviderKeySetDownAtStart(t *testing.T) {
	t.Parallel()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	p := newIDProvider(t)
	p.setDown(true)
	failuresBefore := counted(t, "switchboard_transport_provider_keyset_failures_total", nil)
	early, late := providerAuth(t, p, nil, ""), providerAuth(t, p, nil, "")
	if n := counted(t, "switchboard_transport_provider_keyset_failures_total", nil) - failuresBefore; n < 2 {
		t.Errorf("two nodes started without the key set: switchboard_transport_provider_keyset_failures_total grew by %v", n)
	}
	tok := idToken(t, jwt.SigningMethodRS256, "r1", key, jwt.MapClaims{"sub": "u_42"})
	if _, err := early.Verify(tok, "pixel"); wirepb.CodeOf(err) != wirepb.Code_UNAUTHENTICATED {
		t.Fatalf("with no key set: %v", err)
	}
	p.publishRSA("r1", key)
	p.setDown(false)
	if id, err := late.Verify(tok, "pixel"); err != nil || id.User != "u_42" {
		t.Fatalf("once the provider is back: %+v %v", id, err)
	}
}

// Given only the issuer, the node reads the provider's OpenID
// configuration under it for its key set (OpenID Connect Discovery); a
// configuration naming another issuer is refused at start; a provider
// down at start is asked again until it answers, its tokens refused
// meanwhile.
func TestProviderDiscovery(t *testing.T) {
	t.Parallel()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	p := newIDProvider(t)
	p.publishRSA("r1", key)
	discovered := func() *transport.Authenticator {
		t.Helper()
		a, err := transport.NewAuthenticator(transport.AuthConfig{Provider: &transport.ProviderConfig{
			Issuer: p.srv.URL, Audience: testAudience, DiscoveryRetry: 20 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		return a
	}
	tok := idToken(t, jwt.SigningMethodRS256, "r1", key, jwt.MapClaims{"iss": p.srv.URL, "sub": "u_7"})
	if id, err := discovered().Verify(tok, "pixel"); err != nil || id.User != "u_7" {
		t.Fatalf("with the discovered key set: %+v %v", id, err)
	}
	// The issuer a token names is still checked against the configured one.
	other := idToken(t, jwt.SigningMethodRS256, "r1", key, jwt.MapClaims{"sub": "u_7"})
	if _, err := discovered().Verify(other, "pixel"); wirepb.CodeOf(err) != wirepb.Code_UNAUTHENTICATED {
		t.Fatalf("a token of another issuer: %v", err)
	}

	p.setDown(true)
	failuresBefore := counted(t, "switchboard_transport_provider_keyset_failures_total", nil)
	a := discovered()
	if n := counted(t, "switchboard_transport_provider_keyset_failures_total", nil) - failuresBefore; n < 1 {
		t.Errorf("started without the configuration: switchboard_transport_provider_keyset_failures_total grew by %v", n)
	}
	if _, err := a.Verify(tok, "pixel"); wirepb.CodeOf(err) != wirepb.Code_UNAUTHENTICATED || !strings.Contains(err.Error(), "configuration is not read yet") {
		t.Fatalf("before the configuration is read: %v", err)
	}
	p.setDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		id, err := a.Verify(tok, "pixel")
		if err == nil && id.User == "u_7" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider is back but its tokens still fail: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	p.mu.Lock()
	p.docIssuer = "https://id.example"
	p.mu.Unlock()
	_, err := transport.NewAuthenticator(transport.AuthConfig{Provider: &transport.ProviderConfig{Issuer: p.srv.URL, Audience: testAudience}})
	if err == nil || !strings.Contains(err.Error(), `names the issuer "https://id.example"`) {
		t.Fatalf("a configuration of another issuer: %v", err)
	}
}

// A provider configured without what keeps other apps' tokens out, or
// with its keys over plain HTTP, is refused at start.
func TestProviderConfigChecks(t *testing.T) {
	for name, pc := range map[string]transport.ProviderConfig{
		"no issuer":          {JWKSURL: "https://id.example/jwks", Audience: "a"},
		"no audience":        {JWKSURL: "https://id.example/jwks", Issuer: "https://id.example"},
		"http":               {JWKSURL: "http://id.example/jwks", Issuer: "https://id.example", Audience: "a"},
		"not a URL":          {JWKSURL: "id.example", Issuer: "https://id.example", Audience: "a"},
		"a negative refresh": {JWKSURL: "https://id.example/jwks", Issuer: "https://id.example", Audience: "a", Refresh: -time.Second},
		// Without a key set URL the issuer is where the configuration is read.
		"an http issuer to discover":           {Issuer: "http://id.example", Audience: "a"},
		"an issuer to discover that is no URL": {Issuer: "id.example", Audience: "a"},
		"a negative discovery retry":           {Issuer: "https://id.example", Audience: "a", DiscoveryRetry: -time.Second},
	} {
		if a, err := transport.NewAuthenticator(transport.AuthConfig{Provider: &pc}); err == nil {
			a.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// Over QUIC with the Go SDK: a user connects with the provider's ID
// token, naming its device in the hello, and is that user on that device.
func TestConnectWithProviderToken(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := newIDProvider(t)
	p.publishEC("e1", key)
	e := newEnv(t, envOptions{transport: transport.Config{Auth: providerAuth(t, p, testSecret, "")}})
	ctx := tctx(t)
	tok := idToken(t, jwt.SigningMethodES256, "e1", key, jwt.MapClaims{"sub": "firebase_uid_1"})
	c := e.dial("x", "y", func(c *client.Config) { c.Token, c.Device = tok, "pixel-8" })
	if c.User() != "firebase_uid_1" || c.Device() != "pixel-8" {
		t.Fatalf("connected as %s on %s", c.User(), c.Device())
	}
	if _, err := c.SendText(ctx, client.ToUser("bob"), "signed in with the provider"); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("x", "y")
	cfg.Token = tok
	if _, err := client.Dial(ctx, cfg); wirepb.CodeOf(err) != wirepb.Code_UNAUTHENTICATED {
		t.Fatalf("the provider's token without a device: %v", err)
	}
}

// counted is the sum of the process's counter name over the series
// carrying labels (a process-wide value: tests running beside this one
// only add to it).
func counted(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
					continue series
				}
			}
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
