package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// switchboard mute against a dev node: the answer is the new total unread,
// convs shows the conversation muted, --off undoes it.
func TestMuteCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "one")
	n.run("send", "--data-dir", d, "--user", "carol", "--to", "user:bob", "--text", "two")
	var muted struct {
		Muted       bool   `json:"muted"`
		TotalUnread uint64 `json:"total_unread"`
	}
	mustJSON(t, n.run("mute", "--data-dir", d, "--user", "bob", "--conv", "d:alice:bob", "--json"), &muted)
	if !muted.Muted || muted.TotalUnread != 1 {
		t.Fatalf("mute: %+v, want muted with 1 unread in all", muted)
	}
	var convs []struct {
		Conv   string `json:"conv"`
		Muted  bool   `json:"muted"`
		Unread uint64 `json:"unread"`
	}
	mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json"), &convs)
	for _, c := range convs {
		if (c.Conv == "d:alice:bob") != c.Muted || c.Unread != 1 {
			t.Fatalf("convs: %+v, want only d:alice:bob muted, each with 1 unread", convs)
		}
	}
	mustJSON(t, n.run("mute", "--data-dir", d, "--user", "bob", "--conv", "d:alice:bob", "--off", "--json"), &muted)
	if muted.Muted || muted.TotalUnread != 2 {
		t.Fatalf("unmute: %+v, want 2 unread in all", muted)
	}
	// For a while: convs says until when.
	if out := n.run("mute", "--data-dir", d, "--user", "bob", "--conv", "d:bob:carol", "--for", "8h"); !strings.Contains(string(out), "muted until") {
		t.Fatalf("mute --for:\n%s", out)
	}
	if out := n.run("convs", "--data-dir", d, "--user", "bob"); !strings.Contains(string(out), "d:bob:carol (1) (muted until ") {
		t.Fatalf("convs after mute --for:\n%s", out)
	}
}

// switchboard away against a dev node: bob sets an away message, carol's
// next message is answered with it, and --clear takes it away.
func TestAwayCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	if out := n.run("away", "--data-dir", d, "--user", "bob", "--text", "Back on Monday", "--for", "72h"); !strings.Contains(string(out), `away: "Back on Monday" until `) {
		t.Fatalf("away --text:\n%s", out)
	}
	n.run("send", "--data-dir", d, "--user", "carol", "--to", "user:bob", "--text", "hello?")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(n.run("history", "--data-dir", d, "--user", "carol", "--conv", "d:bob:carol")), "bob: (automatic reply) Back on Monday") {
		if time.Now().After(deadline) {
			t.Fatal("no automatic reply in carol's history")
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.run("away", "--data-dir", d, "--user", "bob", "--clear")
	if out := n.run("away", "--data-dir", d, "--user", "bob"); !strings.Contains(string(out), "no away message") {
		t.Fatalf("away after --clear:\n%s", out)
	}
}

// switchboard archive against a dev node: convs leaves the conversation
// out, convs --archived lists it, and the other side's next message
// brings it back.
func TestArchiveCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "one")
	var archived struct {
		Conv     string `json:"conv"`
		Archived bool   `json:"archived"`
	}
	mustJSON(t, n.run("archive", "--data-dir", d, "--user", "bob", "--conv", "d:alice:bob", "--json"), &archived)
	if !archived.Archived || archived.Conv != "d:alice:bob" {
		t.Fatalf("archive: %+v", archived)
	}
	type summary struct {
		Conv     string `json:"conv"`
		Archived bool   `json:"archived"`
	}
	lists := func() (main, archived []summary) {
		mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json"), &main)
		mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--archived", "--json"), &archived)
		return main, archived
	}
	if main, arch := lists(); len(main) != 0 || len(arch) != 1 || !arch[0].Archived {
		t.Fatalf("after archive: convs %+v, convs --archived %+v", main, arch)
	}
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "two")
	deadline := time.Now().Add(10 * time.Second)
	for {
		main, arch := lists()
		if len(main) == 1 && !main[0].Archived && len(arch) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after alice's next message: convs %+v, convs --archived %+v; want it back in the main list", main, arch)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// switchboard mark-unread against a dev node: convs shows the mark, and
// read takes it away; read --all reads every conversation.
func TestMarkUnreadCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "one")
	var marked struct {
		Conv         string `json:"conv"`
		MarkedUnread bool   `json:"marked_unread"`
	}
	mustJSON(t, n.run("mark-unread", "--data-dir", d, "--user", "bob", "--conv", "d:alice:bob", "--json"), &marked)
	if !marked.MarkedUnread || marked.Conv != "d:alice:bob" {
		t.Fatalf("mark-unread: %+v", marked)
	}
	var convs []struct {
		Conv         string `json:"conv"`
		MarkedUnread bool   `json:"marked_unread"`
	}
	mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json"), &convs)
	if len(convs) != 1 || !convs[0].MarkedUnread {
		t.Fatalf("convs after mark-unread: %+v", convs)
	}
	if out := n.run("convs", "--data-dir", d, "--user", "bob"); !strings.Contains(string(out), "(marked unread)") {
		t.Fatalf("convs shows no mark:\n%s", out)
	}
	n.run("read", "--data-dir", d, "--user", "bob", "--conv", "d:alice:bob")
	convs = nil // the mark is omitted when false: decode into fresh elements
	mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json"), &convs)
	if len(convs) != 1 || convs[0].MarkedUnread {
		t.Fatalf("convs after read: %+v", convs)
	}
	// Mark all as read: both conversations with news, at once.
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "two")
	n.run("send", "--data-dir", d, "--user", "carol", "--to", "user:bob", "--text", "three")
	eventually(t, "both messages reach bob's list", func() bool { // a moment after their acks
		var list []struct {
			Unread uint64 `json:"unread"`
		}
		mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json"), &list)
		return len(list) == 2 && list[0].Unread > 0 && list[1].Unread > 0
	})
	var all struct {
		Conversations int    `json:"conversations"`
		TotalUnread   uint64 `json:"total_unread"`
	}
	mustJSON(t, n.run("read", "--data-dir", d, "--user", "bob", "--all", "--json"), &all)
	if all.Conversations != 2 || all.TotalUnread != 0 {
		t.Fatalf("read --all: %+v; want 2 conversations read, nothing unread", all)
	}
}

// switchboard block against a dev node: the blocked user's send fails and
// names the block; --off lets it through again.
func TestBlockCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "one")
	var blocked struct {
		Target  string `json:"target"`
		Blocked bool   `json:"blocked"`
	}
	mustJSON(t, n.run("block", "--data-dir", d, "--user", "bob", "--target", "alice", "--json"), &blocked)
	if !blocked.Blocked || blocked.Target != "alice" {
		t.Fatalf("block: %+v", blocked)
	}
	var list struct{ Blocked []string }
	mustJSON(t, n.run("block", "--data-dir", d, "--user", "bob", "--list", "--json"), &list)
	if len(list.Blocked) != 1 || list.Blocked[0] != "alice" {
		t.Fatalf("block --list: %+v", list)
	}
	out, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "two").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "blocked") {
		t.Fatalf("send by the blocked user: %v\n%s\nwant a failure that names the block", err, out)
	}
	mustJSON(t, n.run("block", "--data-dir", d, "--user", "bob", "--target", "alice", "--off", "--json"), &blocked)
	if blocked.Blocked {
		t.Fatalf("unblock: %+v", blocked)
	}
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "three")
}
