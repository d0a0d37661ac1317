package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors/cards"
)

// The card commands against a dev node and a real webhook: a card sent with
// `send --card`, clicked with `card click` over the client protocol, the
// business's signed answer posted as a card update; a malformed card is
// refused.
func TestCardCommands(t *testing.T) {
	secret := []byte("cli-test-secret-0123456789")
	calls := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !cards.Verify(secret, body, r.Header.Get(cards.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		calls++
		var req cards.Request
		_ = json.Unmarshal(body, &req)
		out, _ := json.Marshal(cards.Answer{Mode: "update", Card: json.RawMessage(`{"title":"Booked: ` + req.Action + ` by ` + req.User + `"}`)})
		w.Header().Set(cards.SignatureHeader, cards.Sign(secret, out))
		_, _ = w.Write(out)
	}))
	defer hs.Close()
	t.Setenv("SWITCHBOARD_CARD_WEBHOOK_SECRET", string(secret))
	n := newDevNode(t)
	n.extra = []string{"--card-webhook-url", hs.URL}
	n.start()

	dir := t.TempDir()
	good := filepath.Join(dir, "card.json")
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`{"title":"Volvo V60","fields":[{"label":"price","value":"18,900"}],"actions":[{"id":"book","label":"Book a viewing","payload":{"slot":"fri-10"}}]}`), 0o600)
	_ = os.WriteFile(bad, []byte(`{"title":"Volvo V60","buttons":[]}`), 0o600)

	var sent struct {
		Conv string `json:"conv"`
		Seq  uint64 `json:"seq"`
	}
	if err := json.Unmarshal(n.run("send", "--data-dir", n.dir, "--user", "biz", "--to", "user:c1", "--card", good, "--json"), &sent); err != nil || sent.Seq == 0 {
		t.Fatalf("send --card: %+v, %v", sent, err)
	}
	out, err := exec.Command(n.bin, "send", "--data-dir", n.dir, "--user", "biz", "--to", "user:c1", "--card", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad card") {
		t.Fatalf("a malformed card: %v\n%s", err, out)
	}
	var click struct {
		Mode string `json:"mode"`
		Seq  uint64 `json:"seq"`
	}
	seq := func(v uint64) string { b, _ := json.Marshal(v); return string(b) }
	if err := json.Unmarshal(n.run("card", "click", "--data-dir", n.dir, "--user", "c1", "--conv", sent.Conv, "--seq", seq(sent.Seq), "--action", "book", "--json"), &click); err != nil || click.Mode != "update" || click.Seq <= sent.Seq {
		t.Fatalf("card click: %+v, %v", click, err)
	}
	hist := string(n.run("history", "--data-dir", n.dir, "--user", "c1", "--conv", sent.Conv, "--json"))
	if !strings.Contains(hist, "Booked: book by c1") || calls != 1 {
		t.Fatalf("history after the click (%d webhook calls): %s", calls, hist)
	}
	out, err = exec.Command(n.bin, "card", "click", "--data-dir", n.dir, "--user", "c1", "--conv", sent.Conv, "--seq", seq(sent.Seq), "--action", "nosuch").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "NOT_FOUND") {
		t.Fatalf("unknown action: %v\n%s", err, out)
	}
}
