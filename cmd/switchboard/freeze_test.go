package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// TestFreezeCommands: the operator freezes a marketplace chat with
// "moderate freeze" (its members' sends then fail FROZEN with the reason,
// and their lists say so) and opens it with "moderate unfreeze"; a
// group's owner does the same with "freeze", which a plain member may
// only read.
func TestFreezeCommands(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "buyer", "--to", "user:seller", "--text", "still available?")
	var f admin.Freeze
	mustJSON(t, n.run("moderate", "freeze", "--data-dir", d, "--conv", "d:buyer:seller", "--reason", "This item has sold", "--json"), &f)
	if !f.Frozen || f.Reason != "This item has sold" || f.By != "system" || f.Seq == 0 {
		t.Fatalf("moderate freeze: %+v", f)
	}
	out, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "seller", "--to", "user:buyer", "--text", "sorry").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FROZEN") || !strings.Contains(string(out), "This item has sold") {
		t.Fatalf("a send into the frozen chat: %v\n%s", err, out)
	}
	eventually(t, "the buyer's list says it is frozen", func() bool {
		return strings.Contains(string(n.run("convs", "--data-dir", d, "--user", "buyer")), "(frozen: This item has sold)")
	})
	chat := exec.Command(n.bin, "chat", "--data-dir", d, "--user", "buyer", "--with", "seller")
	chat.Stdin = strings.NewReader("/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "d:buyer:seller: frozen by system since") || !strings.Contains(string(out), ": This item has sold") {
		t.Fatalf("the chat says the conversation is frozen: %v\n%s", err, out)
	}
	if out, err := exec.Command(n.bin, "moderate", "unfreeze", "--data-dir", d, "--conv", "d:buyer:seller", "--reason", "x").CombinedOutput(); err == nil {
		t.Fatalf("an unfreeze with a reason: accepted\n%s", out)
	}
	if out := string(n.run("moderate", "unfreeze", "--data-dir", d, "--conv", "d:buyer:seller")); !strings.Contains(out, "d:buyer:seller: open") {
		t.Fatalf("moderate unfreeze:\n%s", out)
	}
	n.run("send", "--data-dir", d, "--user", "seller", "--to", "user:buyer", "--text", "a new one is in")

	// The lamp sold: every buyer's chat about it, none other.
	n.run("send", "--data-dir", d, "--user", "buyer", "--to", "user:seller", "--topic", "lamp", "--text", "the lamp?")
	n.run("send", "--data-dir", d, "--user", "buyer2", "--to", "user:seller", "--topic", "lamp", "--text", "is the lamp gone?")
	n.run("send", "--data-dir", d, "--user", "buyer2", "--to", "user:seller", "--topic", "sofa", "--text", "and the sofa?")
	out = n.run("moderate", "freeze", "--data-dir", d, "--user", "seller", "--topic", "lamp", "--reason", "The lamp has sold")
	if s := string(out); !strings.Contains(s, "d:buyer:seller:lamp: frozen") || !strings.Contains(s, "d:buyer2:seller:lamp: frozen") || strings.Contains(s, "sofa") {
		t.Fatalf("moderate freeze --user --topic:\n%s", out)
	}
	n.run("send", "--data-dir", d, "--user", "buyer2", "--to", "user:seller", "--topic", "sofa", "--text", "still there?")
	if out, err := exec.Command(n.bin, "moderate", "freeze", "--data-dir", d, "--topic", "lamp").CombinedOutput(); err == nil || !strings.Contains(string(out), "--user") {
		t.Fatalf("--topic without --user: %v\n%s", err, out)
	}

	n.run("group", "create", "--data-dir", d, "--user", "teacher", "--id", "g:7b", "--members", "pupil")
	if out, err := exec.Command(n.bin, "freeze", "--data-dir", d, "--user", "pupil", "--conv", "g:7b", "--on").CombinedOutput(); err == nil || !strings.Contains(string(out), "FORBIDDEN") {
		t.Fatalf("a plain member freezes: %v\n%s", err, out)
	}
	if out := string(n.run("freeze", "--data-dir", d, "--user", "teacher", "--conv", "g:7b", "--reason", "term is over")); !strings.Contains(out, "g:7b: frozen by teacher since") || !strings.Contains(out, ": term is over") {
		t.Fatalf("the owner freezes:\n%s", out)
	}
	if out := string(n.run("freeze", "--data-dir", d, "--user", "pupil", "--conv", "g:7b")); !strings.Contains(out, "frozen by teacher") {
		t.Fatalf("the pupil reads it:\n%s", out)
	}
	if out := string(n.run("freeze", "--data-dir", d, "--user", "teacher", "--conv", "g:7b", "--off")); !strings.Contains(out, "g:7b: open") {
		t.Fatalf("the owner opens it:\n%s", out)
	}
	// A cool-down: frozen for an hour, the end shown.
	if out := string(n.run("freeze", "--data-dir", d, "--user", "teacher", "--conv", "g:7b", "--reason", "cool down", "--for", "1h")); !strings.Contains(out, "g:7b: frozen by teacher since") || !strings.Contains(out, " until ") {
		t.Fatalf("a cool-down:\n%s", out)
	}
	eventually(t, "the pupil's list shows the cool-down's end", func() bool {
		out := string(n.run("convs", "--data-dir", d, "--user", "pupil"))
		return strings.Contains(out, "(frozen until ") && strings.Contains(out, ": cool down)")
	})
	n.run("freeze", "--data-dir", d, "--user", "teacher", "--conv", "g:7b", "--off")
	n.run("send", "--data-dir", d, "--user", "pupil", "--conv", "g:7b", "--text", "hello again")
}

// TestConvMetaCommand: "meta --set" puts a listing beside the chat about
// it, which both members' "convs --json" carry; "meta" reads it back,
// "meta --clear" takes it away; "meta --user" does the same for a user,
// whose profile then carries it.
func TestConvMetaCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "buyer", "--to", "user:seller", "--topic", "listing-7", "--text", "still there?")
	const conv = "d:buyer:seller:listing-7"
	if out := string(n.run("meta", "--data-dir", d, "--conv", conv, "--set", "title=Lamp,price=40 EUR")); !strings.Contains(out, "price=40 EUR\ntitle=Lamp\n") {
		t.Fatalf("meta --set:\n%s", out)
	}
	eventually(t, "the seller's list carries the listing", func() bool {
		var list []struct {
			Conv string            `json:"conv"`
			Meta map[string]string `json:"meta"`
		}
		mustJSON(t, n.run("convs", "--data-dir", d, "--user", "seller", "--json"), &list)
		return len(list) == 1 && list[0].Conv == conv && list[0].Meta["title"] == "Lamp"
	})
	if out := string(n.run("meta", "--data-dir", d, "--conv", conv, "--clear")); !strings.Contains(out, conv+": no meta") {
		t.Fatalf("meta --clear:\n%s", out)
	}
	if out, err := exec.Command(n.bin, "meta", "--data-dir", d, "--conv", conv, "--set", "a b=c").CombinedOutput(); err == nil {
		t.Fatalf("a bad key: accepted\n%s", out)
	}
	// A user's: the seller verified, which the buyer reads with the profile.
	if out := string(n.run("meta", "--data-dir", d, "--user", "seller", "--set", "verified=true")); out != "verified=true\n" {
		t.Fatalf("meta --user --set:\n%s", out)
	}
	if out := string(n.run("profile", "--data-dir", d, "--user", "buyer", "--of", "seller", "--conv", conv)); !strings.Contains(out, "\tverified=true") {
		t.Fatalf("the buyer reads the seller's profile:\n%s", out)
	}
	if out := string(n.run("meta", "--data-dir", d, "--user", "seller", "--clear")); out != "seller: no meta\n" {
		t.Fatalf("meta --user --clear:\n%s", out)
	}
}
