package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	pngenc "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-im/switchboard/actors/cards"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/internal/testenv"
)

// headlessChromium starts the browser at path, headless in a 1000×700
// window with opts added, and answers a context of its first tab; both
// end with the test.
func headlessChromium(t *testing.T, path string, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	all := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1000, 700))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	tab, cancelT := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelT(); cancelA() })
	return tab
}

// artifactDir is where screenshots go: $SWITCHBOARD_ARTIFACTS, or a
// directory under the system's temporary one.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchboard-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserPages drives the customer chat and the agent workbench in
// headless Chromium against a real dev node, once over WebTransport and
// once over WebSocket only: the customer enters from a scene, the agent
// gets the session, messages go both ways with their states, the
// customer's connection is cut and resyncs with nothing lost or doubled,
// the customer's tab is killed with a message still unanswered and a new
// tab resumes the chat with every message once, the agent sends a card whose action the customer clicks (a real webhook
// gets the signed click and its signed answer updates the card in both
// pages), the agent calls the customer (a WebRTC call between the two
// pages, rung and recorded by the node), the agent transfers and the
// session is closed.
// The agent labels the session "vip" from the workbench: a chip in its
// list, the filter "vip" keeps it alone, and the chip's × removes it.
// The agent deletes an answer for itself from the workbench ("delete for
// me"): it leaves the page, the customer keeps it, Undo brings it back.
// The customer's question, answered, shows "1 reply" in the workbench,
// whose thread panel lists the answer; the Files button lists the
// customer's photo; a search "from" the customer, with no words, lists
// what they wrote.
// The customer gives their name on the chat page: the workbench shows
// it, not the id, as the sender of the customer's messages, beside the
// session's title and in its list.
// The agent's unsent answer is kept as the session's draft on the node,
// labelled in the session list, back in the box when the agent returns
// to the session, and cleared once sent.
// Then an operator suspends the customer, and the page says so.
// Last, a group's join request from the workbench: the owner creates an
// approval code, another user joins with it and a note and waits, the
// owner reads the note and approves them in the requests panel, and the
// group reaches their page;
// the owner mutes the group for 8 hours from its menu, then unmutes it;
// snoozes it for 1 hour (labelled "snoozed until …" in the list, in the
// node's archived list), then unsnoozes it.
// And an away message set from the workbench: another user's direct
// message is answered with it, shown labelled in the workbench; cleared.
// The customer is queued first (a1 signs in away, a2 is offline): the
// customer page shows its position and the workbench's queue panel the
// waiting customer, until a1 goes online. Every desk step of the pages is
// a protocol request as the page's own user; the close is a click.
func TestBrowserPages(t *testing.T) {
	if exportRace {
		// The pages' timing under a race-instrumented node is not what
		// this test checks; it runs in the normal pass.
		t.Skip("runs in the normal pass only")
	}
	browser := testenv.Chromium(t)
	for _, tr := range []string{"webtransport", "websocket"} {
		t.Run(tr, func(t *testing.T) { browserRun(t, browser, tr) })
	}
}

// cardWebhook is the business system's card webhook: it checks the node's
// signature, keeps the clicks, and answers with a signed card update.
type cardWebhook struct {
	mu     sync.Mutex
	clicks []cards.Request
	forged int
}

func (h *cardWebhook) serve(secret []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !cards.Verify(secret, body, r.Header.Get(cards.SignatureHeader)) {
			h.forged++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req cards.Request
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.clicks = append(h.clicks, req)
		card, _ := json.Marshal(map[string]any{"title": "Booked: " + req.Action + " for " + req.User, "fields": []map[string]string{{"label": "status", "value": "confirmed"}}})
		out, _ := json.Marshal(cards.Answer{Mode: "update", Card: card})
		w.Header().Set(cards.SignatureHeader, cards.Sign(secret, out))
		_, _ = w.Write(out)
	}
}

func browserRun(t *testing.T, browser, transport string) {
	secret := []byte("browser-card-secret-0123456789")
	hook := &cardWebhook{}
	hs := httptest.NewServer(hook.serve(secret))
	defer hs.Close()
	t.Setenv("SWITCHBOARD_CARD_WEBHOOK_SECRET", string(secret))
	// A listing's page, for a link's preview (on loopback: the node is
	// let read it).
	listing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><meta property="og:title" content="Blue hatchback, 2019"><meta property="og:site_name" content="Cars"></head></html>`)
	}))
	defer listing.Close()
	n := newDevNode(t)
	webAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	n.extra = []string{"--web", webAddr, "--webtransport", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "--card-webhook-url", hs.URL, "--desk-wrap-up", "1h", "--link-preview-private"}
	n.start()
	n.run("desk", "scene", "set", "--data-dir", n.dir, "--scene", "listing", "--line", "cars", "--route", "queue:sales")
	// The line is closed (open every day but yesterday, today and
	// tomorrow, in UTC), has a first-response target and a saved reply.
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
	n.run("desk", "hours", "cars", "--data-dir", n.dir, "--tz", "UTC", "--day", "mon-sun=00:00-24:00",
		"--closed", day(-1), "--closed", day(0), "--closed", day(1), "--message", "We answer from 9 to 5.")
	n.run("desk", "targets", "cars", "--data-dir", n.dir, "--first-response", "10m")
	replies := filepath.Join(t.TempDir(), "replies.json")
	if err := os.WriteFile(replies, []byte(`[{"name":"viewings","text":"Viewings are Monday to Saturday, {customer_name|there}."}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	n.run("desk", "replies", "cars", "--data-dir", n.dir, "--file", replies)
	// a2 stays offline until the transfer: the customer must wait for a1.
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "a2", "--status", "offline", "--capacity", "3", "--skills", "sales")
	base := "http://" + webAddr

	bctx := headlessChromium(t, browser,
		// A call between the pages: a fake microphone, allowed without asking.
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true))
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Two pages in their own browser contexts (no shared storage).
	agent, cancelA := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelA()
	customer, cancelC := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelC()

	run := func(c context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(c context.Context, what, expr string, v any) {
		t.Helper()
		res, err := chromedp.Run(c, chromedp.Evaluate[json.RawMessage](expr))
		if err == nil && v != nil {
			err = json.Unmarshal(res, v)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// until polls a JavaScript condition on a page.
	// poll waits up to d for a JavaScript condition on a page; the
	// context bounds it (chromedp's own poll timeout is off).
	poll := func(c context.Context, expr string, d time.Duration) error {
		tctx, cancel := context.WithTimeout(c, d)
		defer cancel()
		_, err := chromedp.Run(tctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
		return err
	}
	within := func(c context.Context, what, expr string, d time.Duration, more ...string) {
		t.Helper()
		if err := poll(c, expr, d); err != nil {
			page, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage:\n%s\n%s\nserver log:\n%s", what, err, page, strings.Join(more, "\n"), n.log.String())
		}
	}
	until := func(c context.Context, what, expr string) {
		t.Helper()
		within(c, what, expr, 20*time.Second)
	}
	// click clicks what selector names as soon as it is there. A page
	// re-renders its lists on every event, so a node looked up and then
	// clicked over CDP may be gone in between: look up and click in one go.
	click := func(c context.Context, what, selector string) {
		t.Helper()
		until(c, what, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, selector))
	}
	q := "&transport=" + transport
	if transport == "webtransport" {
		q = ""
	}
	// a1 signs in away: the page registers it (a dev convenience) and sets
	// its status over the protocol, as a1.
	run(agent, "agent page", chromedp.Navigate(base+"/agent.html?user=a1"+q), chromedp.SetValue("#presence", "away"), chromedp.Click("#connect"))
	until(agent, "agent connected", `document.querySelector("#status").dataset.state === "connected"`)
	until(agent, "the queue panel", `document.querySelector("#queue").dataset.loaded === "1"`)
	// A device id has one connection, so each tab of a user claims its own
	// (a Web Lock held while the tab lives): the page's connection has the
	// first name, two more claims in this browser the next ones.
	claims := `import("/common.js").then(async (m) => [window.switchboardClient.device, await m.tabDevice("a1", "workbench"), await m.tabDevice("a1", "workbench")])`
	devices, err := chromedp.Run(agent, chromedp.Evaluate[[]string](claims, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("device claims: %v", err)
	}
	if want := []string{"workbench", "workbench-2", "workbench-3"}; !slices.Equal(devices, want) {
		t.Fatalf("tab devices %v, want %v", devices, want)
	}
	// Not the chat page's default name: a new tab must find it in the
	// browser's storage.
	const visitor = "c5"
	n.run("desk", "customer", visitor, "--data-dir", n.dir, "--set", "plan=premium", "--set", "orders=2")
	run(customer, "customer page", chromedp.Navigate(base+"/chat.html?user="+visitor+"&scene=listing/123"+q), chromedp.Click("#enter"))
	until(customer, "customer connected", `document.querySelector("#status").dataset.state === "connected"`)
	for _, page := range []context.Context{agent, customer} {
		var got string
		eval(page, "transport", `document.querySelector("#status").dataset.transport`, &got)
		if got != transport {
			t.Fatalf("page connected over %q, want %q", got, transport)
		}
	}
	until(customer, "the session", `!!document.querySelector("#info").dataset.conv`)
	var conv string
	eval(customer, "conv", `document.querySelector("#info").dataset.conv`, &conv)
	// The customer's name, from the chat page's Your name (a profile
	// request as the customer); the node trims it.
	const visitorName = "Carla Diaz"
	until(customer, "the name setting read", `!document.querySelector("#save-profile").disabled && document.querySelector("#profile-name").value === ""`)
	run(customer, "type the name", chromedp.SendKeys("#profile-name", " "+visitorName+" "))
	click(customer, "save the name", "#save-profile")
	until(customer, "the name saved", fmt.Sprintf(`document.querySelector("#card-note").textContent === "you show as %s" && document.querySelector("#profile-name").value === %q`, visitorName, visitorName))

	// No agent is online: the customer waits, and sees where; the agent's
	// queue panel shows the waiting customer.
	until(customer, "the customer's queue position", `document.querySelector("#info").textContent === "queue position 1"`)
	until(customer, "the after-hours notice", `[...document.querySelectorAll("#messages .msg.system")].some(e => e.textContent.includes("We answer from 9 to 5."))`)
	until(agent, "the waiting customer in the queue panel", fmt.Sprintf(`document.querySelector('#queue li[data-conv=%q]')?.dataset.position === "1"`, conv))
	until(agent, "the waiting customer by name in the queue panel", fmt.Sprintf(`document.querySelector('#queue li[data-conv=%q]')?.textContent.includes(" · %s · waiting ")`, conv, visitorName))
	until(agent, "the waiting customer's due time in the queue panel", fmt.Sprintf(`document.querySelector('#queue li[data-conv=%q] .due')?.textContent.startsWith("first response due by ")`, conv))
	screenshot(t, agent, "agent-queue-"+transport)
	// a1 goes online from the page and gets the session.
	eval(agent, "go online", `(() => { const p = document.querySelector("#presence"); p.value = "online"; p.dispatchEvent(new Event("change")); return true })()`, nil)
	until(customer, "the customer assigned", `document.querySelector("#info").textContent === "with a1"`)
	until(agent, "the queue panel emptied", fmt.Sprintf(`!document.querySelector('#queue li[data-conv=%q]')`, conv))
	until(agent, "the session in the agent's list", fmt.Sprintf(`!!document.querySelector('#convs li[data-conv=%q]')`, conv))
	click(agent, "open it", fmt.Sprintf(`#convs li[data-conv=%q]`, conv))
	// What the business told the desk about the customer, beside the notes.
	until(agent, "the customer's attributes", `document.querySelector("#customer").textContent === "customer: orders: 2 · plan: premium"`)

	say := func(page context.Context, text string) {
		t.Helper()
		// Typed, then sent with a click in the page: a mouse click lands
		// where the button was a moment ago, and a list that re-rendered
		// meanwhile can move it, leaving the text in the box for the next
		// message to be typed after. The box empties when the page took it.
		run(page, "type "+text, chromedp.SendKeys("#text", text))
		click(page, "send "+text, "#send")
		until(page, "the page took "+text, `document.querySelector("#text").value === ""`)
	}
	has := func(text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#messages .msg .body")].filter(e => e.textContent.endsWith(%q)).length === 1`, text)
	}
	stateOf := func(text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith(%q))?.querySelector(".state")?.dataset.state`, text)
	}
	say(customer, "Is the car still for sale?")
	until(agent, "the customer's message at the agent", has("Is the car still for sale?"))
	// Shown by the name the customer gave (their id the tooltip), beside
	// the title and in the session list too.
	until(agent, "the customer's name as the sender", fmt.Sprintf(`[...document.querySelectorAll("#messages .msg .body")].some(e => e.textContent === %q && e.querySelector(".person")?.title === %q)`,
		visitorName+": Is the car still for sale?", visitor))
	until(agent, "the customer's name beside the title", fmt.Sprintf(`document.querySelector("#peer .person")?.textContent === %q`, visitorName))
	until(agent, "the customer online beside their name", `document.querySelector("#peer-presence").textContent === "online"`)
	until(agent, "the customer's name in the session list", fmt.Sprintf(`document.querySelector('#convs li[data-conv=%q] .person')?.textContent === %q`, conv, visitorName))
	// The line's target: the first response is due 10 minutes into the
	// opening hours, until the agent answers.
	until(agent, "the first response's due time", `document.querySelector("#due").textContent.startsWith("first response due by ")`)
	// Unanswered, the session shows how long the customer waits.
	waiting := fmt.Sprintf(`document.querySelector('#convs li[data-conv=%q] .waiting')`, conv)
	until(agent, "the session waiting for a reply", waiting+`?.textContent.startsWith("⏱ ")`)
	// The agent has the conversation open: it is read, and the customer sees ✓✓ read.
	until(customer, "read state", stateOf("Is the car still for sale?")+` === "read"`)
	say(agent, "Yes it is!")
	until(customer, "the agent's reply", has("Yes it is!"))
	until(agent, "the session no longer waiting", waiting+` === null`)
	until(agent, "the due time gone once answered", `document.querySelector("#due").textContent === ""`)
	// The agent pins the customer's question: both pages show it above
	// the chat, and the pin as a step; unpinned, it goes.
	var asked string
	eval(agent, "the question's seq", `[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith("Is the car still for sale?")).dataset.seq`, &asked)
	click(agent, "pin", fmt.Sprintf(`#messages .msg[data-seq="%s"] button.pin`, asked))
	for _, page := range []context.Context{agent, customer} {
		until(page, "the pinned question", fmt.Sprintf(`document.querySelector('#messages .pinned[data-seq="%s"]')?.textContent === "📌 Is the car still for sale?"`, asked))
	}
	until(customer, "the pin step", has("a1 pinned message #"+asked))
	click(agent, "unpin", fmt.Sprintf(`#messages .msg[data-seq="%s"] button.pin`, asked))
	until(customer, "the pin taken off", `document.querySelector("#messages .pinned") === null`)
	until(agent, "the reply read", stateOf("Yes it is!")+` === "read"`)

	// The customer sends a photo with a caption; the workbench shows it.
	photo := filepath.Join(t.TempDir(), "scratch.png")
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	var png bytes.Buffer
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(photo, png.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	run(customer, "caption", chromedp.SendKeys("#text", "this scratch"))
	run(customer, "pick a photo", chromedp.SetUploadFiles("#file", []string{photo}))
	// Its size came with the message (the page made a preview before the
	// upload): the image is laid out 64×48 from the message alone.
	until(agent, "the photo at the agent", `[...document.querySelectorAll("#messages .msg")].some(e => e.querySelector(".body").textContent.endsWith("this scratch") && e.querySelector("img.media")?.getAttribute("height") === "48" && e.querySelector("img.media")?.naturalWidth === 64)`)

	// The customer's connection dies; the agent writes meanwhile; the page
	// reconnects and resyncs: every message once, in order.
	eval(customer, "cut", `window.switchboardClient.drop(); true`, nil)
	for i := range 3 {
		say(agent, fmt.Sprintf("while you were away %d", i))
	}
	for i := range 3 {
		until(customer, "resynced messages", has(fmt.Sprintf("while you were away %d", i)))
	}
	var seqs []int
	eval(customer, "seqs", `[...document.querySelectorAll("#messages .msg")].map(e => +e.dataset.seq).filter(s => s > 0)`, &seqs)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("customer's messages out of order or doubled: %v", seqs)
		}
	}

	customer = killAndResume(t, ctx, customer, agent, n, conv, base, transport, until, eval, say, has, stateOf)

	// The agent stars the question: the Starred panel lists it. Then
	// forwards it into the conversation (the page asks where): both pages
	// show the copy labelled, naming nothing of where it came from.
	click(agent, "star", fmt.Sprintf(`#messages .msg[data-seq="%s"] button.star`, asked))
	until(agent, "starred", fmt.Sprintf(`document.querySelector('#messages .msg[data-seq="%s"] button.star')?.textContent === "unstar"`, asked))
	click(agent, "show the starred", "#show-starred")
	until(agent, "the starred question listed", `[...document.querySelectorAll("#starred li")].some(e => e.textContent.includes("Is the car still for sale?"))`)
	// A reminder of it in an hour, from the message's menu: marked on the
	// message and in the Starred panel. One due sooner (set through the
	// page's client) comes: the page says so, with the question.
	eval(agent, "remind in an hour", fmt.Sprintf(`(() => { const s = document.querySelector('#messages .msg[data-seq="%s"] select.remind'); s.value = "0"; s.dispatchEvent(new Event("change")); return true })()`, asked), nil)
	until(agent, "the reminder marked", fmt.Sprintf(`document.querySelector('#messages .msg[data-seq="%s"] .reminder')?.textContent.startsWith("⏰ ")`, asked))
	until(agent, "the reminder in the Starred panel", `[...document.querySelectorAll("#starred li")].some(e => e.textContent.includes("Is the car still for sale?") && e.querySelector(".reminder"))`)
	eval(agent, "a reminder due soon", fmt.Sprintf(`window.switchboardClient.remind(%q, %s, Date.now() + 1500).then(() => true)`, conv, asked), nil)
	until(agent, "the reminder come", `document.querySelector("#card-note").textContent.startsWith("⏰ reminder: ") && document.querySelector("#card-note").textContent.includes("Is the car still for sale?")`)
	until(agent, "the mark gone", fmt.Sprintf(`!document.querySelector('#messages .msg[data-seq="%s"] .reminder')`, asked))
	eval(agent, "answer the forward's question", fmt.Sprintf(`window.prompt = () => %q; true`, conv), nil)
	click(agent, "forward", fmt.Sprintf(`#messages .msg[data-seq="%s"] button.forward`, asked))
	forwarded := `[...document.querySelectorAll("#messages .msg")].some(e => e.querySelector(".forwarded")?.textContent === "Forwarded" && e.querySelector(".body").textContent.endsWith("Is the car still for sale?"))`
	until(agent, "the forwarded copy at the agent", forwarded)
	until(customer, "the forwarded copy at the customer", forwarded)

	// A card from the workbench; the customer clicks one of its actions;
	// the webhook's answer replaces the card on both pages.
	run(agent, "send a card", chromedp.Click("#send-card"))
	fri := `document.querySelector('#messages .msg.card button[data-action="fri-10"]')`
	until(customer, "the card's actions at the customer", fri+`?.disabled === false`)
	until(agent, "the card sent", `document.querySelector('#messages .msg.card .state')?.dataset.state === "read"`)
	click(customer, "click an action", `#messages .msg.card button[data-action="fri-10"]`)
	booked := `[...document.querySelectorAll("#messages .msg.card .body")].filter(e => e.textContent.endsWith("Booked: fri-10 for ` + visitor + `")).length === 1`
	until(customer, "the business's answer at the customer", booked)
	until(agent, "the business's answer at the agent", booked)
	hook.mu.Lock()
	clicks, forged := hook.clicks, hook.forged
	hook.mu.Unlock()
	if len(clicks) != 1 || forged != 0 {
		t.Fatalf("webhook: %d signed clicks, %d unsigned, want 1 and 0: %+v", len(clicks), forged, clicks)
	}
	var payload struct{ Slot string }
	if c := clicks[0]; c.Conv != conv || c.User != visitor || c.Action != "fri-10" || c.CardSender != "a1" || json.Unmarshal(c.Payload, &payload) != nil || payload.Slot != "fri-10" {
		t.Fatalf("webhook got %+v", c)
	}
	var cardCount int
	eval(customer, "cards", `document.querySelectorAll("#messages .msg.card").length`, &cardCount)
	if cardCount != 1 {
		t.Fatalf("the customer sees %d cards, want the one, updated", cardCount)
	}

	// A poll from the workbench; the customer votes, and both pages show
	// the count and the customer's choice.
	run(agent, "send a poll", chromedp.Click("#send-poll"))
	sat := `document.querySelector('#messages .msg.poll button[data-option="1"]')`
	until(customer, "the poll's options at the customer", sat+`?.disabled === false`)
	click(customer, "vote", `#messages .msg.poll button[data-option="1"]`)
	until(customer, "the customer's vote, marked as theirs", sat+`?.className === "mine" && `+sat+`.textContent === "Saturday · 1"`)
	until(agent, "the customer's vote at the agent", sat+`?.textContent === "Saturday · 1"`)

	// A call from the workbench: the customer's page rings, the customer
	// answers, and the two browsers connect (WebRTC over loopback, with
	// Chromium's fake microphone); the agent hangs up, both pages say it
	// ended, and the conversation records it with its length.
	click(agent, "call the customer", "#call")
	until(customer, "the customer's page rings", `document.querySelector("#call").dataset.call === "ringing" && document.querySelector("#call .call-text").textContent.startsWith("Incoming call from")`)
	click(customer, "answer", "#call .accept")
	until(agent, "the call connects at the agent", `document.querySelector("#call-line").dataset.call === "connected"`)
	until(customer, "the call connects at the customer", `document.querySelector("#call").dataset.call === "connected"`)
	click(agent, "hang up", "#call-line .hangup")
	until(customer, "the end at the customer", `document.querySelector("#call").dataset.call === "ended" && document.querySelector("#call .call-text").textContent.startsWith("Call ended: ended")`)
	until(customer, "the call's record", `[...document.querySelectorAll("#messages .msg.system")].some(e => /'s call · \d+:\d\d/.test(e.textContent))`)
	// The agent calls again and the customer's page reloads while it
	// rings: the resumed chat reads the ringing call (and its offer) from
	// the node and rings again; the customer declines it.
	click(agent, "call again", "#call")
	until(customer, "the second call rings", `document.querySelector("#call").dataset.call === "ringing"`)
	run(customer, "reload while it rings", chromedp.Reload())
	until(customer, "it rings after the reload", `document.querySelector("#call")?.dataset.call === "ringing"`)
	click(customer, "decline", "#call .decline")
	until(agent, "the agent hears the decline", `document.querySelector("#call-line").dataset.call === "ended" && document.querySelector("#call-line .call-text").textContent === "Call ended: declined"`)
	// A video call: the customer sees the agent's camera (Chromium's fake
	// one) and hangs up.
	click(agent, "video call", "#video-call")
	until(customer, "the video call rings", `document.querySelector("#call").dataset.call === "ringing" && document.querySelector("#call .call-text").textContent.startsWith("Incoming video call")`)
	click(customer, "answer the video call", "#call .accept")
	until(customer, "the agent's picture at the customer", `document.querySelector("#call").dataset.call === "connected" && !document.querySelector("#call .call-video").hidden && document.querySelector("#call video.remote").srcObject?.getVideoTracks().length > 0`)
	click(customer, "the customer hangs up", "#call .hangup")
	until(agent, "the end at the agent", `document.querySelector("#call-line").dataset.call === "ended" && document.querySelector("#call-line .call-text").textContent.startsWith("Call ended: ended")`)

	// The agent recalls a recent message of its own from the workbench.
	eval(agent, "recall", `[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith("while you were away 2")).querySelector("button.recall").click(); true`, nil)
	until(customer, "the recall at the customer", `[...document.querySelectorAll("#messages .msg.recalled .body")].some(e => e.textContent.endsWith("while you were away 2"))`)
	// And edits another: its text goes into the reply box, and the send
	// replaces the message's text at the customer, marked edited.
	eval(agent, "edit", `[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith("while you were away 1")).querySelector("button.edit").click(); true`, nil)
	until(agent, "the text to edit in the box", `document.querySelector("#text").value === "while you were away 1"`)
	eval(agent, "clear the box", `document.querySelector("#text").value = ""; true`, nil)
	say(agent, "while you were away: one")
	until(customer, "the edit at the customer", `[...document.querySelectorAll("#messages .msg")].some(e => e.querySelector(".body").textContent.endsWith("while you were away: one") && e.querySelector(".edited"))`)
	until(customer, "the old text gone", `![...document.querySelectorAll("#messages .msg .body")].some(e => e.textContent.endsWith("while you were away 1"))`)
	// And reports the customer's first message to the moderators: the
	// next send is the reason, not a message.
	eval(agent, "report", `[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith("Is the car still for sale?")).querySelector("button.report").click(); true`, nil)
	say(agent, "insults in the next messages")
	until(agent, "reported", `document.querySelector("#card-note").textContent.includes("reported to the moderators")`)
	// And replies to that first message: the customer sees it quoted.
	eval(agent, "reply", `[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith("Is the car still for sale?")).querySelector("button.reply").click(); true`, nil)
	say(agent, "It is, and it has new tyres")
	until(customer, "the reply quoted at the customer", `[...document.querySelectorAll("#messages .msg")].some(e => e.querySelector(".body").textContent.endsWith("It is, and it has new tyres") && e.querySelector(".quote")?.textContent.endsWith("Is the car still for sale?"))`)
	// And deletes that answer for itself ("delete for me"): it leaves the
	// workbench, the customer keeps it, and the notice's Undo brings it
	// back (fetched again from the node).
	const tyres = "It is, and it has new tyres"
	var tyresSeq string
	eval(agent, "the answer's seq", fmt.Sprintf(`[...document.querySelectorAll("#messages .msg")].find(e => e.querySelector(".body").textContent.endsWith(%q)).dataset.seq`, tyres), &tyresSeq)
	click(agent, "delete for me", fmt.Sprintf(`#messages .msg[data-seq="%s"] button.delete-for-me`, tyresSeq))
	until(agent, "the answer gone, the notice shown", fmt.Sprintf(`!document.querySelector('#messages .msg[data-seq="%s"]') && !document.querySelector("#hide-note").hidden && document.querySelector("#hide-note").textContent === "Deleted for you · Undo"`, tyresSeq))
	until(customer, "the customer keeps the answer", has(tyres))
	click(agent, "undo", "#hide-note button.undo")
	until(agent, "the answer back, the notice gone", fmt.Sprintf(`!!document.querySelector('#messages .msg[data-seq="%s"]') && %s && document.querySelector("#hide-note").hidden`, tyresSeq, has(tyres)))
	// The question now has a reply: the workbench shows "1 reply" on it;
	// a click opens the thread panel, the answer read from the node, and ×
	// closes it. The Files button lists the customer's photo, by its sender.
	replyLink := fmt.Sprintf(`document.querySelector('#messages .msg[data-seq="%s"] button.replies')`, asked)
	until(agent, "1 reply on the question", replyLink+`?.textContent === "1 reply"`)
	click(agent, "open the thread", fmt.Sprintf(`#messages .msg[data-seq="%s"] button.replies`, asked))
	until(agent, "the thread panel listing the answer", fmt.Sprintf(`!document.querySelector("#thread").hidden && document.querySelector("#thread").dataset.seq === %q &&
		[...document.querySelectorAll("#thread li")].map((e) => e.dataset.seq + " " + e.textContent).join("|") === %q`, asked, tyresSeq+" a1: "+tyres))
	screenshot(t, agent, "agent-thread-"+transport)
	click(agent, "close the thread", "#thread button.close-thread")
	until(agent, "the thread panel closed", `document.querySelector("#thread").hidden`)
	click(agent, "the conversation's files", "#show-files")
	until(agent, "the photo in the files list", fmt.Sprintf(`(() => { const l = [...document.querySelectorAll("#files li")];
		return l.length === 1 && l[0].dataset.conv === %q && l[0].querySelector(".person")?.title === %q && l[0].querySelector("a.media")?.textContent.startsWith("📎 scratch.png (") })()`, conv, visitor))
	// A saved reply of the line, picked from the workbench's menu, its
	// placeholder filled for this customer (their name, or "there" while
	// the node's name cache has none yet), goes out as the agent's own
	// message.
	until(agent, "the saved replies menu", `!document.querySelector("#saved").hidden && document.querySelector("#saved").options.length === 2`)
	eval(agent, "pick a saved reply", `(() => { const s = document.querySelector("#saved"); s.value = s.options[1].value; s.dispatchEvent(new Event("change")); return true })()`, nil)
	filled := `["Viewings are Monday to Saturday, ` + visitorName + `.", "Viewings are Monday to Saturday, there."]`
	until(agent, "its text in the box, filled", filled+`.includes(document.querySelector("#text").value)`)
	click(agent, "send the saved reply", "#send")
	until(customer, "the saved reply at the customer", `[...document.querySelectorAll("#messages .msg .body")].some(e => `+filled+`.some(f => e.textContent.endsWith(f)))`)
	// A link the customer sends shows its page's title under it, on both
	// pages.
	say(customer, "This one: "+listing.URL+"/listing/7")
	preview := `[...document.querySelectorAll("#messages .msg .link-preview a")].some(a => a.textContent === "Blue hatchback, 2019" && a.href.endsWith("/listing/7"))`
	until(agent, "the link's preview at the agent", preview)
	until(customer, "the link's preview at the customer", preview)
	var reported admin.Reports
	mustJSON(t, n.run("moderate", "reports", "--data-dir", n.dir, "--json"), &reported)
	if reported.Total != 1 || reported.Reports[0].Reporter != "a1" || reported.Reports[0].Reason != "insults in the next messages" || reported.Reports[0].Body != "Is the car still for sale?" {
		t.Fatalf("the moderators see %+v", reported)
	}
	// The workbench shows the agent's metrics, asked over the protocol as
	// the agent (my_metrics) from the metrics engine, which has seen the
	// replies: the first of them answered the desk session.
	// The engine counts it a moment after the reply, longer on a loaded
	// machine; the page looks again every 2 s for 30 s after a send.
	metricsShown := `document.querySelector("#metrics").textContent.startsWith("reply rate ") && document.querySelector("#metrics").textContent.includes(" · desk first response ")`
	if err := poll(agent, metricsShown, 45*time.Second); err != nil {
		// Say what the engine holds, as it streams and as the log
		// recomputes it, and the steps it saw.
		within(agent, "the agent's metrics", metricsShown, time.Second,
			"streaming metrics of a1:", string(n.run("metrics", "--data-dir", n.dir, "--key", "a1", "--json")),
			"recomputed:", string(n.run("metrics", "recompute", "--data-dir", n.dir, "--key", "a1", "--json")),
			"transcript:", string(n.run("transcript", "--data-dir", n.dir, "--conv", conv, "--json")))
	}
	// A supervisor (registered by the admin, taking no sessions) sees the
	// team panel: the desk's row and a1's, asked over the protocol.
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "sup", "--supervisor", "--skills", "sales")
	sup, cancelS := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelS()
	run(sup, "supervisor page", chromedp.Navigate(base+"/agent.html?user=sup"+q), chromedp.Click("#connect"))
	until(sup, "the team panel", `document.querySelector("#team-panel").dataset.loaded === "1"`)
	until(sup, "the desk's row", `document.querySelector("#team-all").textContent.startsWith("desk: reply rate ") && document.querySelector("#team-all").textContent.includes("% within target")`)
	until(sup, "a1 on the team panel", `[...document.querySelectorAll("#team li")].some(e => e.dataset.agent === "a1" && e.textContent.includes("reply rate "))`)
	// The panel lists the session a1 holds; a1 stepped away and the
	// supervisor sets it away from the panel, then reassigns the session
	// to the queue, where it waits.
	heldByA1 := `[...document.querySelectorAll("#team li")].some(e => e.dataset.agent === "a1" && e.querySelector(".held")?.dataset.conv === "` + conv + `")`
	until(sup, "a1's session on the team panel", heldByA1)
	click(sup, "set a1 away", `#team li[data-agent="a1"] button.away`)
	until(sup, "a1 set away", `document.querySelector("#card-note").textContent === "a1 set away"`)
	until(sup, "the team panel saying who set a1 away", `document.querySelector('#team li[data-agent="a1"]')?.textContent.startsWith("a1 · away (set by sup ")`)
	var a1State struct {
		Status string `json:"status"`
	}
	mustJSON(t, n.run("desk", "agent", "--data-dir", n.dir, "--user", "a1", "--json"), &a1State)
	if a1State.Status != "away" {
		t.Fatalf("a1 after the supervisor's Set away: %+v", a1State)
	}
	// a1's workbench, open the while, hears of it and shows it.
	until(agent, "a1's page showing the supervisor's away", `document.querySelector("#presence").value === "away" && document.querySelector("#card-note").textContent === "sup set you away"`)
	run(sup, "reassign to the queue", chromedp.SendKeys("#reassign-to", "queue:sales"),
		chromedp.Click(`#team li[data-agent="a1"] .held button`))
	until(sup, "reassigned", `document.querySelector("#card-note").textContent.startsWith("`+conv+` reassigned")`)
	heldBy := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var held struct {
				Agent string `json:"agent"`
				State string `json:"state"`
			}
			mustJSON(t, n.run("desk", "session", "--data-dir", n.dir, "--conv", conv, "--json"), &held)
			if held.Agent == want && (want != "" || held.State == "queued") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the session is %+v, want agent %q", held, want)
			}
		}
	}
	heldBy("")
	// The supervisor assigns the waiting session from the queue panel to
	// a3, an agent of another queue; then back to a1, online again.
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "a3", "--status", "online", "--capacity", "1", "--skills", "parts")
	until(sup, "the waiting session on the queue panel", `document.querySelector("#queue li[data-conv='`+conv+`'] button.assign") !== null`)
	run(sup, "assign to a3", chromedp.SetValue("#reassign-to", "user:a3"),
		chromedp.Click(`#queue li[data-conv='`+conv+`'] button.assign`))
	until(sup, "assigned", `document.querySelector("#card-note").textContent === "`+conv+` assigned to a3"`)
	heldBy("a3")
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "a1", "--status", "online")
	n.run("desk", "transfer", "--data-dir", n.dir, "--user", "sup", "--conv", conv, "--to", "user:a1")
	heldBy("a1")
	var agentTeamHidden bool
	eval(agent, "a1's page has no team panel", `document.querySelector("#team-panel").hidden`, &agentTeamHidden)
	if !agentTeamHidden {
		t.Fatal("a1, no supervisor, shows a team panel")
	}
	screenshot(t, sup, "supervisor-"+transport)
	cancelS()

	// a1 begins an answer and does not send it: a moment after the typing
	// stops it is the session's draft on the node (for a1's other devices),
	// labelled in the session list once the node kept it.
	const draft = "We could do Friday at 10"
	run(agent, "type a draft", chromedp.SendKeys("#text", draft))
	until(agent, "the draft labelled in the session list", fmt.Sprintf(`document.querySelector('#convs li[data-conv=%q] .draft')?.title === %q`, conv, draft))
	drafts := func(what string) [][]string {
		t.Helper()
		kept, err := chromedp.Run(agent, chromedp.Evaluate[[][]string](`window.switchboardClient.drafts().then((ds) => ds.map((d) => [d.conv, d.text]))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return kept
	}
	if kept := drafts("the drafts on the node"); len(kept) != 1 || kept[0][0] != conv || kept[0][1] != draft {
		t.Fatalf("the node keeps the drafts %q, want %q in %s", kept, draft, conv)
	}

	// a1 reaches out to c9 from the workbench: the outbound session opens
	// there, a1's at once, for a1 to write first (the draft stays with
	// c1's session: the box is empty); then back to c1.
	run(agent, "reach out", chromedp.SetValue("#reach-customer", "c9"), chromedp.SetValue("#reach-scene", "listing/9"), chromedp.Click("#reach"))
	until(agent, "the outbound session open", `document.querySelector("#title").textContent.startsWith("s:cars:c9:1")`)
	until(agent, "the box empty for the new session", `document.querySelector("#text").value === ""`)
	say(agent, "Your V60 is ready")
	until(agent, "the first words delivered", has("Your V60 is ready"))
	if hist := n.run("history", "--data-dir", n.dir, "--user", "c9", "--conv", "s:cars:c9:1", "--json"); !bytes.Contains(hist, []byte("Your V60 is ready")) || !bytes.Contains(hist, []byte(`\"outbound\":true`)) {
		t.Fatalf("c9's history of the outbound session: %s", hist)
	}
	n.run("desk", "close", "--data-dir", n.dir, "--user", "a1", "--conv", "s:cars:c9:1")
	click(agent, "back to c1's conversation", `#convs li[data-conv="`+conv+`"]`)
	until(agent, "c1's conversation open", `document.querySelector("#title").textContent.startsWith("`+conv+`")`)
	// Its draft is back in the box; sent, it is cleared on the node.
	until(agent, "the draft back in the box", fmt.Sprintf(`document.querySelector("#text").value === %q`, draft))
	click(agent, "send the draft", "#send")
	until(customer, "the draft's message at the customer", has(draft))
	until(agent, "the draft label gone", fmt.Sprintf(`!!document.querySelector('#convs li[data-conv=%q]') && !document.querySelector('#convs li[data-conv=%q] .draft')`, conv, conv))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		kept := drafts("the drafts once sent")
		if len(kept) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node keeps the drafts %q once the message is sent", kept)
		}
	}

	screenshot(t, agent, "agent-"+transport)
	screenshot(t, customer, "customer-"+transport)

	// Transfer to a2 from the workbench (a2 comes online for it), with an
	// internal note.
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "a2", "--status", "online")
	run(agent, "transfer", chromedp.SendKeys("#transfer-to", "user:a2"), chromedp.SendKeys("#transfer-note", "wants friday"), chromedp.Click("#transfer"))
	until(agent, "transferred", `document.querySelector("#title").textContent.includes("transferred to a2")`)
	var sess struct {
		Agent string `json:"agent"`
		State string `json:"state"`
		Notes []struct {
			By   string `json:"by"`
			Text string `json:"text"`
		} `json:"notes"`
		Rating *struct {
			Score int    `json:"score"`
			Agent string `json:"agent"`
		} `json:"rating"`
	}
	mustJSON(t, n.run("desk", "session", "--data-dir", n.dir, "--conv", conv, "--json"), &sess)
	if sess.Agent != "a2" || len(sess.Notes) != 1 || sess.Notes[0].By != "a1" || sess.Notes[0].Text != "wants friday" {
		t.Fatalf("after transfer: %+v", sess)
	}
	until(customer, "the customer with a2", `document.querySelector("#info").textContent === "with a2"`)
	// a2 hands it back; a1 closes it by clicking in the workbench.
	n.run("desk", "transfer", "--data-dir", n.dir, "--user", "a2", "--conv", conv, "--to", "user:a1")
	until(customer, "the customer back with a1", `document.querySelector("#info").textContent === "with a1"`)
	// a1 leaves an internal note from the workbench: it shows with the
	// transfer's, and never on the customer's page.
	run(agent, "note", chromedp.SendKeys("#note-text", "call back friday"), chromedp.Click("#add-note"))
	until(agent, "the notes shown", `[...document.querySelectorAll("#notes .note")].map((e) => e.textContent).join("|").match(/^a1, .*: wants friday\|a1, .*: call back friday$/) !== null`)
	// It tags the session the same way.
	run(agent, "tag", chromedp.SendKeys("#tag-text", "Refund, callback-later"), chromedp.Click("#add-tags"))
	until(agent, "the tags shown", `document.querySelector("#tags").textContent === "tags: refund, callback-later"`)
	run(agent, "untag", chromedp.SendKeys("#tag-text", "-refund"), chromedp.Click("#add-tags"))
	until(agent, "a tag removed", `document.querySelector("#tags").textContent === "tags: callback-later"`)
	// a1 labels the session "vip" (its own label: nobody else sees it):
	// a chip on it in the list, which the node lists by the label; the
	// filter "vip" keeps it alone (c9's session goes); back to all
	// labels, the chip's × takes the label away, and the choice with it.
	listed := `[...document.querySelectorAll("#convs li")].map((e) => e.dataset.conv)`
	until(agent, "c9's session listed too", listed+`.length > 1`)
	run(agent, "type a label", chromedp.SendKeys("#label-text", "vip"))
	click(agent, "label the session", "#add-label")
	chip := fmt.Sprintf(`document.querySelector('#convs li[data-conv=%q] .label-chip[data-label="vip"]')`, conv)
	until(agent, "the label's chips", chip+`?.textContent === "vip" && document.querySelector('#conv-labels .label-chip[data-label="vip"]')?.textContent === "vip×" && document.querySelector("#label-text").value === ""`)
	if byLabel, err := chromedp.Run(agent, chromedp.Evaluate[[]string](`window.switchboardClient.listConversations({ label: "vip" }).then((l) => l.map((c) => c.id))`, chromedp.EvalAwaitPromise)); err != nil || !slices.Equal(byLabel, []string{conv}) {
		t.Fatalf("the node lists %q labelled vip (%v), want %s", byLabel, err, conv)
	}
	filterBy := func(label string) {
		t.Helper()
		until(agent, "filter by "+label, fmt.Sprintf(`(() => { const s = document.querySelector("#label-filter");
			if (s.disabled || ![...s.options].some((o) => o.value === %q)) return false; s.value = %q; s.dispatchEvent(new Event("change")); return true })()`, label, label))
	}
	filterBy("vip")
	until(agent, "the vip session alone", fmt.Sprintf(`JSON.stringify(%s) === %q`, listed, `["`+conv+`"]`))
	screenshot(t, agent, "agent-labels-"+transport)
	filterBy("")
	until(agent, "all listed again", listed+`.length > 1`)
	click(agent, "remove the label", `#conv-labels .label-chip[data-label="vip"] button.remove-label`)
	until(agent, "the chips gone", fmt.Sprintf(`!!document.querySelector('#convs li[data-conv=%q]') && %s === null && document.querySelector("#conv-labels").textContent === "" &&
		![...document.querySelector("#label-filter").options].some((o) => o.value === "vip")`, conv, chip))
	// The workbench's search finds the customer's question in all of a1's
	// conversations; the match names the conversation.
	run(agent, "search", chromedp.SendKeys("#search-text", "STILL FOR SALE\n"))
	until(agent, "the search's match", fmt.Sprintf(`[...document.querySelectorAll("#search-results li")].some((e) => e.dataset.conv === %q && e.textContent.includes("Is the car still for sale?"))`, conv))
	// With "from" (a user id) and no words: everything the customer wrote.
	eval(agent, "empty the search box", `document.querySelector("#search-text").value = ""; true`, nil)
	run(agent, "search by sender", chromedp.SendKeys("#search-from", visitor+"\n"))
	until(agent, "the customer's messages", fmt.Sprintf(`(() => { const l = [...document.querySelectorAll("#search-results li:not(.more)")];
		return l.every((e) => e.querySelector(".person")?.title === %q) && l.some((e) => e.textContent.endsWith("Thanks, I will come by")) })()`, visitor))
	eval(agent, "empty the from box", `document.querySelector("#search-from").value = ""; true`, nil)
	if page, err := chromedp.Run(customer, chromedp.Evaluate[string](`document.body.innerText`)); err != nil || bytes.Contains([]byte(page), []byte("friday")) || bytes.Contains([]byte(page), []byte("callback-later")) {
		t.Fatalf("the customer's page shows an internal note or tag (%v):\n%s", err, page)
	}
	// The customer's last word waits for a reply until the session closes.
	say(customer, "Thanks, see you Friday")
	until(agent, "the thanks waiting for a reply", waiting+`?.textContent.startsWith("⏱ ")`)
	click(agent, "close", "#close")
	until(agent, "closed at the agent", fmt.Sprintf(`document.querySelector("#title").dataset.closed === %q && document.querySelector("#title").textContent.includes("(closed)")`, conv))
	until(agent, "a closed session waits for nobody", waiting+` === null`)
	until(customer, "closed at the customer", `document.querySelector("#info").textContent === "closed"`)
	// The closed sessions keep a1's slots for the wrap-up (c9's, closed
	// from the CLI, and this one); a1 is done and clicks Ready.
	until(agent, "the wrap-up shown", `!document.querySelector("#ready").hidden && document.querySelector("#wrap-up").textContent.startsWith("wrap-up: 2 until ")`)
	click(agent, "ready", "#ready")
	until(agent, "the wrap-up ended", `document.querySelector("#ready").hidden && document.querySelector("#wrap-up").hidden`)
	var a1 struct {
		WrapUp []any `json:"wrap_up"`
	}
	mustJSON(t, n.run("desk", "agent", "--data-dir", n.dir, "--user", "a1", "--json"), &a1)
	if len(a1.WrapUp) != 0 {
		t.Fatalf("a1 after Ready: %+v", a1)
	}
	// The customer rates the closed session from the page.
	until(customer, "the rating offered", `!document.querySelector("#rate").hidden`)
	click(customer, "rate 4", `#rate button[data-score="4"]`)
	until(customer, "the rating taken", `document.querySelector("#rated").textContent === "thank you: 4 of 5" && document.querySelector('#rate button[data-score="5"]').disabled`)
	until(customer, "the rating step shown", has("rated 4 of 5"))
	mustJSON(t, n.run("desk", "session", "--data-dir", n.dir, "--conv", conv, "--json"), &sess)
	if sess.State != "closed" || sess.Rating == nil || sess.Rating.Score != 4 || sess.Rating.Agent != "a1" {
		t.Fatalf("after the workbench's close and the rating: %+v", sess)
	}
	// The customer writes again: a new session, with a1 again.
	say(customer, "Sorry, one more question")
	until(customer, "the chat reopened with a1", `document.querySelector("#info").textContent === "with a1"`)
	until(agent, "the reopened chat at the agent", has("Sorry, one more question"))
	// An operator suspends the customer: the page is disconnected and
	// says why.
	n.run("moderate", "suspend", "--data-dir", n.dir, "--user", visitor, "--reason", "spam links")
	until(customer, "the suspension on the customer's page", `document.querySelector("#status").dataset.state === "closed" && document.querySelector("#status").textContent.startsWith("account suspended: ") && document.querySelector("#status").textContent.includes("spam links")`)

	// A team room a1 owns: from the workbench a1 creates a code that
	// needs approval; pupil, in a workbench of their own, joins with it
	// and a note for the managers, and waits; a1's page lists the request
	// with the note (a "join_requests" push) and a1 approves it; pupil's
	// page then lists the group by itself.
	n.run("group", "create", "--data-dir", n.dir, "--user", "a1", "--id", "g:team", "--title", "Team room", "--members", "a2")
	click(agent, "open the team room", `#groups li[data-conv="g:team"]`)
	until(agent, "the invite panel of a group a1 owns", `!document.querySelector("#invite-panel").hidden && document.querySelector("#join-requests").textContent === "nobody waiting"`)
	until(agent, "the team room's size", `document.querySelector("#member-count").textContent === "2 members"`)
	click(agent, "needs approval", "#invite-approval")
	click(agent, "create the code", "#create-invite")
	until(agent, "the code shown", `!document.querySelector("#invite-code").hidden && document.querySelector("#invite-code").dataset.approval === "true"`)
	var code string
	eval(agent, "the code", `document.querySelector("#invite-code").value`, &code)
	joiner, cancelJ := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelJ()
	run(joiner, "pupil's workbench", chromedp.Navigate(base+"/agent.html?user=pupil"+q), chromedp.SetValue("#skills", "none"),
		chromedp.SetValue("#presence", "offline"), chromedp.Click("#connect"))
	until(joiner, "pupil signed in", `!document.querySelector("#join-code").disabled`)
	run(joiner, "type the code and a note", chromedp.SendKeys("#join-code", code), chromedp.SendKeys("#join-request-note", "I'm on the night shift"))
	click(joiner, "join", "#join")
	until(joiner, "pupil waiting", `document.querySelector("#join-note").textContent === "Asked to join — waiting for the group's admins" && !document.querySelector('#groups li[data-conv="g:team"]') && document.querySelector("#join-request-note").value === ""`)
	until(agent, "pupil's request listed with its note", `document.querySelector('#join-requests li[data-user="pupil"] .person')?.textContent === "pupil" &&
		document.querySelector('#join-requests li[data-user="pupil"] .request-note')?.textContent === "I'm on the night shift"`)
	screenshot(t, agent, "agent-join-requests-"+transport)
	click(agent, "approve pupil", `#join-requests li[data-user="pupil"] button.approve`)
	until(agent, "the request answered, and the room one bigger", `document.querySelector("#join-requests").textContent === "nobody waiting" &&
		document.querySelector("#member-count").textContent === "3 members"`)
	// The note names the group by its title when the first word of it
	// (its membership push or its first message, whichever comes first)
	// told it, else by its id.
	until(joiner, "the team room in pupil's list", `document.querySelector('#groups li[data-conv="g:team"]')?.textContent.startsWith("Team room") &&
		["approved: you joined Team room", "approved: you joined g:team"].includes(document.querySelector("#join-note").textContent)`)
	// "@me": a2 names a1 in the team room; a1's search with the box ticked
	// and no words finds it.
	n.run("send", "--data-dir", n.dir, "--user", "a2", "--conv", "g:team", "--mention", "a1", "--text", "@a1 standup at ten?")
	eval(agent, "empty the search box", `document.querySelector("#search-text").value = ""; true`, nil)
	click(agent, "tick @me", "#search-mentions")
	click(agent, "find", "#search")
	until(agent, "the mention found", `[...document.querySelectorAll("#search-results li")].some((e) => e.dataset.conv === "g:team" && e.textContent.includes("@a1 standup at ten?"))`)
	click(agent, "untick @me", "#search-mentions")

	// a1 mutes the open team room for 8 hours from its menu: the page says
	// until when and marks the room in the list; Unmute takes both away.
	choose := func(label string) {
		t.Helper()
		until(agent, "choose "+label, fmt.Sprintf(`(() => { const s = document.querySelector("#mute"); const o = [...s.options].find((o) => o.text === %q);
			if (s.disabled || !o) return false; s.value = o.value; s.dispatchEvent(new Event("change")); return true })()`, label))
	}
	choose("Mute for 8 hours")
	until(agent, "muted until shown", `document.querySelector("#muted-state").textContent.startsWith("muted until ") && !!document.querySelector('#groups li[data-conv="g:team"] .muted-mark')`)
	screenshot(t, agent, "agent-muted-"+transport)
	choose("Unmute")
	until(agent, "the mute gone", `document.querySelector("#muted-state").textContent === "" && !document.querySelector('#groups li[data-conv="g:team"] .muted-mark')`)

	// a1 snoozes the open team room for 1 hour from its Snooze menu: the
	// page says until when and labels the room in the list, and the node
	// lists it archived with its end; Unsnooze takes it back.
	snooze := func(label string) {
		t.Helper()
		until(agent, "choose "+label, fmt.Sprintf(`(() => { const s = document.querySelector("#snooze"); const o = [...s.options].find((o) => o.text === %q);
			if (s.disabled || !o) return false; s.value = o.value; s.dispatchEvent(new Event("change")); return true })()`, label))
	}
	snooze("Snooze for 1 hour")
	until(agent, "snoozed until shown", `document.querySelector("#snoozed-state").textContent.startsWith("snoozed until ") &&
		document.querySelector('#groups li[data-conv="g:team"] .snoozed-mark')?.textContent === document.querySelector("#snoozed-state").textContent`)
	archivedEnd, err := chromedp.Run(agent, chromedp.Evaluate[[]int64](`window.switchboardClient.listConversations({ archived: true }).then((l) => l.filter((c) => c.id === "g:team").map((c) => c.archivedUntilMs))`, chromedp.EvalAwaitPromise))
	if err != nil || len(archivedEnd) != 1 || time.Until(time.UnixMilli(archivedEnd[0])) < 55*time.Minute || time.Until(time.UnixMilli(archivedEnd[0])) > time.Hour {
		t.Fatalf("the node's archived list holds g:team until %v (%v), want about an hour from now", archivedEnd, err)
	}
	screenshot(t, agent, "agent-snoozed-"+transport)
	snooze("Unsnooze")
	until(agent, "the snooze gone", `document.querySelector("#snoozed-state").textContent === "" && !!document.querySelector('#groups li[data-conv="g:team"]') &&
		!document.querySelector('#groups li[data-conv="g:team"] .snoozed-mark') && !window.switchboardClient.conversation("g:team").archived`)

	// a1 is off for a day: the workbench's "Away message" sets it, and
	// buyer, writing to a1 directly (from the CLI), is answered with it.
	// The workbench lists no direct conversations: a1 finds buyer's
	// message with the search and opens it from there, where the answer
	// shows labelled an automatic reply. Clear ends it.
	const awayText = "Off until Monday: back on the 4th"
	until(agent, "the away setting read", `!document.querySelector("#save-away").disabled && document.querySelector("#away-state").textContent === ""`)
	run(agent, "type the away message", chromedp.SendKeys("#away-text", awayText))
	until(agent, "away for 1 day", `(() => { const s = document.querySelector("#away-for"); const o = [...s.options].find((o) => o.text === "1 day");
		if (s.disabled || !o) return false; s.value = o.value; return true })()`)
	click(agent, "save the away message", "#save-away")
	until(agent, "away shown", `document.querySelector("#away-state").textContent.startsWith("Away until ") && document.querySelector("#card-note").textContent.startsWith("Away until ")`)
	n.run("send", "--data-dir", n.dir, "--user", "buyer", "--to", "user:a1", "--text", "Is the van still for sale?")
	until(agent, "the automatic reply at a1's client", `window.switchboardClient.conversation("d:a1:buyer").messages.some((m) => m.autoReply)`)
	eval(agent, "empty the search box", `document.querySelector("#search-text").value = ""; true`, nil)
	run(agent, "search for buyer's message", chromedp.SendKeys("#search-text", "the van\n"))
	click(agent, "open buyer's conversation from the search", `#search-results li[data-conv="d:a1:buyer"]`)
	until(agent, "the automatic reply labelled", fmt.Sprintf(`document.querySelector("#title").textContent === "d:a1:buyer" &&
		[...document.querySelectorAll("#messages .msg")].filter((e) => e.querySelector(".auto-reply")?.textContent === "Automatic reply" && e.querySelector(".body").textContent === %q).length === 1 &&
		[...document.querySelectorAll("#messages .msg .body")].some((e) => e.textContent.endsWith("Is the van still for sale?"))`, awayText))
	screenshot(t, agent, "agent-away-"+transport)
	click(agent, "clear the away message", "#clear-away")
	until(agent, "no longer away", `document.querySelector("#away-state").textContent === "" && document.querySelector("#away-text").value === "" && document.querySelector("#card-note").textContent === "no longer away"`)
	var away struct {
		Text string `json:"text"`
	}
	if mustJSON(t, n.run("away", "--data-dir", n.dir, "--user", "a1", "--json"), &away); away.Text != "" {
		t.Fatalf("a1's away message after Clear: %+v", away)
	}
}

// screenshot saves what page shows as NAME.png in the artifact directory.
func screenshot(t *testing.T, page context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(page, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// killAndResume kills the customer's tab while its last message waits for
// the node's answer (the node is stopped for that moment, so that the
// message is certainly in flight), lets the agent write while the tab is
// gone, and opens a new tab of the same browser: with no name in its
// address it must resume the same chat from the browser's storage, show
// every message exactly once in seq order, send the message left unanswered
// exactly once, and reach the right states on both sides. It returns the
// new tab.
func killAndResume(t *testing.T, ctx, customer, agent context.Context, n *devNode, conv, base, transport string,
	until func(c context.Context, what, expr string), eval func(c context.Context, what, expr string, v any),
	say func(page context.Context, text string), has func(text string) string, stateOf func(text string) string) context.Context {
	t.Helper()
	start := time.Now()
	const inFlight = "One more thing: is it red?"
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	cont := func() {
		if stopped {
			stopped = false
			if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		}
	}
	defer cont()
	say(customer, inFlight)
	until(customer, "the message waiting for the node", stateOf(inFlight)+` === "sending"`)
	// The renderer dies on the spot: no unload, no close of the connection
	// by the page. Chromium answers Page.crash with the crash or not at all.
	cctx, cancel := context.WithTimeout(customer, time.Second)
	_, _ = chromedp.Call(cctx, page.Crash, cdp.Empty{})
	cancel()
	cont()

	for i := range 3 {
		say(agent, fmt.Sprintf("while your tab was gone %d", i))
	}
	for i := range 3 {
		until(agent, "the agent's message stored", stateOf(fmt.Sprintf("while your tab was gone %d", i))+` === "sent"`)
	}

	// A new tab of the same browser (same storage), at the bare address.
	fresh, cancelFresh := chromedp.NewContext(ctx, chromedp.WithExistingBrowserContext(chromedp.FromContext(customer).BrowserContextID))
	t.Cleanup(cancelFresh)
	addr := base + "/chat.html"
	if transport != "webtransport" {
		addr += "?transport=" + transport
	}
	if err := chromedp.Do(fresh, chromedp.Navigate(addr)); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	until(fresh, "the new tab resumed the chat", fmt.Sprintf(`document.querySelector("#status").dataset.state === "connected" && document.querySelector("#info").dataset.conv === %q`, conv))
	texts := []string{"Is the car still for sale?", "Yes it is!", inFlight}
	for i := range 3 {
		texts = append(texts, fmt.Sprintf("while you were away %d", i), fmt.Sprintf("while your tab was gone %d", i))
	}
	for _, text := range texts {
		until(fresh, "in the new tab once: "+text, has(text))
	}
	until(agent, "the message left unanswered, at the agent once", has(inFlight))
	// Nothing still sending or failed; what the customer wrote before the
	// agent's last message shows read at once: the agent's cursor moved
	// when it wrote, and the new tab's first sync says so (no receipt
	// reached this tab). The new tab read the agent's messages.
	until(fresh, "nothing left sending", `document.querySelectorAll('#messages .msg[data-seq="0"]').length === 0 && [...document.querySelectorAll("#messages .msg.mine .state")].every(e => ["sent", "delivered", "read"].includes(e.dataset.state))`)
	for _, text := range []string{"Is the car still for sale?", inFlight} {
		until(fresh, "read state from the new tab's sync: "+text, stateOf(text)+` === "read"`)
	}
	for i := range 3 {
		until(agent, "the agent's message read", stateOf(fmt.Sprintf("while your tab was gone %d", i))+` === "read"`)
	}
	// The customer writes from the new tab; the agent, chat open, reads it,
	// and its receipt marks everything the customer wrote read.
	say(fresh, "Thanks, I will come by")
	until(agent, "the new tab's message at the agent", has("Thanks, I will come by"))
	for _, text := range []string{"Is the car still for sale?", inFlight, "Thanks, I will come by"} {
		until(fresh, "read state in the new tab: "+text, stateOf(text)+` === "read"`)
	}
	// Both pages show the same messages, each once, in seq order (the
	// agent's from its joining: the desk steps before are the customer's).
	seqsOf := `[...document.querySelectorAll("#messages .msg")].map(e => +e.dataset.seq)`
	var mine, theirs []int
	eval(fresh, "seqs", seqsOf, &mine)
	eval(agent, "seqs", seqsOf, &theirs)
	for i := 1; i < len(mine); i++ {
		if mine[i] <= mine[i-1] {
			t.Fatalf("the new tab's messages are out of order or doubled: %v", mine)
		}
	}
	tail := mine
	for len(tail) > 0 && len(theirs) > 0 && tail[0] < theirs[0] {
		tail = tail[1:]
	}
	if len(theirs) < 5 || fmt.Sprint(tail) != fmt.Sprint(theirs) {
		t.Fatalf("the new tab shows seqs %v, the agent %v", mine, theirs)
	}
	t.Logf("killed, resumed and checked in %v", time.Since(start).Round(time.Millisecond))
	return fresh
}
