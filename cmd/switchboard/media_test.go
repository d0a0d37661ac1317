package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The file commands against a dev node: `send --file` uploads a photo with
// a caption, `history` names it, `download` saves the same bytes; a file
// over --max-media-bytes is refused.
func TestFileCommands(t *testing.T) {
	n := newDevNode(t)
	n.extra = []string{"--max-media-bytes", "300000"}
	n.start()
	dir := t.TempDir()
	photo := filepath.Join(dir, "scratch.jpg")
	data := bytes.Repeat([]byte{0xff, 0xd8, 0x42}, 100000) // 300,000 bytes: the limit
	if err := os.WriteFile(photo, data, 0o600); err != nil {
		t.Fatal(err)
	}
	n.run("send", "--data-dir", n.dir, "--user", "alice", "--to", "user:bob", "--text", "is it yours?")
	var sent struct {
		Conv, Name, Type string
		Seq              uint64
		Size             int64
	}
	mustJSON(t, n.run("send", "--data-dir", n.dir, "--user", "alice", "--to", "user:bob", "--file", photo, "--text", "this scratch", "--json"), &sent)
	if sent.Conv != "d:alice:bob" || sent.Name != "scratch.jpg" || sent.Type != "image/jpeg" || sent.Size != int64(len(data)) {
		t.Fatalf("sent %+v", sent)
	}
	var hist []struct {
		Seq   uint64
		Text  string
		Media *struct{ Name string }
	}
	mustJSON(t, n.run("history", "--data-dir", n.dir, "--user", "bob", "--conv", sent.Conv, "--json"), &hist)
	if len(hist) != 2 || hist[1].Text != "this scratch" || hist[1].Media == nil || hist[1].Media.Name != "scratch.jpg" {
		t.Fatalf("history %s", mustMarshal(hist))
	}
	out := filepath.Join(dir, "saved.jpg")
	n.run("download", "--data-dir", n.dir, "--user", "bob", "--conv", sent.Conv, "--seq", "2", "--out", out)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes (%v), want the %d sent", len(got), err, len(data))
	}

	// The same from the interactive chat: bob sends a note back, alice saves it.
	note := filepath.Join(dir, "note.txt")
	if err := os.WriteFile(note, []byte("it was there when I bought it"), 0o600); err != nil {
		t.Fatal(err)
	}
	chat := exec.Command(n.bin, "chat", "--data-dir", n.dir, "--user", "bob", "--with", "alice")
	chat.Stdin = strings.NewReader("/file " + note + " my note\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil {
		t.Fatalf("chat /file: %v\n%s", err, out)
	}
	if out := string(n.run("history", "--data-dir", n.dir, "--user", "alice", "--conv", sent.Conv)); !strings.Contains(out, "bob: my note [file note.txt, text/plain, 29 bytes]") {
		t.Fatalf("the file in the history: %s", out)
	}
	chat = exec.Command(n.bin, "chat", "--data-dir", n.dir, "--user", "alice", "--with", "bob")
	chat.Dir = t.TempDir()
	chat.Stdin = strings.NewReader("/save 3\n/save 3\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "saved note.txt (29 bytes)") ||
		!strings.Contains(string(out), "note.txt exists: give a path") {
		t.Fatalf("chat /save, twice (the second must not overwrite the first): %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(chat.Dir, "note.txt")); err != nil || string(got) != "it was there when I bought it" {
		t.Fatalf("the saved note: %q %v", got, err)
	}

	// A first message may be a file: carol never talked to alice.
	var first struct{ Conv string }
	mustJSON(t, n.run("send", "--data-dir", n.dir, "--user", "carol", "--to", "user:alice", "--file", note, "--json"), &first)
	if first.Conv != "d:alice:carol" {
		t.Fatalf("a first message carrying a file went to %q", first.Conv)
	}

	// A voice note with its length, shown in the history before it is read.
	voice := filepath.Join(dir, "note.ogg")
	if err := os.WriteFile(voice, []byte("OggS voice"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.run("send", "--data-dir", n.dir, "--user", "carol", "--to", "user:alice", "--file", voice, "--length", "42s")
	if out := string(n.run("history", "--data-dir", n.dir, "--user", "alice", "--conv", "d:alice:carol")); !strings.Contains(out, "[file note.ogg, audio/ogg, 10 bytes, 42s long]") {
		t.Fatalf("the voice note in the history:\n%s", out)
	}

	big := filepath.Join(dir, "big.jpg")
	if err := os.WriteFile(big, append(data, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(n.bin, "send", "--data-dir", n.dir, "--user", "alice", "--to", "user:bob", "--file", big).CombinedOutput()
	if err == nil || !bytes.Contains(res, []byte("TOO_LARGE")) {
		t.Fatalf("a file one byte over the limit: %v %s", err, res)
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
