package main

import (
	"os/exec"
	"strings"
	"testing"
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
