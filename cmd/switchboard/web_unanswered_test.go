package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/internal/testenv"
)

// TestWorkbenchUnanswered: a line with its own answer timeout (5 s, the
// desk's an hour; set with the CLI) gives a session the agent leaves
// unanswered back to its queue; the workbench, open the
// whole time, shows until when the agent has to answer, then says why the
// session went and shows the agent away, as the desk now has it.
func TestWorkbenchUnanswered(t *testing.T) {
	if exportRace {
		t.Skip("runs in the normal pass only")
	}
	browser := testenv.Chromium(t)
	n := newDevNode(t)
	webAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	n.extra = []string{"--web", webAddr, "--webtransport", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "--desk-answer-timeout", "1h"}
	n.start()
	n.run("desk", "scene", "set", "--data-dir", n.dir, "--scene", "help", "--line", "care", "--route", "queue:care")
	// The answer timeout alone, then a first-response target beside it:
	// each flag changes its own target and keeps the other.
	if out := string(n.run("desk", "targets", "care", "--data-dir", n.dir, "--answer-timeout", "5s")); out != "care: no first-response target; a session unanswered for 5s goes back to its queue\n" {
		t.Fatalf("the line's targets:\n%s", out)
	}
	if out := string(n.run("desk", "targets", "care", "--data-dir", n.dir, "--first-response", "1m")); out != "care: first response within 1m0s; a session unanswered for 5s goes back to its queue\n" {
		t.Fatalf("the line's targets:\n%s", out)
	}
	// On another line: 0 removes a target; with none left the targets go.
	n.run("desk", "targets", "sales", "--data-dir", n.dir, "--first-response", "2m", "--answer-timeout", "1m")
	if out := string(n.run("desk", "targets", "sales", "--data-dir", n.dir, "--answer-timeout", "0")); out != "sales: first response within 2m0s\n" {
		t.Fatalf("sales without its answer timeout:\n%s", out)
	}
	if out := string(n.run("desk", "targets", "sales", "--data-dir", n.dir, "--first-response", "0")); !strings.HasPrefix(out, "sales: no targets") {
		t.Fatalf("sales without any target:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(headlessChromium(t, browser), time.Minute)
	defer cancel()
	until := func(what, expr string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if _, err := chromedp.Run(wctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, page)
		}
	}

	// The page registers a1 (a dev convenience) with the care skill of the
	// scene's queue, online.
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+webAddr+"/agent.html?user=a1&transport=websocket"),
		chromedp.SetValue("#presence", "online"), chromedp.SetValue("#skills", "care"), chromedp.Click("#connect")); err != nil {
		t.Fatalf("agent page: %v", err)
	}
	until("the agent signed in", `document.querySelector("#search-text").disabled === false`)
	var s desk.SessionInfo
	mustJSON(t, n.run("desk", "enter", "--data-dir", n.dir, "--user", "c1", "--scene", "help", "--json"), &s)
	until("the session at the agent", fmt.Sprintf(`!!document.querySelector('#convs li[data-conv=%q]')`, s.Conv))
	// Opened, it shows when it goes back unless a1 answers.
	until("open it", fmt.Sprintf(`(() => { const e = document.querySelector('#convs li[data-conv=%q]'); if (!e) return false; e.click(); return true })()`, s.Conv))
	until("the answer-by time", `document.querySelector("#answer-by").textContent.startsWith("answer by ")`)

	// a1 writes nothing: five seconds on, the session is gone back and the
	// page says why, with a1 away.
	until("the page telling why", fmt.Sprintf(`document.querySelector("#card-note").textContent.startsWith(%q)`, s.Conv+" went back to the queue: no answer from you within 5 s"))
	until("the status away", `document.querySelector("#presence").value === "away"`)
	until("the answer-by time gone with the session", `document.querySelector("#answer-by").textContent === ""`)
	if out := string(n.run("desk", "agent", "--data-dir", n.dir, "--user", "a1")); !strings.Contains(out, "a1 away") || !strings.Contains(out, ", set by desk") {
		t.Fatalf("a1 after the timeout:\n%s", out)
	}
	var again desk.SessionInfo
	mustJSON(t, n.run("desk", "session", "--data-dir", n.dir, "--conv", s.Conv, "--user", "c1", "--json"), &again)
	if again.State != desk.StateQueued || again.Agent != nil {
		t.Fatalf("c1's session after the timeout: %+v, want waiting again", again)
	}
}
