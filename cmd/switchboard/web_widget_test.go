package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestChatWidget, in Chromium against a dev node: a business's own site
// (another origin) carries the widget's script tag and hands out its
// visitor's token from its backend, a token that names no device. The
// visitor opens the bubble: the framed chat asks the page for the token,
// names its device itself and enters the desk, where the agent gets the
// session. The agent writes while the panel is closed: the bubble counts
// it; the visitor opens the panel and reads it, and the agent sees the
// receipt. The node lets that site frame the chat and nobody frame the
// workbench. A page that gives no token gets its visitor made an
// anonymous one (--visitor-scenes), who comes back as the same visitor,
// and once logged in on the site, claims the chat for the account.
func TestChatWidget(t *testing.T) {
	if exportRace {
		t.Skip("runs in the normal pass only")
	}
	browser := testenv.Chromium(t)
	n := newDevNode(t)
	webAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	site := httptest.NewUnstartedServer(nil) // the business's site, on an origin of its own
	n.extra = []string{"--web", webAddr, "--webtransport", "", "--web-origins", "http://" + site.Listener.Addr().String(), "--visitor-scenes", "listing"}
	n.start()
	n.run("desk", "scene", "set", "--data-dir", n.dir, "--scene", "listing", "--line", "cars", "--route", "queue:sales")
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "a1", "--status", "online", "--capacity", "3", "--skills", "sales")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	agent := n.dial(ctx, "a1", "desk")

	secret, err := readSecret(devSecretPath(n.dir))
	if err != nil {
		t.Fatal(err)
	}
	var tokens atomic.Int32
	site.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token": // the site's backend: its signed-in visitor, no device
			tokens.Add(1)
			tok, err := transport.MintHS256(secret, cmp.Or(r.URL.Query().Get("user"), "shopper-7"), "", time.Hour, "")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, tok)
		case "/anon": // a page of a site that signs nobody in, until the visitor logs in
			signIn := ""
			if r.URL.Query().Get("login") == "1" {
				signIn = `<script>window.SwitchboardWidget = { token: () => fetch("/token?user=shopper-9").then((r) => r.text()) };</script>`
			}
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><html><body><h1>Red coupe</h1>%s
<script src="http://%s/widget.js" data-scene="listing/456" async></script></body></html>`, signIn, webAddr)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><html><body><h1>Blue hatchback</h1>
<script>window.SwitchboardWidget = { token: () => fetch("/token").then((r) => r.text()) };</script>
<script src="http://%s/widget.js" data-scene="listing/123" data-title="Acme Cars" async></script></body></html>`, webAddr)
		}
	})
	site.Start()
	defer site.Close()

	// Who may frame what.
	for page, want := range map[string]string{"chat.html": "frame-ancestors 'self' " + site.URL, "agent.html": "frame-ancestors 'self'"} {
		res, err := http.Get("http://" + webAddr + "/" + page)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, want) || page == "agent.html" && got != want {
			t.Errorf("%s: Content-Security-Policy %q, want %q", page, got, want)
		}
	}

	page, cancelP := context.WithTimeout(headlessChromium(t, browser), 2*time.Minute)
	defer cancelP()
	within := func(what, expr string) {
		t.Helper()
		c, cancel := context.WithTimeout(page, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
			html, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			t.Fatalf("waiting for %s: %v\npage:\n%s\nserver log:\n%s", what, err, html, n.log.String())
		}
	}
	if err := chromedp.Do(page, chromedp.Navigate(site.URL+"/")); err != nil {
		t.Fatalf("the site's page: %v", err)
	}
	within("the bubble", `!!document.querySelector(".sb-widget-bubble")`)
	click := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(page, chromedp.Evaluate[bool](expr+`.click(), true`)); err != nil {
			t.Fatalf("click %s: %v", what, err)
		}
	}
	click("the bubble", `document.querySelector(".sb-widget-bubble")`)
	within("the panel open, framing the node's chat", `!document.querySelector(".sb-widget-panel").hidden && document.querySelector(".sb-widget-panel iframe").src.includes("/chat.html?embed=1")`)

	// The agent gets the visitor's session: the token the page gave.
	var conv string
	for deadline := time.Now().Add(30 * time.Second); conv == ""; time.Sleep(50 * time.Millisecond) {
		for _, c := range agent.Conversations() {
			if strings.HasPrefix(c.ID, "s:cars:shopper-7:") {
				conv = c.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session of shopper-7 reached the agent (the site gave %d tokens)\nserver log:\n%s", tokens.Load(), n.log.String())
		}
	}

	// Closed, the bubble counts what the agent writes.
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](`SwitchboardWidget.close(), true`)); err != nil {
		t.Fatal(err)
	}
	sent, err := agent.SendText(ctx, client.ToConv(conv), "Hi! It is still for sale.")
	if err != nil {
		t.Fatal(err)
	}
	within("the bubble's count", `(() => { const b = document.querySelector(".sb-widget-badge"); return !b.hidden && b.textContent === "1"; })()`)
	if c, ok := agent.Conversation(conv); !ok || c.PeerReadSeq >= sent.Seq {
		t.Fatalf("read while the panel was closed: %+v", c)
	}
	// Opened, it is read.
	click("the bubble", `document.querySelector(".sb-widget-bubble")`)
	within("the count gone", `document.querySelector(".sb-widget-badge").hidden`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, _ := agent.Conversation(conv); c.PeerReadSeq >= sent.Seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the visitor never read the agent's message")
		}
	}

	// A page that gives no token: the node makes its visitor an anonymous
	// one, whose session reaches the agent.
	anon, cancelA := chromedp.NewContext(page, chromedp.WithNewBrowserContext())
	defer cancelA()
	page = anon // within and click act on this tab now
	if err := chromedp.Do(page, chromedp.Navigate(site.URL+"/anon")); err != nil {
		t.Fatalf("the anonymous page: %v", err)
	}
	within("the bubble", `!!document.querySelector(".sb-widget-bubble")`)
	click("the bubble", `document.querySelector(".sb-widget-bubble")`)
	visitorConvs := func() []string {
		var out []string
		for _, c := range agent.Conversations() {
			if strings.HasPrefix(c.ID, "s:cars:visitor-") {
				out = append(out, c.ID)
			}
		}
		return out
	}
	var anonConv string
	for deadline := time.Now().Add(30 * time.Second); anonConv == ""; time.Sleep(50 * time.Millisecond) {
		if cs := visitorConvs(); len(cs) > 0 {
			anonConv = cs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no anonymous visitor's session reached the agent\nserver log:\n%s", n.log.String())
		}
	}
	// Back later (a reload): the browser kept the visitor, who is in the
	// same session, and gets what the agent writes there.
	if err := chromedp.Do(page, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	within("the bubble again", `!!document.querySelector(".sb-widget-bubble")`)
	click("the bubble", `document.querySelector(".sb-widget-bubble")`)
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](`SwitchboardWidget.close(), true`)); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.SendText(ctx, client.ToConv(anonConv), "Hello! Which coupe?"); err != nil {
		t.Fatal(err)
	}
	within("the returning visitor's count", `(() => { const b = document.querySelector(".sb-widget-badge"); return !b.hidden && b.textContent === "1"; })()`)
	if cs := visitorConvs(); len(cs) != 1 {
		t.Fatalf("visitor sessions at the agent: %v, want the one", cs)
	}

	// The visitor logs in on the site: the frame claims the anonymous
	// visitor for the account, whose chat it now is, with the agent.
	if err := chromedp.Do(page, chromedp.Navigate(site.URL+"/anon?login=1")); err != nil {
		t.Fatal(err)
	}
	within("the signed-in page's bubble", `!!document.querySelector(".sb-widget-bubble")`)
	click("the bubble", `document.querySelector(".sb-widget-bubble")`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		members, _, err := agent.Members(ctx, anonConv, "", 10)
		if err == nil && slices.ContainsFunc(members, func(m *wirepb.Member) bool { return m.User == "shopper-9" && m.LeftSeq == 0 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account never joined the visitor's chat: %v %v\nserver log:\n%s", members, err, n.log.String())
		}
	}
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](`SwitchboardWidget.close(), true`)); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.SendText(ctx, client.ToConv(anonConv), "Welcome back!"); err != nil {
		t.Fatal(err)
	}
	within("the signed-in visitor's count", `(() => { const b = document.querySelector(".sb-widget-badge"); return !b.hidden && b.textContent !== "0"; })()`)
}
