package main

import (
	"testing"
)

// switchboard clear against a dev node: the buyer clears the chat and
// their history is empty; the seller's is whole.
func TestClearCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "seller", "--to", "user:buyer", "--text", "still for sale")
	n.run("send", "--data-dir", d, "--user", "seller", "--to", "user:buyer", "--text", "40")
	var c struct {
		ClearedSeq  uint64 `json:"cleared_seq"`
		TotalUnread uint64 `json:"total_unread"`
	}
	mustJSON(t, n.run("clear", "--data-dir", d, "--user", "buyer", "--conv", "d:buyer:seller", "--json"), &c)
	if c.ClearedSeq != 2 || c.TotalUnread != 0 {
		t.Fatalf("clear: %+v, want cleared 2, nothing unread", c)
	}
	var mine, theirs []struct {
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "buyer", "--conv", "d:buyer:seller", "--json"), &mine)
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "seller", "--conv", "d:buyer:seller", "--json"), &theirs)
	if len(mine) != 0 || len(theirs) != 2 {
		t.Fatalf("histories after the buyer's clear: buyer %v, seller %v", mine, theirs)
	}
}

// switchboard hide against a dev node: the buyer deletes one message for
// themself and their history lacks it; the seller's is whole; --undo
// brings it back.
func TestHideCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	for _, text := range []string{"still for sale", "my number: 555 0100", "40"} {
		n.run("send", "--data-dir", d, "--user", "seller", "--to", "user:buyer", "--text", text)
	}
	var h struct {
		HiddenSeqs []uint64 `json:"hidden_seqs"`
	}
	mustJSON(t, n.run("hide", "--data-dir", d, "--user", "buyer", "--conv", "d:buyer:seller", "--seq", "2", "--json"), &h)
	if len(h.HiddenSeqs) != 1 || h.HiddenSeqs[0] != 2 {
		t.Fatalf("hide: %+v, want [2]", h)
	}
	type row struct {
		Seq uint64 `json:"seq"`
	}
	var mine, theirs []row
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "buyer", "--conv", "d:buyer:seller", "--json"), &mine)
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "seller", "--conv", "d:buyer:seller", "--json"), &theirs)
	if len(mine) != 2 || len(theirs) != 3 {
		t.Fatalf("histories after the buyer's hide: buyer %v, seller %v", mine, theirs)
	}
	mustJSON(t, n.run("hide", "--data-dir", d, "--user", "buyer", "--conv", "d:buyer:seller", "--seq", "2", "--undo", "--json"), &h)
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "buyer", "--conv", "d:buyer:seller", "--json"), &mine)
	if len(h.HiddenSeqs) != 0 || len(mine) != 3 {
		t.Fatalf("after --undo: hidden %v, buyer's history %v", h.HiddenSeqs, mine)
	}
}

// switchboard label and convs --label against a dev node: the seller
// labels one chat and the list by label finds it alone.
func TestLabelCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "ann", "--to", "user:seller", "--text", "still for sale?")
	n.run("send", "--data-dir", d, "--user", "bob", "--to", "user:seller", "--text", "price?")
	var l struct {
		Labels []string `json:"labels"`
	}
	mustJSON(t, n.run("label", "--data-dir", d, "--user", "seller", "--conv", "d:ann:seller", "--add", "paid", "--add", "to ship", "--json"), &l)
	if len(l.Labels) != 2 || l.Labels[0] != "paid" {
		t.Fatalf("label: %+v", l)
	}
	var convs []struct {
		Conv   string   `json:"conv"`
		Labels []string `json:"labels"`
	}
	mustJSON(t, n.run("convs", "--data-dir", d, "--user", "seller", "--label", "paid", "--json"), &convs)
	if len(convs) != 1 || convs[0].Conv != "d:ann:seller" || len(convs[0].Labels) != 2 {
		t.Fatalf("convs --label paid: %+v, want ann's chat alone", convs)
	}
}

// switchboard snooze against a dev node: the chat moves to the archived
// list until its end.
func TestSnoozeCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "buyer", "--to", "user:seller", "--text", "ship on monday?")
	var s struct {
		Archived bool   `json:"archived"`
		Until    string `json:"until"`
	}
	mustJSON(t, n.run("snooze", "--data-dir", d, "--user", "seller", "--conv", "d:buyer:seller", "--for", "1h", "--json"), &s)
	if !s.Archived || s.Until == "" {
		t.Fatalf("snooze: %+v", s)
	}
	var archived []struct {
		Conv            string `json:"conv"`
		ArchivedUntilMs int64  `json:"archived_until_ms"`
	}
	mustJSON(t, n.run("convs", "--data-dir", d, "--user", "seller", "--archived", "--json"), &archived)
	if len(archived) != 1 || archived[0].Conv != "d:buyer:seller" || archived[0].ArchivedUntilMs == 0 {
		t.Fatalf("convs --archived: %+v, want the snoozed chat with its end", archived)
	}
}
