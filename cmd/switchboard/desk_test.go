package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/cards"
)

// walkthrough returns the commands of docs/DESK.md's walkthrough, each
// with the output shown under it (a "# {…}" line), if any.
func walkthrough(t *testing.T) (cmds [][]string, want []string) {
	cmds, want, _ = walkthroughFiles(t)
	return cmds, want
}

// walkthroughFiles also returns the files the walkthrough writes with
// `cat > NAME <<'EOF'` … `EOF`, by name.
func walkthroughFiles(t *testing.T) (cmds [][]string, want []string, files map[string]string) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/DESK.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "<!-- walkthrough:begin -->")
	block, _, ok2 := strings.Cut(block, "<!-- walkthrough:end -->")
	if !ok || !ok2 {
		t.Fatal("docs/DESK.md has no walkthrough block")
	}
	files = map[string]string{}
	heredoc := ""
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if heredoc != "" {
			if line == "EOF" {
				heredoc = ""
			} else {
				files[heredoc] += line + "\n"
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "cat > ") && strings.HasSuffix(line, " <<'EOF'"):
			heredoc = strings.TrimSuffix(strings.TrimPrefix(line, "cat > "), " <<'EOF'")
			files[heredoc] = ""
		case strings.HasPrefix(line, "switchboard "):
			args, err := splitArgs(strings.TrimPrefix(line, "switchboard "))
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			cmds = append(cmds, args)
			want = append(want, "")
		case strings.HasPrefix(line, "# {") && len(want) > 0:
			want[len(want)-1] = strings.TrimPrefix(line, "# ")
		}
	}
	return cmds, want, files
}

// splitArgs splits a command line on spaces, keeping "double quoted" words.
func splitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unbalanced quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// walkthroughTimes are the times in the walkthrough's outputs that the
// node sets, shown as "…" on the page.
var walkthroughTimes = regexp.MustCompile(`"(status_since_ms)":\d+`)

// TestDeskWalkthrough runs docs/DESK.md's walkthrough against a dev node:
// every command succeeds and prints what the page shows. Assignment is
// asynchronous, so a command is retried for a few seconds, as a reader
// would run it again.
func TestDeskWalkthrough(t *testing.T) {
	cmds, want, files := walkthroughFiles(t)
	if len(cmds) < 10 || files["card.json"] == "" {
		t.Fatalf("walkthrough has %d commands, files %v", len(cmds), files)
	}
	// The business's card webhook: checks the node's signature, answers
	// signed (as examples/cardhook does).
	secret := []byte("walkthrough-secret-0123")
	var clicks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !cards.Verify(secret, body, r.Header.Get(cards.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req cards.Request
		_ = json.Unmarshal(body, &req)
		clicks.Add(1)
		out, _ := json.Marshal(cards.Answer{Mode: "update", Card: json.RawMessage(`{"title":"Booked: ` + req.Action + ` by ` + req.User + `"}`)})
		w.Header().Set(cards.SignatureHeader, cards.Sign(secret, out))
		_, _ = w.Write(out)
	}))
	defer hook.Close()
	t.Setenv("SWITCHBOARD_CARD_WEBHOOK_SECRET", string(secret))
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n := newDevNode(t)
	n.extra = []string{"--metrics-zone", "Asia/Shanghai", "--metrics-windows", "1m,1h,24h", "--card-webhook-url", hook.URL}
	n.start()
	for i, args := range cmds {
		for j := range args {
			args[j] = strings.ReplaceAll(args[j], "./data", n.dir)
			if _, ok := files[args[j]]; ok {
				args[j] = filepath.Join(dir, args[j])
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			cmd := exec.Command(n.bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			// A time the node sets (when the status was set) is shown as
			// "…" on the page.
			got := walkthroughTimes.ReplaceAllString(strings.TrimSpace(string(out)), `"$1":…`)
			if err == nil && (want[i] == "" || got == want[i]) {
				t.Logf("switchboard %s\n%s", strings.Join(args, " "), got)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("switchboard %s: %v\n%s\ngot  %s\nwant %s", strings.Join(args, " "), err, stderr.String(), got, want[i])
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The end state: closed, the note hidden from the customer, every step
	// in the log.
	out := string(n.run("desk", "session", "--data-dir", n.dir, "--user", "c1", "--conv", "s:cars:c1:1"))
	if !strings.Contains(out, "closed") || strings.Contains(out, "Friday") || strings.Contains(out, "test-drive") || !strings.Contains(out, "rated 5 by the customer") {
		t.Fatalf("customer's view of the session: %s", out)
	}
	if out := string(n.run("desk", "session", "--data-dir", n.dir, "--user", "a2", "--conv", "s:cars:c1:1")); !strings.Contains(out, "tags: test-drive, sales") {
		t.Fatalf("the agent's view of the session: %s", out)
	}
	hist := string(n.run("history", "--data-dir", n.dir, "--user", "c1", "--conv", "s:cars:c1:1", "--json"))
	for _, step := range []string{"start", "handover", "queued", "assigned", "transfer", "close", "rating"} {
		if !strings.Contains(hist, `\"desk\":\"`+step+`\"`) {
			t.Errorf("no %s step in the history: %s", step, hist)
		}
	}
	if strings.Contains(hist, "test drive") {
		t.Errorf("the internal note is in the history")
	}
	// The click reached the webhook once and its answer replaced the card.
	if clicks.Load() != 1 || !strings.Contains(hist, "Booked: book by c1") {
		t.Errorf("card click: %d webhook calls, the answer in the history: %v\n%s", clicks.Load(), strings.Contains(hist, "Booked: book by c1"), hist)
	}
	// The merged visitor's conversation is c1's, its question included.
	merged := string(n.run("history", "--data-dir", n.dir, "--user", "c1", "--conv", "s:cars:v-7f3a:1", "--json"))
	if !strings.Contains(merged, "estate cars") || !strings.Contains(merged, `\"op\":\"merge\"`) {
		t.Errorf("c1 does not see the merged conversation: %s", merged)
	}
	// c1's next entry through the line reaches it (its session is open
	// with the robot).
	var again struct {
		Conv string `json:"conv"`
	}
	mustJSON(t, n.run("desk", "enter", "--data-dir", n.dir, "--user", "c1", "--scene", "listing/123", "--json"), &again)
	if again.Conv != "s:cars:v-7f3a:1" {
		t.Errorf("c1's entry after the merge went to %q, want the merged s:cars:v-7f3a:1", again.Conv)
	}

	// An agent's chat lists the line's saved replies.
	chat := exec.Command(n.bin, "chat", "--data-dir", n.dir, "--user", "a1", "--conv", "s:cars:c1:1")
	chat.Stdin = strings.NewReader("/saved\n/saved nosuch\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "viewing") || !strings.Contains(string(out), `has no saved reply "nosuch"`) {
		t.Errorf("chat /saved: %v\n%s", err, out)
	}

	// The scene's business line has its rows, in Shanghai days, and the
	// streaming numbers equal the recomputation.
	streaming := n.run("metrics", "--data-dir", n.dir, "--window", "24h", "--line", "cars", "--json")
	batch := n.run("metrics", "recompute", "--data-dir", n.dir, "--window", "24h", "--line", "cars", "--json")
	if !bytes.Equal(streaming, batch) {
		t.Fatalf("line cars: streaming and recompute differ:\n%s\n%s", streaming, batch)
	}
	var rep struct {
		Rows []struct {
			Key         string    `json:"key"`
			WindowStart time.Time `json:"window_start"`
			Questions   int       `json:"questions"`
			Ratings     int       `json:"ratings"`
			CSATRate    float64   `json:"csat_rate"`
		} `json:"rows"`
	}
	mustJSON(t, streaming, &rep)
	questions, ratings := 0, 0
	for _, r := range rep.Rows {
		ratings += r.Ratings
		if r.Ratings > 0 && r.CSATRate != 1 {
			t.Errorf("row %+v: one rating of 5, want csat_rate 1", r)
		}
		if r.Key != "line:cars" || r.WindowStart.UTC().Hour() != 16 || r.WindowStart.Minute() != 0 {
			t.Errorf("row %+v: want key line:cars starting at Shanghai midnight (16:00 UTC)", r)
		}
		questions += r.Questions
	}
	if ratings != 1 {
		t.Errorf("line cars has %d ratings, want the customer's one: %s", ratings, streaming)
	}
	if questions != 1 {
		t.Errorf("line cars answered %d questions, want 1 (the customer's, answered by a1): %s", questions, streaming)
	}
	if err := exec.Command(n.bin, "metrics", "--data-dir", n.dir, "--line", "cars", "--key", "a1").Run(); err == nil {
		t.Error("--line with --key was accepted")
	}
}

// TestDueText: `desk queue` shows a waiting session's due time, "-"
// without one, and how long it is overdue once past it.
func TestDueText(t *testing.T) {
	due := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		dueMs int64
		now   time.Time
		want  string
	}{
		{0, due, "-"},
		{due.UnixMilli(), due.Add(-time.Minute), "2026-12-04T15:00:00Z"},
		{due.UnixMilli(), due, "2026-12-04T15:00:00Z"},
		{due.UnixMilli(), due.Add(90 * time.Second), "2026-12-04T15:00:00Z (overdue 1m30s)"},
	} {
		if got := dueText(c.dueMs, c.now); got != c.want {
			t.Errorf("dueText(%d, %v) = %q, want %q", c.dueMs, c.now, got, c.want)
		}
	}
}
