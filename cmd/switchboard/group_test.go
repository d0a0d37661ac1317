package main

import (
	"bytes"
	"image"
	pngenc "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// switchboard group settings against a dev node: the owner lets only
// owners and admins post, a member reads that and is refused a message,
// --admins-only=false opens the group again.
func TestGroupSettingsCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("group", "create", "--data-dir", d, "--user", "teacher", "--id", "g:class", "--members", "pupil")
	var s struct {
		AdminsOnly     bool   `json:"admins_only"`
		PrejoinHistory uint32 `json:"prejoin_history"`
		MemberCount    int    `json:"member_count"`
		Managers       []struct {
			User string `json:"user"`
			Role string `json:"role"`
		} `json:"managers"`
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--admins-only", "--prejoin-history", "20", "--json"), &s)
	if !s.AdminsOnly || s.PrejoinHistory != 20 || s.Seq == 0 || s.MemberCount != 2 || len(s.Managers) != 1 || s.Managers[0].User != "teacher" || s.Managers[0].Role != "owner" {
		t.Fatalf("settings: %+v", s)
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "pupil", "--conv", "g:class", "--json"), &s)
	if !s.AdminsOnly || s.Seq != 0 {
		t.Fatalf("read by a member: %+v", s)
	}
	out, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "pupil", "--conv", "g:class", "--text", "may I?").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "only owners and admins") {
		t.Fatalf("a member's message: %v\n%s\nwant a refusal that says who posts", err, out)
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--admins-only=false", "--json"), &s)
	if s.AdminsOnly {
		t.Fatalf("opened: %+v", s)
	}
	var sent struct {
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "pupil", "--conv", "g:class", "--text", "thanks", "--json"), &sent)
	// Pin the pupil's message for the class, then take it off.
	last := sent.Seq
	var p struct {
		PinnedSeqs []uint64 `json:"pinned_seqs"`
		Seq        uint64   `json:"seq"`
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--pin", strconv.FormatUint(last, 10), "--json"), &p)
	if len(p.PinnedSeqs) != 1 || p.PinnedSeqs[0] != last || p.Seq == 0 {
		t.Fatalf("pin %d: %+v", last, p)
	}
	p.PinnedSeqs = nil
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--unpin", strconv.FormatUint(last, 10), "--json"), &p)
	if len(p.PinnedSeqs) != 0 || p.Seq == 0 {
		t.Fatalf("unpin %d: %+v", last, p)
	}

	// Slow mode: a member's second message within the minute is refused,
	// and the refusal says when to post again.
	var slow struct {
		SlowModeMs int64 `json:"slow_mode_ms"`
		Seq        uint64
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--slow-mode", "1m", "--json"), &slow)
	if slow.SlowModeMs != 60000 || slow.Seq == 0 {
		t.Fatalf("slow mode: %+v", slow)
	}
	if read := n.run("group", "settings", "--data-dir", d, "--user", "pupil", "--conv", "g:class"); !strings.Contains(string(read), "once every 1m0s") {
		t.Fatalf("settings read by a member: %s", read)
	}
	n.run("send", "--data-dir", d, "--user", "pupil", "--conv", "g:class", "--text", "one question")
	out, err = exec.Command(n.bin, "send", "--data-dir", d, "--user", "pupil", "--conv", "g:class", "--text", "and another").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SLOW_MODE") || !strings.Contains(string(out), "post again in") {
		t.Fatalf("a member's second message: %v\n%s\nwant a slow-mode refusal that says when to post again", err, out)
	}

	// A name and a description: the member's list shows the name.
	var named struct{ Title, Description string }
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--title", "7B Biology", "--description", "Homework", "--json"), &named)
	if named.Title != "7B Biology" || named.Description != "Homework" {
		t.Fatalf("named: %+v", named)
	}
	if list := n.run("convs", "--data-dir", d, "--user", "pupil"); !strings.Contains(string(list), `g:class "7B Biology"`) {
		t.Fatalf("the member's list: %s", list)
	}

	// A picture for the class: a member saves it; then it is taken away.
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	var png bytes.Buffer
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	picPath := filepath.Join(t.TempDir(), "class.png")
	if err := os.WriteFile(picPath, png.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var pic struct {
		Picture string `json:"picture"`
		Seq     uint64 `json:"seq"`
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--picture", picPath, "--json"), &pic)
	if pic.Picture == "" || pic.Seq == 0 {
		t.Fatalf("the picture set: %+v", pic)
	}
	saved := filepath.Join(t.TempDir(), "saved.png")
	if out := string(n.run("group", "settings", "--data-dir", d, "--user", "pupil", "--conv", "g:class", "--save-picture", saved)); !strings.Contains(out, "picture: class.png (image/png") {
		t.Fatalf("the settings with a picture: %s", out)
	}
	if got, err := os.ReadFile(saved); err != nil || !bytes.Equal(got, png.Bytes()) {
		t.Fatalf("the saved picture: %d bytes, %v; want the %d set", len(got), err, png.Len())
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--picture", "", "--json"), &pic)
	if pic.Picture != "" {
		t.Fatalf("the picture taken away: %+v", pic)
	}

	// A group of a term, ended: the member's list shows it left.
	n.run("group", "create", "--data-dir", d, "--user", "teacher", "--id", "g:term", "--members", "pupil")
	if out := n.run("group", "disband", "--data-dir", d, "--user", "teacher", "--conv", "g:term"); !strings.Contains(string(out), "g:term: done") {
		t.Fatalf("disband: %s", out)
	}
	eventually(t, "the member's list shows the group left", func() bool { // the notice follows the answer
		var left []struct {
			Conv   string `json:"conv"`
			Member bool   `json:"member"`
		}
		mustJSON(t, n.run("convs", "--data-dir", d, "--user", "pupil", "--json"), &left)
		for _, c := range left {
			if c.Conv == "g:term" {
				return !c.Member
			}
		}
		return false
	})

	// A class code: created, used, listed, revoked.
	var inv struct {
		Code string `json:"code"`
		ID   string `json:"id"`
	}
	mustJSON(t, n.run("group", "invite", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--ttl", "72h", "--max-uses", "30", "--json"), &inv)
	var joined struct {
		Conv    string `json:"conv"`
		Already bool   `json:"already"`
	}
	mustJSON(t, n.run("group", "join", "--data-dir", d, "--user", "pupil7", "--code", inv.Code, "--json"), &joined)
	if joined.Conv != "g:class" || joined.Already {
		t.Fatalf("join: %+v", joined)
	}
	if list := n.run("group", "invite", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--list"); !strings.Contains(string(list), inv.ID) || !strings.Contains(string(list), "1 of 30") {
		t.Fatalf("the list:\n%s", list)
	}
	n.run("group", "invite", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--revoke", inv.ID)
	out, err = exec.Command(n.bin, "group", "join", "--data-dir", d, "--user", "pupil8", "--code", inv.Code).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "NOT_FOUND") {
		t.Fatalf("a revoked code: %v\n%s", err, out)
	}

	// A code that needs approval: pupil8 asks, the teacher lists the
	// request and approves it.
	mustJSON(t, n.run("group", "invite", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--approval", "--json"), &inv)
	if list := n.run("group", "invite", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--list"); !strings.Contains(string(list), "approval") {
		t.Fatalf("the list names the approval invite:\n%s", list)
	}
	if out := n.run("group", "join", "--data-dir", d, "--user", "pupil8", "--code", inv.Code, "--note", "new in year 7"); !strings.Contains(string(out), "waiting") {
		t.Fatalf("asking to join:\n%s", out)
	}
	if out := n.run("group", "requests", "--data-dir", d, "--user", "teacher", "--conv", "g:class"); !strings.Contains(string(out), "pupil8") || !strings.Contains(string(out), "new in year 7") {
		t.Fatalf("the requests:\n%s", out)
	}
	n.run("group", "approve", "--data-dir", d, "--user", "teacher", "--conv", "g:class", "--users", "pupil8")
	if out := n.run("group", "members", "--data-dir", d, "--user", "teacher", "--conv", "g:class"); !strings.Contains(string(out), "pupil8") {
		t.Fatalf("pupil8 is a member after the approval:\n%s", out)
	}
}
