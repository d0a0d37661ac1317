package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The HS256 key is the secret file's text, trimmed: what docs/PROTOCOL.md
// tells clients in other languages to sign with.
func TestSecretFileIsItsText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	hexText := strings.Repeat("0f", 32)
	if err := os.WriteFile(path, []byte("  "+hexText+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := readSecret(path)
	if err != nil || string(key) != hexText {
		t.Fatalf("key %q %v, want the 64 characters of text", key, err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readSecret(path); err == nil {
		t.Fatal("a 5-byte secret accepted")
	}
}
