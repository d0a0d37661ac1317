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
