package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// TestModerateCommand: the operator suspends a user from the CLI; the
// user's client commands are refused with the reason, "moderate user"
// reports it, bad terms are refused, the operator recalls the user's
// message, and unsuspend lets the user back.
func TestModerateCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "mallory", "--to", "user:bob", "--text", "cheap watches")

	var st admin.UserStatus
	mustJSON(t, n.run("moderate", "suspend", "--data-dir", d, "--user", "mallory", "--reason", "counterfeit goods", "--for", "72h", "--json"), &st)
	if !st.Suspended || st.Reason != "counterfeit goods" || time.Until(st.Until) < 71*time.Hour || time.Until(st.Until) > 72*time.Hour {
		t.Fatalf("suspend: %+v", st)
	}
	out, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "mallory", "--to", "user:bob", "--text", "hello?").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SUSPENDED") || !strings.Contains(string(out), "counterfeit goods") {
		t.Fatalf("send by the suspended user: %v\n%s\nwant SUSPENDED with the reason", err, out)
	}
	if out := string(n.run("moderate", "user", "--data-dir", d, "--user", "mallory")); !strings.Contains(out, "suspended since") || !strings.Contains(out, "counterfeit goods") {
		t.Fatalf("show:\n%s", out)
	}
	for _, args := range [][]string{
		{"--for", "-1h"},
		{"--reason", strings.Repeat("r", 501)},
	} {
		cmd := append([]string{"moderate", "suspend", "--data-dir", d, "--user", "mallory"}, args...)
		if out, err := exec.Command(n.bin, cmd...).CombinedOutput(); err == nil {
			t.Fatalf("%v: accepted\n%s", args, out)
		}
	}
	n.run("send", "--data-dir", d, "--user", "bob", "--to", "user:mallory", "--text", "reported")
	var filed struct {
		ReportID string `json:"report_id"`
	}
	mustJSON(t, n.run("report", "--data-dir", d, "--user", "bob", "--conv", "d:bob:mallory", "--seq", "1", "--reason", "fake brand", "--json"), &filed)
	var open admin.Reports
	mustJSON(t, n.run("moderate", "reports", "--data-dir", d, "--json"), &open)
	if open.Total != 1 || open.Reports[0].ID != filed.ReportID || open.Reports[0].Body != "cheap watches" || open.Reports[0].Reason != "fake brand" {
		t.Fatalf("reports: %+v", open)
	}
	if out := string(n.run("moderate", "context", "--data-dir", d, "--report", filed.ReportID)); !strings.Contains(out, "> #1 ") || !strings.Contains(out, "cheap watches") || !strings.Contains(out, "#2 ") {
		t.Fatalf("context:\n%s", out)
	}
	if out := string(n.run("moderate", "resolve", "--data-dir", d, "--report", filed.ReportID, "--resolution", "suspended")); !strings.Contains(out, "resolved "+filed.ReportID) {
		t.Fatalf("resolve:\n%s", out)
	}
	mustJSON(t, n.run("moderate", "reports", "--data-dir", d, "--json"), &open)
	if open.Total != 0 {
		t.Fatalf("reports after the resolve: %+v", open)
	}
	// The same from the interactive chat: reported, then reported already.
	chat := exec.Command(n.bin, "chat", "--data-dir", d, "--user", "bob", "--with", "mallory")
	chat.Stdin = strings.NewReader("/report 1 counterfeit\n/report 1 again\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "#1 reported to the moderators") || !strings.Contains(string(out), "#1 was reported already") {
		t.Fatalf("chat /report: %v\n%s", err, out)
	}
	var recalled struct {
		RecallSeq uint64 `json:"recall_seq"`
	}
	mustJSON(t, n.run("moderate", "recall", "--data-dir", d, "--conv", "d:bob:mallory", "--seq", "1", "--json"), &recalled)
	if recalled.RecallSeq == 0 {
		t.Fatal("recall answered no event seq")
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "bob", "--conv", "d:bob:mallory")); strings.Contains(out, "cheap watches") {
		t.Fatalf("the recalled message is still in bob's history:\n%s", out)
	}

	mustJSON(t, n.run("moderate", "unsuspend", "--data-dir", d, "--user", "mallory", "--json"), &st)
	if st.Suspended {
		t.Fatalf("unsuspend: %+v", st)
	}
	n.run("send", "--data-dir", d, "--user", "mallory", "--to", "user:bob", "--text", "sorry")
	if out := string(n.run("moderate", "user", "--data-dir", d, "--user", "mallory")); !strings.Contains(out, "not suspended") {
		t.Fatalf("show after the lift:\n%s", out)
	}
}

// TestModerateErase: "moderate messages" lists what a user sent;
// "moderate erase" asks for --yes, then recalls it (others' messages stay)
// and keeps the user out.
func TestModerateErase(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("send", "--data-dir", d, "--user", "eve", "--to", "user:bob", "--text", "my number is 555-0100")
	n.run("send", "--data-dir", d, "--user", "bob", "--to", "user:eve", "--text", "noted")
	if out, err := exec.Command(n.bin, "moderate", "erase", "--data-dir", d, "--user", "eve").CombinedOutput(); err == nil || !strings.Contains(string(out), "--yes") {
		t.Fatalf("erase without --yes: %v\n%s", err, out)
	}
	if out := string(n.run("moderate", "messages", "--data-dir", d, "--user", "eve")); !strings.HasPrefix(out, "d:bob:eve #1 ") || !strings.HasSuffix(out, " my number is 555-0100\n") {
		t.Fatalf("eve's messages:\n%s", out)
	}
	var res admin.Erasure
	mustJSON(t, n.run("moderate", "erase", "--data-dir", d, "--user", "eve", "--yes", "--json"), &res)
	if !res.Done || res.Recalled != 1 || res.Conversations != 1 {
		t.Fatalf("erase: %+v", res)
	}
	out := string(n.run("history", "--data-dir", d, "--user", "bob", "--conv", "d:bob:eve"))
	if strings.Contains(out, "555-0100") || !strings.Contains(out, "noted") {
		t.Fatalf("bob's history after eve's erasure:\n%s", out)
	}
	if out, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "eve", "--to", "user:bob", "--text", "back?").CombinedOutput(); err == nil || !strings.Contains(string(out), "account erased") {
		t.Fatalf("send by the erased user: %v\n%s", err, out)
	}
	if out := string(n.run("moderate", "erase", "--data-dir", d, "--user", "eve", "--yes")); !strings.Contains(out, "eve erased: messages recalled 0, conversations read 1,") {
		t.Fatalf("erase again:\n%s", out)
	}
	var sent admin.SentMessage
	mustJSON(t, n.run("moderate", "messages", "--data-dir", d, "--user", "eve", "--json"), &sent)
	if sent.Conv != "d:bob:eve" || sent.Seq != 1 || !sent.Recalled || sent.Body != "" || sent.Kind != "text" {
		t.Fatalf("eve's messages after the erasure: %+v", sent)
	}
}
