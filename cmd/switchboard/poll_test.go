package main

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// switchboard poll against a dev node: a poll, votes (a change replacing
// the vote before), the results by option with their voters, the history
// showing the poll with its counts, a member's close refused, the
// author's accepted, and a vote after it refused POLL_CLOSED.
func TestPollCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("group", "create", "--data-dir", d, "--user", "teacher", "--id", "g:class", "--members", "ann,ben")
	var p struct {
		Seq  uint64 `json:"seq"`
		Kind string `json:"kind"`
	}
	mustJSON(t, n.run("poll", "create", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--question", "Trip on Friday?",
		"--option", "yes", "--option", "no", "--json"), &p)
	if p.Seq == 0 || p.Kind != "poll" {
		t.Fatalf("the poll: %+v", p)
	}
	seq := strconv.FormatUint(p.Seq, 10)
	var timed struct {
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, n.run("poll", "create", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--question", "Lunch?",
		"--option", "yes", "--option", "no", "--closes-in", "2h", "--json"), &timed)
	if out := string(n.run("poll", "results", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", strconv.FormatUint(timed.Seq, 10))); !strings.Contains(out, "Lunch? (open, closes ") {
		t.Fatalf("a timed poll's results:\n%s", out)
	}
	n.run("poll", "vote", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seq, "--option", "1")
	n.run("poll", "vote", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", seq, "--option", "1")
	n.run("poll", "vote", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", seq, "--option", "0")
	var r struct {
		Voters  uint32 `json:"voters"`
		Closed  bool   `json:"closed"`
		Options []struct {
			Text   string   `json:"text"`
			Votes  uint32   `json:"votes"`
			Voters []string `json:"voters"`
		} `json:"options"`
	}
	mustJSON(t, n.run("poll", "results", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--seq", seq, "--json"), &r)
	if r.Voters != 2 || r.Closed || len(r.Options) != 2 || r.Options[0].Votes != 1 || r.Options[0].Voters[0] != "ann" || r.Options[1].Voters[0] != "ben" {
		t.Fatalf("results: %+v", r)
	}
	if out := string(n.run("poll", "results", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", seq)); !strings.Contains(out, "Trip on Friday? (open, 2 voters)") ||
		!strings.Contains(out, "ann") {
		t.Fatalf("results as text:\n%s", out)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "ann", "--conv", "g:class")); !strings.Contains(out, "📊 Trip on Friday? [0] yes [1] no") ||
		!strings.Contains(out, "ann voted [0] on #"+seq) {
		t.Fatalf("the history:\n%s", out)
	}
	out, err := exec.Command(n.bin, "poll", "close", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", seq).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FORBIDDEN") {
		t.Fatalf("a member closes the teacher's poll: %v\n%s", err, out)
	}
	n.run("poll", "close", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--seq", seq)
	out, err = exec.Command(n.bin, "poll", "vote", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", seq, "--none").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "POLL_CLOSED") {
		t.Fatalf("a vote after the close: %v\n%s", err, out)
	}
	if out, err := exec.Command(n.bin, "poll", "vote", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", seq).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "--none") {
		t.Fatalf("a vote naming nothing: %v\n%s", err, out)
	}

	// The same from the interactive chat: a poll, then a vote on it.
	chat := exec.Command(n.bin, "chat", "--data-dir", d, "--user", "ann", "--conv", "g:class")
	chat.Stdin = strings.NewReader("/poll Lunch? | pizza | soup\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || strings.Contains(string(out), "! poll") {
		t.Fatalf("chat /poll: %v\n%s", err, out)
	}
	var hist []struct {
		Seq  uint64 `json:"seq"`
		Kind string `json:"kind"`
	}
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--json"), &hist)
	lunch := hist[len(hist)-1]
	if lunch.Kind != "poll" {
		t.Fatalf("the chat's poll: %+v", lunch)
	}
	chat = exec.Command(n.bin, "chat", "--data-dir", d, "--user", "ben", "--conv", "g:class")
	chat.Stdin = strings.NewReader(fmt.Sprintf("/vote %d 1\n/quit\n", lunch.Seq))
	if out, err := chat.CombinedOutput(); err != nil || strings.Contains(string(out), "! vote") {
		t.Fatalf("chat /vote: %v\n%s", err, out)
	}
	mustJSON(t, n.run("poll", "results", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", strconv.FormatUint(lunch.Seq, 10), "--json"), &r)
	if r.Voters != 1 || r.Options[1].Text != "soup" || r.Options[1].Votes != 1 {
		t.Fatalf("the chat poll's results: %+v", r)
	}

	// A quiz: ben learns the answer once he answered, not before.
	var quiz struct {
		Seq  uint64 `json:"seq"`
		Text string `json:"text"`
	}
	mustJSON(t, n.run("poll", "create", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--question", "2+2?",
		"--option", "3", "--option", "4", "--correct", "1", "--explain", "two pairs", "--json"), &quiz)
	qs := strconv.FormatUint(quiz.Seq, 10)
	if strings.Contains(quiz.Text, "correct") || strings.Contains(quiz.Text, "two pairs") {
		t.Fatalf("the quiz as stored holds its answer: %+v", quiz)
	}
	if out := string(n.run("poll", "results", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", qs)); !strings.Contains(out, "(quiz, open, 0 voters)") ||
		strings.Contains(out, "✓") || strings.Contains(out, "two pairs") {
		t.Fatalf("the quiz before ben answered:\n%s", out)
	}
	n.run("poll", "vote", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", qs, "--option", "0")
	if out := string(n.run("poll", "results", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", qs)); !strings.Contains(out, "✓ [1] 4") ||
		!strings.Contains(out, "two pairs") {
		t.Fatalf("the quiz after ben answered:\n%s", out)
	}
	if out, err := exec.Command(n.bin, "poll", "vote", "--data-dir", d, "--user", "ben", "--conv", "g:class", "--seq", qs, "--option", "1").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "answered the quiz") {
		t.Fatalf("ben answers again: %v\n%s", err, out)
	}

	// An anonymous poll: counted, nobody named, the history shows an alias.
	var anon struct {
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, n.run("poll", "create", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--question", "The pace?",
		"--option", "fine", "--option", "too fast", "--anonymous", "--json"), &anon)
	as := strconv.FormatUint(anon.Seq, 10)
	n.run("poll", "vote", "--data-dir", d, "--user", "ann", "--conv", "g:class", "--seq", as, "--option", "1")
	if out := string(n.run("poll", "results", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--seq", as)); !strings.Contains(out, "The pace? (anonymous, open, 1 voters)") ||
		strings.Contains(out, "ann") {
		t.Fatalf("the anonymous poll's results:\n%s", out)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "ben", "--conv", "g:class")); strings.Contains(out, "ann voted [1] on #"+as) || !strings.Contains(out, " voted [1] on #"+as) {
		t.Fatalf("the history names the anonymous voter:\n%s", out)
	}
}
