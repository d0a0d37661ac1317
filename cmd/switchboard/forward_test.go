package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// switchboard forward against a dev node: a text and a file forwarded
// from a group to a user, shown "(forwarded)" in the recipient's history
// and said forwarded in JSON, the file downloaded byte for byte; a poll
// refused INVALID; the chat's /fwd; send --topic.
func TestForwardCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("group", "create", "--data-dir", d, "--user", "seller", "--id", "g:market", "--members", "buyer")
	var sent struct {
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "seller", "--conv", "g:market", "--text", "bike, 100", "--json"), &sent)
	text := strconv.FormatUint(sent.Seq, 10)
	photo := filepath.Join(t.TempDir(), "bike.png")
	data := bytes.Repeat([]byte("png!"), 500)
	if err := os.WriteFile(photo, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "seller", "--conv", "g:market", "--file", photo, "--text", "the bike", "--json"), &sent)
	file := strconv.FormatUint(sent.Seq, 10)

	var fwd struct {
		Conv      string `json:"conv"`
		Seq       uint64 `json:"seq"`
		Text      string `json:"text"`
		Forwarded bool   `json:"forwarded"`
	}
	mustJSON(t, n.run("forward", "--data-dir", d, "--user", "buyer", "--from", "g:market", "--seq", text, "--to", "user:partner", "--json"), &fwd)
	if fwd.Conv != "d:buyer:partner" || fwd.Text != "bike, 100" || !fwd.Forwarded {
		t.Fatalf("the forwarded text: %+v", fwd)
	}
	said := strings.TrimSpace(string(n.run("forward", "--data-dir", d, "--user", "buyer", "--from", "g:market", "--seq", file, "--to", "user:partner")))
	copySeq, ok := strings.CutPrefix(said, "forwarded g:market #"+file+" as d:buyer:partner #")
	if !ok {
		t.Fatalf("forwarding the file: %s", said)
	}
	out := string(n.run("history", "--data-dir", d, "--user", "partner", "--conv", "d:buyer:partner"))
	if !strings.Contains(out, "buyer: (forwarded) bike, 100") || !strings.Contains(out, "buyer: (forwarded) the bike [file bike.png") {
		t.Fatalf("the partner's history:\n%s", out)
	}
	saved := filepath.Join(t.TempDir(), "got.png")
	n.run("download", "--data-dir", d, "--user", "partner", "--conv", "d:buyer:partner", "--seq", copySeq, "--out", saved)
	if got, err := os.ReadFile(saved); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the partner's download: %d bytes, %v; want %d", len(got), err, len(data))
	}

	poll := n.run("poll", "create", "--data-dir", d, "--user", "seller", "--conv", "g:market", "--question", "Today?", "--option", "yes", "--option", "no", "--json")
	mustJSON(t, poll, &sent)
	res, err := exec.Command(n.bin, "forward", "--data-dir", d, "--user", "buyer", "--from", "g:market", "--seq", strconv.FormatUint(sent.Seq, 10), "--to", "user:partner").CombinedOutput()
	if err == nil || !strings.Contains(string(res), "INVALID") {
		t.Fatalf("forwarding a poll: %v\n%s", err, res)
	}

	// The chat: /fwd from the open group to the partner.
	chat := exec.Command(n.bin, "chat", "--data-dir", d, "--user", "buyer", "--conv", "g:market")
	chat.Stdin = strings.NewReader("/fwd " + text + " user:partner\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "#"+text+" forwarded") {
		t.Fatalf("chat /fwd: %v\n%s", err, out)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "partner", "--conv", "d:buyer:partner")); strings.Count(out, "(forwarded) bike, 100") != 2 {
		t.Fatalf("the partner's history after /fwd:\n%s", out)
	}

	// A question about one listing, in the pair's conversation about it.
	var asked struct {
		Conv string `json:"conv"`
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "buyer", "--to", "user:seller", "--topic", "listing-7", "--text", "still there?", "--json"), &asked)
	if asked.Conv != "d:buyer:seller:listing-7" {
		t.Fatalf("send --topic went to %s", asked.Conv)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "seller", "--conv", asked.Conv)); !strings.Contains(out, "buyer: still there?") {
		t.Fatalf("the seller's history of the listing's conversation:\n%s", out)
	}
	if out := string(n.run("convs", "--data-dir", d, "--user", "seller", "--topic", "listing-7")); !strings.Contains(out, asked.Conv) || strings.Contains(out, "g:market") {
		t.Fatalf("the seller's conversations about listing-7:\n%s", out)
	}
	// Where to meet: a place with a caption, in the history and in JSON.
	var met struct {
		Location struct {
			Lat  float64 `json:"lat"`
			Name string  `json:"name"`
		} `json:"location"`
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "seller", "--conv", asked.Conv, "--location", "52.5200,13.4050", "--place", "Café am Markt", "--text", "here at 6?", "--json"), &met)
	if met.Location.Lat != 52.52 || met.Location.Name != "Café am Markt" {
		t.Fatalf("send --location: %+v", met)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "buyer", "--conv", asked.Conv)); !strings.Contains(out, "seller: here at 6? [📍 Café am Markt 52.520000,13.405000]") {
		t.Fatalf("the buyer's history with the place:\n%s", out)
	}
	// The chat: /to the seller about the lamp, a question, and /where.
	chat = exec.Command(n.bin, "chat", "--data-dir", d, "--user", "buyer")
	chat.Stdin = strings.NewReader("/to seller listing-7\nor at 7?\n/where 52.5,13.4 the square\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "— "+asked.Conv) || strings.Contains(string(out), "! ") {
		t.Fatalf("chat /to seller listing-7, /where: %v\n%s", err, out)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "seller", "--conv", asked.Conv)); !strings.Contains(out, "buyer: or at 7?") ||
		!strings.Contains(out, "[📍 the square 52.500000,13.400000]") {
		t.Fatalf("the seller's history after the buyer's chat:\n%s", out)
	}
	// A live share: the history says until when it moves.
	n.run("send", "--data-dir", d, "--user", "seller", "--conv", asked.Conv, "--location", "52.5,13.4", "--place", "me", "--live", "30m")
	if out := string(n.run("history", "--data-dir", d, "--user", "buyer", "--conv", asked.Conv)); !strings.Contains(out, "[📍 me 52.500000,13.400000, live until ") {
		t.Fatalf("the buyer's history with a live share:\n%s", out)
	}
	if res, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "seller", "--conv", asked.Conv, "--location", "north").CombinedOutput(); err == nil ||
		!strings.Contains(string(res), "LAT,LNG") {
		t.Fatalf("send --location north: %v\n%s", err, res)
	}
	if res, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "buyer", "--conv", asked.Conv, "--topic", "listing-8", "--text", "x").CombinedOutput(); err == nil ||
		!strings.Contains(string(res), "--topic goes with --to user:NAME") {
		t.Fatalf("send --conv --topic: %v\n%s", err, res)
	}
	// The marketplace's own data about an offer: in the history and in JSON.
	n.run("send", "--data-dir", d, "--user", "buyer", "--conv", asked.Conv, "--text", "would you take 40?", "--meta", "offer=40,currency=EUR")
	if out := string(n.run("history", "--data-dir", d, "--user", "seller", "--conv", asked.Conv)); !strings.Contains(out, "buyer: would you take 40? {currency=EUR, offer=40}") {
		t.Fatalf("the seller's history with the offer's meta:\n%s", out)
	}
	var page []struct {
		Meta map[string]string `json:"meta"`
	}
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "seller", "--conv", asked.Conv, "--json"), &page)
	if !slices.ContainsFunc(page, func(m struct {
		Meta map[string]string `json:"meta"`
	}) bool {
		return m.Meta["offer"] == "40" && m.Meta["currency"] == "EUR"
	}) {
		t.Fatalf("history --json without the meta: %+v", page)
	}
	if res, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "buyer", "--conv", asked.Conv, "--text", "x", "--meta", "a b=c").CombinedOutput(); err == nil ||
		!strings.Contains(string(res), "INVALID") {
		t.Fatalf("send --meta with a bad key: %v\n%s", err, res)
	}
}
