package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// The server-side commands against a dev node: `post` as the shop to a
// buyer it never wrote to, again with the same key (answered with the
// first), the buyer answers over the protocol, and `transcript` prints
// both, oldest first; a post the sender's rules refuse fails clearly.
func TestPostAndTranscript(t *testing.T) {
	n := newDevNode(t)
	n.start()
	post := []string{"post", "--data-dir", n.dir, "--as", "shop", "--to", "buyer", "--key", "order-1-shipped", "--text", "Your order shipped"}
	if out := string(n.run(post...)); out != "posted d:buyer:shop #1\n" {
		t.Fatalf("post: %q", out)
	}
	if out := string(n.run(post...)); !strings.Contains(out, "#1 (posted before with this key)") {
		t.Fatalf("post again: %q", out)
	}
	n.run("send", "--data-dir", n.dir, "--user", "buyer", "--to", "user:shop", "--text", "thanks!")
	out := string(n.run("transcript", "--data-dir", n.dir, "--conv", "d:buyer:shop"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "#1 ") || !strings.HasSuffix(lines[0], " shop: Your order shipped") ||
		!strings.HasSuffix(lines[1], " buyer: thanks!") {
		t.Fatalf("transcript:\n%s", out)
	}
	res, err := exec.Command(n.bin, "post", "--data-dir", n.dir, "--as", "stranger", "--conv", "d:buyer:shop", "--key", "x", "--text", "hi").CombinedOutput()
	if err == nil || !strings.Contains(string(res), "NOT_MEMBER") {
		t.Fatalf("a post by a non-member: %v %s", err, res)
	}
}

// TestAPIKeyCommands: `apikey new` adds a key to the file the dev node
// reads; `post` and `transcript` work with it in place of the admin token;
// a command outside its scope is refused naming the scope; `apikey revoke`
// takes it away from the running node.
func TestAPIKeyCommands(t *testing.T) {
	n := newDevNode(t)
	keys := filepath.Join(n.dir, "api-keys")
	var made struct{ Key, Line string }
	if err := json.Unmarshal(n.run("apikey", "new", "--name", "shop-backend", "--scopes", "messages", "--file", keys, "--json"), &made); err != nil || !strings.HasPrefix(made.Key, "sbk_") {
		t.Fatalf("apikey new: %+v %v", made, err)
	}
	if res, err := exec.Command(n.bin, "apikey", "new", "--name", "shop-backend", "--scopes", "messages", "--file", keys).CombinedOutput(); err == nil || !strings.Contains(string(res), "already has a key named shop-backend") {
		t.Fatalf("the same name again: %v %s", err, res)
	}
	var temp struct{ Line string }
	before := time.Now().Add(720*time.Hour - time.Second)
	mustJSON(t, n.run("apikey", "new", "--name", "contractor", "--scopes", "status", "--expires-in", "720h", "--json"), &temp)
	entries, err := admin.ParseAPIKeys([]byte(temp.Line))
	if err != nil || entries[0].Expires.Before(before) || entries[0].Expires.After(time.Now().Add(720*time.Hour)) {
		t.Fatalf("a key for 30 days: %q, %v", temp.Line, err)
	}
	if res, err := exec.Command(n.bin, "apikey", "new", "--name", "x", "--scopes", "status", "--expires-in", "-1h").CombinedOutput(); err == nil || !strings.Contains(string(res), "positive duration") {
		t.Fatalf("--expires-in -1h: %v %s", err, res)
	}
	mustJSON(t, n.run("apikey", "new", "--name", "crm", "--scopes", "messages", "--rate", "20", "--json"), &temp)
	if entries, err := admin.ParseAPIKeys([]byte(temp.Line)); err != nil || entries[0].Rate != 20 {
		t.Fatalf("a key with a rate: %q, %v", temp.Line, err)
	}
	if res, err := exec.Command(n.bin, "apikey", "new", "--name", "x", "--scopes", "status", "--rate", "100001").CombinedOutput(); err == nil || !strings.Contains(string(res), "--rate") {
		t.Fatalf("--rate past the limit: %v %s", err, res)
	}
	n.extra = append(n.extra, "--api-keys-file", keys)
	n.start()
	post := []string{"post", "--data-dir", n.dir, "--admin-token", made.Key, "--as", "shop", "--to", "buyer", "--key", "order-1", "--text", "Your order shipped"}
	if out := string(n.run(post...)); out != "posted d:buyer:shop #1\n" {
		t.Fatalf("post with the key: %q", out)
	}
	if out := string(n.run("transcript", "--data-dir", n.dir, "--admin-token", made.Key, "--conv", "d:buyer:shop")); !strings.Contains(out, "shop: Your order shipped") {
		t.Fatalf("transcript with the key: %q", out)
	}
	res, err := exec.Command(n.bin, "moderate", "reports", "--data-dir", n.dir, "--admin-token", made.Key).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "scope moderation") {
		t.Fatalf("moderation with a messages key: %v %s", err, res)
	}
	n.run("apikey", "revoke", "shop-backend", "--file", keys)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := exec.Command(n.bin, post...).CombinedOutput()
		if err != nil && strings.Contains(string(res), "401") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a post with the revoked key: %v %s", err, res)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
