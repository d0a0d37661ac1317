package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// switchboard star and starred against a dev node: two messages starred,
// listed newest first with their conversation (JSON too), one unstarred;
// a message of a conversation the user is not in refused NOT_MEMBER; the
// chat's /star and /starred, showing a sender by their profile's name,
// and /name; drafts kept and cleared. And --mention-all: the teacher's shown
// "(@all)", a pupil's refused FORBIDDEN.
func TestStarCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("group", "create", "--data-dir", d, "--user", "teacher", "--id", "g:class", "--members", "ann")
	var seqs []string
	for _, text := range []string{"homework: page 12", "trip on Friday", "bring lunch"} {
		var sent struct {
			Seq uint64 `json:"seq"`
		}
		mustJSON(t, n.run("send", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--text", text, "--json"), &sent)
		seqs = append(seqs, strconv.FormatUint(sent.Seq, 10))
	}
	n.run("star", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seqs[0])
	if out := string(n.run("star", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seqs[1])); !strings.Contains(out, "g:class #"+seqs[1]+" starred (2 starred)") {
		t.Fatalf("star: %s", out)
	}
	out := string(n.run("starred", "--data-dir", d, "--user", "ann"))
	if i, j := strings.Index(out, "trip on Friday"), strings.Index(out, "homework: page 12"); i < 0 || j < i || !strings.HasPrefix(out, "g:class #") {
		t.Fatalf("starred, newest first:\n%s", out)
	}
	n.run("star", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seqs[1], "--off")
	if out := string(n.run("star", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seqs[0], "--remind-in", "24h")); !strings.Contains(out, "a reminder at") {
		t.Fatalf("star with a reminder: %s", out)
	}
	var list []struct {
		Conv       string `json:"conv"`
		Text       string `json:"text"`
		RemindAtMs int64  `json:"remind_at_ms"`
	}
	mustJSON(t, n.run("starred", "--data-dir", d, "--user", "ann", "--json"), &list)
	if len(list) != 1 || list[0].Conv != "g:class" || list[0].Text != "homework: page 12" || time.Until(time.UnixMilli(list[0].RemindAtMs)) < 23*time.Hour {
		t.Fatalf("starred after the unstar, with a reminder in a day: %+v", list)
	}
	if out := string(n.run("starred", "--data-dir", d, "--user", "ann")); !strings.Contains(out, "(reminder at ") {
		t.Fatalf("starred with its reminder, printed:\n%s", out)
	}
	res, err := exec.Command(n.bin, "star", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seqs[0], "--remind-in", "-1h").CombinedOutput()
	if err == nil || !strings.Contains(string(res), "INVALID") {
		t.Fatalf("a reminder in the past: %v\n%s", err, res)
	}
	res, err = exec.Command(n.bin, "star", "--data-dir", d, "--user", "mallory", "--conv", "g:class", "--seq", seqs[0]).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "NOT_MEMBER") {
		t.Fatalf("a stranger stars: %v\n%s", err, res)
	}

	// The teacher mentions everyone; a pupil may not.
	n.run("send", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--mention-all", "--text", "@all no class tomorrow")
	if out := string(n.run("history", "--data-dir", d, "--user", "ann", "--conv", "g:class")); !strings.Contains(out, "teacher: (@all) @all no class tomorrow") {
		t.Fatalf("the mention of all, printed:\n%s", out)
	}
	res, err = exec.Command(n.bin, "send", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--mention-all", "--text", "@all hi").CombinedOutput()
	if err == nil || !strings.Contains(string(res), "FORBIDDEN") {
		t.Fatalf("a pupil mentions everyone: %v\n%s", err, res)
	}

	// A draft kept from the command line, listed, then cleared.
	n.run("drafts", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--text", "Dear teacher,")
	var drafts []struct {
		Conv string `json:"conv"`
		Text string `json:"text"`
	}
	mustJSON(t, n.run("drafts", "--data-dir", d, "--user", "ann", "--json"), &drafts)
	if len(drafts) != 1 || drafts[0].Conv != "g:class" || drafts[0].Text != "Dear teacher," {
		t.Fatalf("drafts: %+v", drafts)
	}
	if out := string(n.run("drafts", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--text", "")); out != "" {
		t.Fatalf("drafts after clearing the only one: %q", out)
	}

	// The chat shows the teacher by the name she set; ann names herself.
	n.run("profile", "--data-dir", d, "--user", "teacher", "--name", "Ms Jones")
	chat := exec.Command(n.bin, "chat", "--data-dir", d, "--user", "ann", "--conv", "g:class")
	chat.Stdin = strings.NewReader("/star " + seqs[2] + "\n/starred\n/name Ann Lee\n/quit\n")
	chatOut, err := chat.CombinedOutput()
	if err != nil || !strings.Contains(string(chatOut), "#"+seqs[2]+" starred (2 starred)") || !strings.Contains(string(chatOut), "Ms Jones (teacher): bring lunch") ||
		!strings.Contains(string(chatOut), `you show as "Ann Lee"`) {
		t.Fatalf("chat /star, /starred and /name: %v\n%s", err, chatOut)
	}
}
