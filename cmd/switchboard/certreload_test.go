package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
)

// TestCertificateRenewedWithoutRestart: a node serving --tls-cert and
// --tls-key serves a renewed pair once its files are replaced (as
// cert-manager or a renewal job does), with no restart: a client that
// trusts only the new certificate connects, one that trusts only the old
// one no longer does, and a client connected before stays connected. The
// node also takes tokens of a previous secret (--auth-previous-secret-file,
// a rotation of the token secret), and EdDSA tokens of either of two
// public keys (--auth-public-key, twice during a key's rotation), and an
// identity provider's ID tokens (--auth-issuer alone: its configuration
// and key set served by the test) naming no device, the client naming it.
func TestCertificateRenewedWithoutRestart(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	secret, previous := bytes.Repeat([]byte("k"), 32), bytes.Repeat([]byte("p"), 32)
	files := map[string][]byte{"token-secret": secret, "previous-secret": previous, "admin-token": []byte("an-admin-token-of-the-test")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	renew := func() *x509.CertPool { // new files renamed over the old, as a renewal does
		cert, key, err := transport.SelfSignedCert("chat.example.com")
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"tls.crt": cert, "tls.key": key} {
			if err := os.WriteFile(filepath.Join(dir, name+".new"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(dir, name+".new"), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(cert)
		return pool
	}
	oldCA := renew()
	var keys []ed25519.PrivateKey
	var keyFiles []string
	for i := range 2 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("signer-%d.pub", i))
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, keyFiles = append(keys, priv), append(keyFiles, f)
	}

	idKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	idPub, _ := idKey.PublicKey.ECDH()
	// The provider publishes its OpenID configuration under its issuer
	// (its own URL, as the request names it), which names its key set.
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			self := "http://" + r.Host
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": self, "jwks_uri": self + "/keys"})
			return
		}
		raw := idPub.Bytes()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "EC", "kid": "id-1", "alg": "ES256", "crv": "P-256",
			"x": base64.RawURLEncoding.EncodeToString(raw[1:33]), "y": base64.RawURLEncoding.EncodeToString(raw[33:])}}})
	}))
	t.Cleanup(jwks.Close)

	listen, admin := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	node := exec.Command(bin, "serve", "--data-dir", filepath.Join(dir, "data"), "--listen", listen, "--admin", admin, "--gossip", "127.0.0.1:0",
		"--webtransport", "", "--tls-cert", filepath.Join(dir, "tls.crt"), "--tls-key", filepath.Join(dir, "tls.key"),
		"--auth-secret-file", filepath.Join(dir, "token-secret"), "--admin-token-file", filepath.Join(dir, "admin-token"),
		"--auth-previous-secret-file", filepath.Join(dir, "previous-secret"), "--auth-public-key", strings.Join(keyFiles, ","),
		"--tls-reload-interval", "100ms",
		"--auth-issuer", jwks.URL, "--auth-audience", "chat-app")
	startNodeProcess(t, node, admin)
	mintWith := secret
	var signWith ed25519.PrivateKey // instead of mintWith
	dial := func(user string, roots *x509.CertPool) (*client.Client, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		key, signer := mintWith, signWith
		c, err := client.Dial(ctx, client.Config{Addr: listen, TLS: &tls.Config{RootCAs: roots, ServerName: "chat.example.com"},
			TokenSource: func(context.Context) (string, error) {
				if signer != nil {
					return transport.MintEdDSA(signer, user, "phone", time.Hour, "")
				}
				return transport.MintHS256(key, user, "phone", time.Hour, "")
			}})
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, err
	}
	before, err := dial("ann", oldCA)
	if err != nil {
		t.Fatalf("with the first certificate: %v", err)
	}

	newCA := renew()
	var after *client.Client
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if after, err = dial("bob", newCA); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate is not served: %v", err)
		}
	}
	if _, err := dial("cid", oldCA); err == nil {
		t.Fatal("the old certificate is still served")
	}
	mintWith = previous
	if _, err := dial("dan", newCA); err != nil {
		t.Fatalf("a token of the previous secret: %v", err)
	}
	mintWith = bytes.Repeat([]byte("x"), 32)
	if _, err := dial("eve", newCA); err == nil {
		t.Fatal("a token of an unknown secret was taken")
	}
	for i, k := range keys {
		signWith = k
		if _, err := dial(fmt.Sprint("signed", i), newCA); err != nil {
			t.Fatalf("a token signed with key %d of two: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	idTok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": jwks.URL, "aud": "chat-app", "sub": "fay",
		"exp": time.Now().Add(time.Hour).Unix()})
	idTok.Header["kid"] = "id-1"
	signed, err := idTok.SignedString(idKey)
	if err != nil {
		t.Fatal(err)
	}
	fay, err := client.Dial(ctx, client.Config{Addr: listen, TLS: &tls.Config{RootCAs: newCA, ServerName: "chat.example.com"}, Token: signed, Device: "fays-phone"})
	if err != nil {
		t.Fatalf("the identity provider's token: %v", err)
	}
	if fay.User() != "fay" || fay.Device() != "fays-phone" {
		t.Fatalf("the identity provider's token connected %s on %s", fay.User(), fay.Device())
	}
	_ = fay.Close()
	if _, err := before.SendText(ctx, client.ToUser("bob"), "still here"); err != nil {
		t.Fatalf("a client connected before the renewal: %v", err)
	}
	if _, err := after.SendText(ctx, client.ToUser("ann"), "hello"); err != nil {
		t.Fatal(err)
	}
}
