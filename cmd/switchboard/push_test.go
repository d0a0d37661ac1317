package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
		{[]string{"--push-webhook-url", "http://relay", "--push-webhook-secret-file", secret, "--push-localized"}, "--push-localized needs --push-apns-key-file or --push-fcm-project"},
		{[]string{"--push-fcm-project", "p", "--push-fcm-token-file", secret, "--push-localized"}, ""},
		{[]string{"--push-apns-key-file", p8, "--push-apns-key-id", "K", "--push-apns-team-id", "T", "--push-apns-topic", "app", "--push-fcm-calls-as-data"}, "--push-fcm-calls-as-data needs --push-fcm-project"},
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
	if a, ok := cfg.Gateways["apns"].(*push.APNs); !ok || a.BaseURL != "https://api.push.apple.com" || a.Topic != "app" || a.Localized {
		t.Fatalf("apns gateway %+v", cfg.Gateways["apns"])
	}
	if cfg.Gateways[push.PlatformVoIP] == nil {
		t.Fatal("APNs configured, and no gateway for VoIP pushes")
	}
	if w, ok := cfg.Default.(*push.Webhook); !ok || string(w.Secret) != "s3cret" || w.MaxAttempts != 1 {
		t.Fatalf("webhook gateway %+v", cfg.Default)
	}
	pf, _ = pushConfigFrom(t, "--push-apns-key-file", p8, "--push-apns-key-id", "K", "--push-apns-team-id", "T", "--push-apns-topic", "app",
		"--push-fcm-project", "p", "--push-fcm-token-file", secret, "--push-localized", "--push-fcm-calls-as-data")
	if cfg, err = pf.config(); err != nil {
		t.Fatal(err)
	}
	if a, ok := cfg.Gateways["apns"].(*push.APNs); !ok || !a.Localized {
		t.Fatalf("apns gateway with --push-localized: %+v", cfg.Gateways["apns"])
	}
	if f, ok := cfg.Gateways["fcm"].(*push.FCM); !ok || !f.Localized || !f.CallsAsData {
		t.Fatalf("fcm gateway with --push-localized: %+v", cfg.Gateways["fcm"])
	}
}

// signedWebhookSink is the operator's relay: a local HTTP server that
// takes the notifications signed with secret (others are refused 401).
func signedWebhookSink(t *testing.T, secret string) (url string, got <-chan push.Notification) {
	ch := make(chan push.Notification, 4)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !push.Verify([]byte(secret), r.Header.Get("X-Switchboard-Timestamp"), body, r.Header.Get("X-Switchboard-Signature")) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var n push.Notification
		_ = json.Unmarshal(body, &n)
		ch <- n
	}))
	t.Cleanup(hs.Close)
	return hs.URL, ch
}

// A dev node started with --push-webhook-url notifies a user whose only
// device registered a token with `push register` and disconnected, the
// notification naming the sender by the name `profile` set; the
// recipient reads that profile with `profile --of`.
func TestPushCommands(t *testing.T) {
	secret := "cli-push-secret-0123456789"
	url, got := signedWebhookSink(t, secret)
	t.Setenv("SWITCHBOARD_PUSH_WEBHOOK_SECRET", secret)
	n := newDevNode(t)
	n.extra = []string{"--push-webhook-url", url, "--push-coalesce", "100ms"}
	n.start()
	n.run("push", "register", "--data-dir", n.dir, "--user", "bob", "--device", "phone", "--platform", "webhook", "--push-token", "bob-tok")
	if out := string(n.run("profile", "--data-dir", n.dir, "--user", "alice", "--name", " Alice Liddell ")); !strings.Contains(out, `alice	name: "Alice Liddell"`) {
		t.Fatalf("profile --name: %s", out)
	}
	// The register command's connection is gone once it exits; the user
	// grain may hear of it a moment later, so send until notified.
	deadline := time.After(20 * time.Second)
	for i := 0; ; i++ {
		n.run("send", "--data-dir", n.dir, "--user", "alice", "--to", "user:bob", "--text", "ping "+strconv.Itoa(i))
		select {
		case note := <-got:
			if note.User != "bob" || len(note.Tokens) != 1 || note.Tokens[0] != "bob-tok" || !strings.HasPrefix(note.Text, "ping ") ||
				note.From != "alice" || note.FromName != "Alice Liddell" {
				t.Fatalf("notification %+v", note)
			}
			var ps []struct {
				User string `json:"user"`
				Name string `json:"name"`
			}
			mustJSON(t, n.run("profile", "--data-dir", n.dir, "--user", "bob", "--of", "alice,carol", "--json"), &ps)
			if len(ps) != 1 || ps[0].User != "alice" || ps[0].Name != "Alice Liddell" {
				t.Fatalf("bob reads alice's and a stranger's profiles: %+v", ps)
			}
			n.run("push", "unregister", "--data-dir", n.dir, "--user", "bob", "--device", "phone")
			return
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatal("no push notification reached the webhook")
		}
	}
}

// The unread reminder flags: off by default, each needing the others.
func TestUnreadReminderFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("reminder-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWITCHBOARD_UNREAD_REMINDER_WEBHOOK_SECRET", "")
	for _, tc := range []struct {
		args []string
		want string // error text; empty: accepted
	}{
		{nil, ""},
		{[]string{"--unread-reminder-after", "15m"}, "needs --unread-reminder-webhook-url"},
		{[]string{"--unread-reminder-webhook-url", "http://mailer"}, "needs --unread-reminder-after"},
		{[]string{"--unread-reminder-after", "15m", "--unread-reminder-webhook-url", "http://mailer"}, "needs a secret"},
		{[]string{"--unread-reminder-after", "-1s", "--unread-reminder-webhook-url", "http://mailer"}, "want ≥ 0"},
		{[]string{"--unread-reminder-after", "15m", "--unread-reminder-webhook-url", "http://mailer", "--unread-reminder-webhook-secret-file", secret,
			"--unread-reminder-max-pending", "0"}, "want ≥ 0 and > 0"},
		{[]string{"--unread-reminder-after", "15m", "--unread-reminder-webhook-url", "http://mailer", "--unread-reminder-webhook-secret-file", secret,
			"--unread-reminder-queue", "0"}, "--unread-reminder-queue 0"},
		{[]string{"--unread-reminder-after", "15m", "--unread-reminder-webhook-url", "http://mailer", "--unread-reminder-webhook-secret-file", secret}, ""},
	} {
		p, _ := pushConfigFrom(t, tc.args...)
		cfg, err := p.reminderConfig()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		if err == nil && (cfg.After > 0) != (cfg.Gateway != nil) {
			t.Errorf("%v: after %v with gateway %v", tc.args, cfg.After, cfg.Gateway)
		}
	}
}

// A dev node started with --unread-reminder-after posts a reminder of a
// message its recipient, never connected, left unread.
func TestUnreadReminderCommand(t *testing.T) {
	secret := "cli-reminder-secret-0123456789"
	url, got := signedWebhookSink(t, secret)
	t.Setenv("SWITCHBOARD_UNREAD_REMINDER_WEBHOOK_SECRET", secret)
	n := newDevNode(t)
	n.extra = []string{"--unread-reminder-after", "300ms", "--unread-reminder-webhook-url", url}
	n.start()
	n.run("send", "--data-dir", n.dir, "--user", "buyer", "--to", "user:seller", "--text", "is it still for sale?")
	select {
	case note := <-got:
		if note.Kind != "unread_reminder" || note.User != "seller" || note.From != "buyer" || note.Count != 1 || note.Text != "is it still for sale?" {
			t.Fatalf("reminder %+v", note)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no unread reminder reached the webhook")
	}
}
