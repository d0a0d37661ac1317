package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/push"
)

func pushConfigFrom(t *testing.T, args ...string) (*pushFlags, error) {
	t.Helper()
	var p pushFlags
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	p.register(f)
	if err := f.Parse(args); err != nil {
		t.Fatal(err)
	}
	_, err := p.config()
	return &p, err
}

func TestPushFlags(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	p8 := filepath.Join(dir, "AuthKey.p8")
	if err := os.WriteFile(p8, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWITCHBOARD_PUSH_WEBHOOK_SECRET", "")

	// Off by default.
	var p pushFlags
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	p.register(f)
	cfg, err := p.config()
	if err != nil || cfg.Enabled() {
		t.Fatalf("default: %+v, %v; want off", cfg, err)
	}
	for _, tc := range []struct {
		args []string
		want string // error text; empty: accepted
	}{
		{[]string{"--push-webhook-url", "http://relay"}, "needs a secret"},
		{[]string{"--push-webhook-url", "http://relay", "--push-webhook-secret-file", secret}, ""},
		{[]string{"--push-webhook-url", "http://relay", "--push-webhook-secret-file", secret, "--push-max-attempts", "0"}, "--push-max-attempts 0"},
		{[]string{"--push-webhook-url", "http://relay", "--push-webhook-secret-file", secret, "--push-coalesce", "0s"}, "--push-coalesce 0s"},
		{[]string{"--push-apns-key-file", p8}, "needs --push-apns-key-id"},
		{[]string{"--push-apns-key-file", secret, "--push-apns-key-id", "K", "--push-apns-team-id", "T", "--push-apns-topic", "app"}, "no PEM block"},
		{[]string{"--push-apns-key-file", p8, "--push-apns-key-id", "K", "--push-apns-team-id", "T", "--push-apns-topic", "app"}, ""},
		{[]string{"--push-fcm-project", "p"}, "needs --push-fcm-token-file"},
		{[]string{"--push-fcm-project", "p", "--push-fcm-token-file", secret}, ""},
	} {
		_, err := pushConfigFrom(t, tc.args...)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	pf, _ := pushConfigFrom(t, "--push-apns-key-file", p8, "--push-apns-key-id", "K", "--push-apns-team-id", "T", "--push-apns-topic", "app",
		"--push-webhook-url", "http://relay", "--push-webhook-secret-file", secret)
	cfg, err = pf.config()
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := cfg.Gateways["apns"].(*push.APNs); !ok || a.BaseURL != "https://api.push.apple.com" || a.Topic != "app" {
		t.Fatalf("apns gateway %+v", cfg.Gateways["apns"])
	}
	if w, ok := cfg.Default.(*push.Webhook); !ok || string(w.Secret) != "s3cret" || w.MaxAttempts != 1 {
		t.Fatalf("webhook gateway %+v", cfg.Default)
	}
}
