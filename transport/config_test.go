package transport

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// The memory of refused sends outlasts a full window of them: at its
// floor of four windows it follows a raised MaxInflight, and a larger
// setting is kept.
func TestRefusedSendsFollowMaxInflight(t *testing.T) {
	certPEM, keyPEM, err := SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuthenticator(AuthConfig{Secret: bytes.Repeat([]byte{'s'}, MinSecretBytes)})
	if err != nil {
		t.Fatal(err)
	}
	base := Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, Auth: auth}
	for _, tc := range []struct{ inflight, refused, want int }{
		{0, 0, DefaultConfig().RefusedSends}, // defaults: 1024 ≥ 4 × 64
		{256, 0, 1024},                       // exactly four windows: kept
		{257, 0, 1028},                       // one more: raised
		{1000, 8000, 8000},                   // set above the floor: kept
	} {
		c := base
		c.MaxInflight, c.RefusedSends = tc.inflight, tc.refused
		got, err := c.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got.RefusedSends != tc.want {
			t.Errorf("MaxInflight %d, RefusedSends %d: %d after defaults, want %d", tc.inflight, tc.refused, got.RefusedSends, tc.want)
		}
	}
}
