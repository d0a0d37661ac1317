package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/admin/dashboard"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/internal/version"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

const (
	token      = "s3cret"
	msgCounter = "switchboard_messages_acked_total"
)

// testSends counts the test's own sends. The page shows every
// switchboard_*_total counter as a rate, so this one moves while the load
// runs whatever the grains export yet.
var testSends = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_dashboard_test_sends_total",
	Help: "Messages the dashboard test sent.",
})

func init() { prometheus.MustRegister(testSends) }

// TestServing checks the routes without a browser.
func TestServing(t *testing.T) {
	mux := http.NewServeMux()
	dashboard.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "dashboard/" {
		t.Fatalf("/: %d %q, want a redirect to dashboard/", res.StatusCode, res.Header.Get("Location"))
	}
	for path, want := range map[string]string{
		"/dashboard/":          "<title>Switchboard cluster</title>",
		"/dashboard/app.js":    "../api/v1/",
		"/dashboard/style.css": ".chart",
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d, body without %q", path, res.StatusCode, want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
			t.Fatalf("%s: CSP %q", path, csp)
		}
	}
	// Only the root redirects; other unknown paths stay 404.
	if res, err := client.Get(srv.URL + "/nope"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("/nope: %v %v", res, err)
	}
}

// pageState is what the test reads back from the page.
type pageState struct {
	Members       []string `json:"members"`
	Builds        []string `json:"builds"` // the members' build cells
	Banner        string   `json:"banner"`
	MsgState      string   `json:"msgState"`
	MsgPoints     int      `json:"msgPoints"`
	MsgLatest     string   `json:"msgLatest"`
	GrainsSum     string   `json:"grainsSum"`
	ConnsSum      string   `json:"connsSum"`
	TimelyState   string   `json:"timelyState"`
	SessionsState string   `json:"sessionsState"`
	TestRate      string   `json:"testRate"`
	LatencyState  string   `json:"latencyState"`
	TimelyPoints  int      `json:"timelyPoints"`
	RateCard      string   `json:"rateCard"`
	Reports       []string `json:"reports"` // ids of the open reports listed
	ReportsNote   string   `json:"reportsNote"`
	Context       string   `json:"context"` // the report whose context is shown
	ContextText   string   `json:"contextText"`
	UserStatus    string   `json:"userStatus"`
	UserNote      string   `json:"userNote"`
	UserMessages  []string `json:"userMessages"`
	AgentCSAT     string   `json:"agentCSAT"`   // agent-7's CSAT cell
	AgentDesk     string   `json:"agentDesk"`   // agent-7's desk first response cell
	AgentHandle   string   `json:"agentHandle"` // agent-7's resolved and handle time cell
	AgentMissed   string   `json:"agentMissed"` // agent-7's missed sessions cell
	LineNote      string   `json:"lineNote"`
	LineOpen      string   `json:"lineOpen"`    // the line whose panel shows
	TargetFirst   string   `json:"targetFirst"` // the first-response target field
	Reasons       []string `json:"reasons"`     // the contact reasons' rows, "TAG SESSIONS SHARE"
}

const readState = `(() => {
	const d = (id) => document.getElementById(id).dataset;
	return {
		members: [...document.querySelectorAll('#members tbody tr[data-id]')].map((r) => r.dataset.id),
		builds: [...document.querySelectorAll('#members tbody tr[data-id] td.build')].map((c) => c.textContent),
		banner: document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent,
		msgState: d('chart-messages').state || '',
		msgPoints: Number(d('chart-messages').points || 0),
		msgLatest: d('chart-messages').latest || '',
		grainsSum: d('chart-grains').sum || '',
		connsSum: d('chart-connections').sum || '',
		timelyState: d('chart-timely').state || '',
		sessionsState: d('chart-sessions').state || '',
		latencyState: d('chart-latency').state || '',
		timelyPoints: Number(d('chart-timely').points || 0),
		rateCard: document.getElementById('sum-rate').textContent,
		reports: [...document.querySelectorAll('#reports tbody tr[data-id]')].map((r) => r.dataset.id),
		reportsNote: document.getElementById('reports-note').textContent,
		context: document.getElementById('report-context').dataset.report || '',
		contextText: document.querySelector('#report-context li.reported')?.textContent || '',
		userStatus: document.getElementById('user-status').textContent,
		userNote: document.getElementById('user-note').textContent,
		userMessages: [...document.querySelectorAll('#user-messages li')].map((e) => e.textContent),
		lineNote: document.getElementById('line-note').textContent,
		lineOpen: document.getElementById('line-panel').hidden ? '' : document.getElementById('line-panel').dataset.line,
		targetFirst: document.getElementById('target-first').value,
		reasons: [...document.querySelectorAll('#reasons tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent).join(' ')),
		agentCSAT: (document.querySelector('#agents tr[data-key="agent-7"] td:last-child') || {}).textContent || '',
		agentDesk: (document.querySelector('#agents tr[data-key="agent-7"] td:nth-child(8)') || {}).textContent || '',
		agentHandle: (document.querySelector('#agents tr[data-key="agent-7"] td:nth-child(10)') || {}).textContent || '',
		agentMissed: (document.querySelector('#agents tr[data-key="agent-7"] td:nth-child(11)') || {}).textContent || '',
		testRate: (document.querySelector('#chart-counters path[data-name="switchboard_dashboard_test_sends_total"]') || { dataset: {} }).dataset.latest || '',
	};
})()`

// TestChartsFromAPI serves the page next to a stand-in for the admin API
// that needs no token (as with OpenReadOnly) and whose acked counter and
// latency always move, and checks the message-rate, latency and service
// metrics charts draw them.
func TestChartsFromAPI(t *testing.T) {
	chromium := testenv.Chromium(t)
	var polls atomic.Int64
	var sentToken atomic.Bool
	mux := http.NewServeMux()
	dashboard.Register(mux)
	writeJSON := func(w http.ResponseWriter, r *http.Request, v any) {
		if r.Header.Get("Authorization") != "" {
			sentToken.Store(true)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/v1/members", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, map[string]any{"members": []admin.Member{
			{ID: "node-a", Address: "10.0.0.1:7000", State: "alive", Grains: map[string]int64{"conversation": 2, "user": 3}, Connections: 5, UptimeSeconds: 3725, Self: true},
			{ID: "node-b", Address: "10.0.0.2:7000", State: "unreachable", Grains: map[string]int64{}},
		}})
	})
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		n := float64(polls.Add(1))
		writeJSON(w, r, admin.Status{
			Health: "degraded", Members: 2, Unreachable: 1, Grains: map[string]int64{"conversation": 2, "user": 3}, Connections: 5,
			Counters: map[string]float64{msgCounter: 250 * n, "switchboard_metrics_late_events": 0},
			Latency:  map[string]float64{"switchboard_ack_latency_seconds": 1 + n/10},
		})
	})
	mux.HandleFunc("GET /api/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("window") != "1m" {
			http.Error(w, "want window=1m", http.StatusBadRequest)
			return
		}
		now := time.Now().Truncate(time.Minute)
		var rows []analytics.Row
		for i := 3; i >= 1; i-- {
			start := now.Add(-time.Duration(i) * time.Minute)
			for _, key := range []string{"*", "agent-7"} {
				rows = append(rows, analytics.Row{Key: key, WindowStart: start, WindowEnd: start.Add(time.Minute),
					Questions: 4, Timely: uint64(i), TimelyRate: float64(i) / 4, AvgResponseMs: 1500 * float64(i), Sessions: 2, AvgSessionMs: 60000,
					Ratings: 2, Satisfied: uint64(i % 2), CSATRate: float64(i%2) / 2,
					DeskFirstResponses: uint64(i), AvgDeskFirstResponseMs: 60000 * float64(i),
					DeskHandled: uint64(2 * i), DeskResolved: uint64(i), AvgHandleMs: 30000 * float64(i), DeskMissed: uint64(i)})
			}
		}
		writeJSON(w, r, analytics.Report{Rows: rows})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := newBrowser(t, chromium)
	b.open(srv.URL + "/dashboard/")
	st := b.wait("the message rate", 10*time.Second, func(s pageState) bool {
		return s.MsgState == "ok" && s.MsgLatest != "0" && s.LatencyState == "ok" && s.TimelyPoints == 3
	})
	if rate, err := strconv.ParseFloat(st.MsgLatest, 64); err != nil || rate < 50 || rate > 1000 {
		t.Fatalf("message rate %q, want about 250 per 1.5 s", st.MsgLatest)
	}
	if st.RateCard == "–" || len(st.Members) != 2 {
		t.Fatalf("page state %+v", st)
	}
	// 6 ratings in the three windows, 2 of them 4 or 5.
	if st = b.wait("the agent's CSAT", 10*time.Second, func(s pageState) bool { return s.AgentCSAT != "" }); st.AgentCSAT != "33% of 6" {
		t.Fatalf("agent-7's CSAT cell %q, want 33%% of 6", st.AgentCSAT)
	}
	// Desk first responses: 1, 2 and 3 of 1, 2 and 3 min, weighted by their
	// count: 14 min in all over 6.
	if st.AgentDesk != "2.3 min of 6" {
		t.Fatalf("agent-7's desk first response cell %q, want 2.3 min of 6", st.AgentDesk)
	}
	// Handling: 6 resolved; spans 2, 4 and 6 of 30, 60 and 90 s, weighted
	// by their count: 840 s over 12.
	if st.AgentHandle != "6 · 1.2 min" {
		t.Fatalf("agent-7's handling cell %q, want 6 · 1.2 min", st.AgentHandle)
	}
	if st.AgentMissed != "6" { // 1 + 2 + 3
		t.Fatalf("agent-7's missed cell %q, want 6", st.AgentMissed)
	}
	if sentToken.Load() {
		t.Fatal("the page sent a token it was never given")
	}
	b.checkScriptErrors()
}

// TestDashboardInChromium runs a real 3-node cluster with the dashboard on
// every admin port, opens it in headless Chromium, checks the members show
// up and that the charts move while load runs, works a report and a user
// (look up, messages, lift, erase) from the page, and saves screenshots.
func TestDashboardInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	started := time.Now()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	var nodes []*boot.Node
	var servers []*httptest.Server
	var conns [3]atomic.Int64 // what each node's connection hook reports
	defer func() {
		var wg sync.WaitGroup
		for i, n := range nodes {
			if i < len(servers) {
				servers[i].Close()
			}
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop(true) }()
		}
		wg.Wait()
	}()
	for i := 0; i < 3; i++ {
		cfg := boot.NodeConfig{
			Store: store, Logger: log, ClusterName: "dashboard-test",
			// One sender drives the load: lift the per-sender rate limit.
			Actors: actors.Config{SendRate: 1e6, SendBurst: 1e6},
		}
		if i > 0 {
			cfg.Membership.Seeds = []string{nodes[0].MembershipAddr()}
		}
		n, err := boot.StartNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		c := &conns[i]
		srv, err := admin.New(n, admin.Config{Token: token, Logger: log, Extra: dashboard.Register},
			admin.Hooks{Connections: func() int { return int(c.Load()) }})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, httptest.NewServer(srv.Handler()))
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(nodes[0].ClusterMemberInfo()) != 3 || len(nodes[2].ClusterMemberInfo()) != 3 {
		if time.Now().After(deadline) {
			t.Fatal("cluster did not form")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("cluster up in %v", time.Since(started).Round(time.Millisecond))

	b := newBrowser(t, chromium)

	// Without a token the page asks for one.
	b.open(servers[0].URL + "/dashboard/")
	b.wait("the token prompt", 5*time.Second, func(s pageState) bool { return strings.Contains(s.Banner, "needs a token") })

	// With the token in the fragment (through the / redirect) it shows the
	// three members.
	b.open(servers[0].URL + "/#token=" + token)
	st := b.wait("3 members", 10*time.Second, func(s pageState) bool { return len(s.Members) == 3 })
	for _, n := range nodes {
		if !slices.Contains(st.Members, n.ID()) {
			t.Fatalf("members table %v lacks node %s", st.Members, n.ID())
		}
	}
	if want := version.Get().Short(); len(st.Builds) != 3 || slices.ContainsFunc(st.Builds, func(b string) bool { return b != want }) {
		t.Fatalf("members' builds %v, want %s for each", st.Builds, want)
	}
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil || strings.Contains(loc, token) {
		t.Fatalf("token left in the address bar: %q %v", loc, err)
	}
	before := st
	t.Logf("members shown after %v", time.Since(started).Round(time.Millisecond))

	// Load: a group conversation written through all three nodes, and two
	// service conversations where customers ask and agents answer, for the
	// service metrics charts.
	lctx, stopLoad := context.WithCancel(context.Background())
	var sent atomic.Int64
	var wg sync.WaitGroup
	defer func() { stopLoad(); wg.Wait() }()
	if _, err := nodes[0].CreateConversation(lctx, &pb.CreateConversation{Conv: "g:1", Kind: pb.ConvKind_GROUP, Creator: "alice", Members: []*pb.Member{{User: "bob"}}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := nodes[i].CreateConversation(lctx, &pb.CreateConversation{Conv: fmt.Sprintf("s:%d", i), Kind: pb.ConvKind_SERVICE, Members: []*pb.Member{
			{User: fmt.Sprintf("cust%d", i), Role: pb.Role_CUSTOMER},
			{User: fmt.Sprintf("agent%d", i), Role: pb.Role_AGENT},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range conns {
		conns[i].Store(int64(10 * (i + 1)))
	}
	loadErr := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; lctx.Err() == nil; i++ {
			if _, err := nodes[i%3].Send(lctx, &pb.SendMessage{Conv: "g:1", Sender: "alice", Body: []byte("x")}); err != nil && lctx.Err() == nil {
				loadErr <- fmt.Errorf("group send: %w", err)
				return
			}
			sent.Add(1)
			testSends.Inc()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; lctx.Err() == nil; i++ {
			c := i%2 + 1
			conv := fmt.Sprintf("s:%d", c)
			for _, from := range []string{fmt.Sprintf("cust%d", c), fmt.Sprintf("agent%d", c)} {
				if _, err := nodes[i%3].Send(lctx, &pb.SendMessage{Conv: conv, Sender: from, Body: []byte("hi")}); err != nil && lctx.Err() == nil {
					loadErr <- fmt.Errorf("service send: %w", err)
					return
				}
				sent.Add(1)
				testSends.Inc()
				// Agents take a moment to answer, so response times aren't 0.
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()

	// A chart must move while the load runs: the message rate when the node
	// counts acks, else the test's own counter rate and the per-node grain
	// and connection counts.
	st = b.wait("a chart to update", 15*time.Second, func(s pageState) bool {
		select {
		case err := <-loadErr:
			t.Fatal(err)
		default:
		}
		if s.MsgState == "ok" && s.MsgPoints > before.MsgPoints && s.MsgLatest != "" && s.MsgLatest != "0" {
			return true
		}
		if counterValue(msgCounter) > 0 {
			return false // the node counts acks: insist on the message rate
		}
		return s.TestRate != "" && s.TestRate != "0" && s.GrainsSum != before.GrainsSum && s.ConnsSum != before.ConnsSum
	})
	if st.MsgLatest != "" && st.MsgLatest != "0" {
		t.Logf("message-rate chart: %d points, latest %s msg/s", st.MsgPoints, st.MsgLatest)
	} else {
		t.Logf("%s does not count yet; test counter at %s/s, grains chart sum %s → %s, connections %s → %s",
			msgCounter, st.TestRate, before.GrainsSum, st.GrainsSum, before.ConnsSum, st.ConnsSum)
	}
	// The service metrics reach the page within a metrics poll or two.
	b.wait("service metrics charts", 10*time.Second, func(s pageState) bool {
		return s.TimelyState == "ok" && s.SessionsState == "ok"
	})
	// One more sample so the live charts show a line, then the picture.
	time.Sleep(1600 * time.Millisecond)
	b.screenshot("dashboard.png")
	stopLoad()
	wg.Wait()
	t.Logf("%d messages sent during the test", sent.Load())

	// Moderation: a user's report shows up; the moderator recalls the
	// message, suspends its sender and resolves the report from the page.
	ctx := context.Background()
	scam, err := nodes[1].SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "scam", Body: []byte("wire me the deposit")})
	if err != nil {
		t.Fatal(err)
	}
	conv := actors.DirectConvID("bob", "mallory")
	id, _, err := nodes[2].Report(ctx, "bob", conv, scam.Seq, "advance-fee scam")
	if err != nil {
		t.Fatal(err)
	}
	b.wait("the report listed", 10*time.Second, func(s pageState) bool { return slices.Contains(s.Reports, id) })
	b.screenshot("dashboard-reports.png")
	for _, step := range []struct{ button, note string }{
		{"context", "The messages around " + conv},
		{"recall", "Recalled " + conv},
		{"suspend", "Suspended mallory for 24 h"},
		{"resolve", "Resolved report " + id + " (recalled the message; suspended mallory for 24 h)"},
	} {
		b.eval(`document.querySelector('#reports tr[data-id="` + id + `"] button.` + step.button + `').click()`)
		b.wait(step.button, 10*time.Second, func(s pageState) bool { return strings.HasPrefix(s.ReportsNote, step.note) })
	}
	b.wait("the report gone", 10*time.Second, func(s pageState) bool { return !slices.Contains(s.Reports, id) })
	if st := b.state(); st.Context != id || !strings.Contains(st.ContextText, "mallory: wire me the deposit") {
		t.Fatalf("the context shown: report %q, %q", st.Context, st.ContextText)
	}
	if st, err := nodes[0].Suspension(ctx, "mallory"); err != nil || st.Suspension == nil || !strings.Contains(st.Suspension.Reason, id) {
		t.Fatalf("mallory's suspension: %v, %v", st, err)
	}
	hist, err := nodes[0].History(ctx, &pb.GetHistory{Conv: conv, User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if m.Seq == scam.Seq && !m.Recalled {
			t.Fatal("the reported message was not recalled")
		}
	}
	if open, total, err := nodes[0].Reports(ctx, "", 0); err != nil || total != 0 {
		t.Fatalf("open reports after the resolve: %v, %d, %v", open, total, err)
	}

	// Users: the moderator looks up a user, reads what they sent, lifts
	// the suspension, then erases them in two clicks.
	b.eval(`document.getElementById('user-id').value = 'mallory'; document.querySelector('#user-form button[type=submit]').click()`)
	b.wait("mallory looked up", 10*time.Second, func(s pageState) bool {
		return strings.HasPrefix(s.UserStatus, "mallory: suspended since ") && strings.Contains(s.UserStatus, id)
	})
	b.eval(`document.querySelector('#user-actions button.unsuspend').click()`)
	b.wait("the lift", 10*time.Second, func(s pageState) bool { return strings.HasPrefix(s.UserStatus, "mallory: not suspended") })
	if _, err := nodes[1].SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "again", Body: []byte("last chance to pay")}); err != nil {
		t.Fatal(err)
	}
	b.eval(`document.querySelector('#user-actions button.messages').click()`)
	b.wait("mallory's messages", 10*time.Second, func(s pageState) bool {
		return len(s.UserMessages) == 2 && strings.HasSuffix(s.UserMessages[0], "(recalled)") && strings.HasSuffix(s.UserMessages[1], " last chance to pay")
	})
	b.eval(`document.querySelector('#user-actions button.erase').click()`)
	b.wait("the erasure armed", 10*time.Second, func(s pageState) bool { return strings.Contains(s.UserNote, "cannot be undone") })
	if st, err := nodes[0].Suspension(ctx, "mallory"); err != nil || st.Suspension != nil {
		t.Fatalf("the first click of Erase did something: %v, %v", st, err)
	}
	b.eval(`document.querySelector('#user-actions button.erase').click()`)
	b.wait("the erasure", 20*time.Second, func(s pageState) bool {
		return strings.HasPrefix(s.UserNote, "Erased mallory: messages recalled 1,") && strings.Contains(s.UserStatus, actors.ErasureReason)
	})
	b.screenshot("dashboard-users.png")
	hist, err = nodes[0].History(ctx, &pb.GetHistory{Conv: conv, User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if m.Sender == "mallory" && m.Kind == pb.MessageKind_NORMAL && !m.Recalled {
			t.Fatalf("mallory's message #%d kept after the erasure", m.Seq)
		}
	}

	// Business lines: the admin sees a line's contact reasons, sets its
	// opening hours, its first-response target and saved replies from the
	// page; a bad zone and a target out of range are refused with the
	// node's reason. The line's own answer timeout (set with the API, not
	// on the page) stays through the page's change of the target.
	tagOneSession(t, nodes[0].Desk, "cars", "refund")
	if _, err := nodes[0].Desk.SetTargets(ctx, "cars", &desk.Targets{FirstResponseMs: 60000, AnswerTimeoutMs: 300000}); err != nil {
		t.Fatal(err)
	}
	b.eval(`document.getElementById('line-id').value = 'cars'; document.querySelector('#line-form button[type=submit]').click()`)
	b.wait("the line opened with its contact reasons", 10*time.Second, func(s pageState) bool {
		return s.LineOpen == "cars" && slices.Equal(s.Reasons, []string{"refund 1 100 %"})
	})
	b.eval(`document.getElementById('hours-tz').value = 'Nowhere/Else'; document.getElementById('hours-save').click()`)
	b.wait("a bad zone refused", 10*time.Second, func(s pageState) bool { return strings.Contains(s.LineNote, "unknown time zone") })
	b.eval(`document.getElementById('hours-tz').value = 'Europe/Berlin';
		document.getElementById('hours-mon').value = '09:00-12:00, 13:00-18:00';
		document.getElementById('hours-closed').value = '2026-12-25, 2027-01-01';
		document.getElementById('hours-message').value = 'We answer from 9 to 6.';
		document.getElementById('hours-save').click()`)
	b.wait("the hours saved", 10*time.Second, func(s pageState) bool { return s.LineNote == "Saved the hours of cars." })
	h, err := nodes[1].Desk.LineHours(ctx, "cars")
	if err != nil || h == nil || h.TZ != "Europe/Berlin" || h.Week["mon"] != "09:00-12:00,13:00-18:00" || len(h.Week) != 1 ||
		strings.Join(h.ClosedDates, " ") != "2026-12-25 2027-01-01" || h.Message != "We answer from 9 to 6." {
		t.Fatalf("the hours the page saved: %+v %v", h, err)
	}
	b.eval(`document.getElementById('target-first').value = '31d'; document.getElementById('target-save').click()`)
	b.wait("a target out of range refused", 10*time.Second, func(s pageState) bool { return strings.Contains(s.LineNote, "a first response of 744h0m0s") })
	b.eval(`document.getElementById('target-first').value = '90s'; document.getElementById('target-save').click()`)
	b.wait("the target saved", 10*time.Second, func(s pageState) bool {
		return s.LineNote == "Saved the target of cars: a first response within 90s."
	})
	if tg, err := nodes[2].Desk.LineTargets(ctx, "cars"); err != nil || tg == nil || tg.FirstResponseMs != 90000 || tg.AnswerTimeoutMs != 300000 {
		t.Fatalf("the target the page saved: %+v %v, want 90 s and the line's answer timeout kept", tg, err)
	}
	// No target drops the first response and keeps the answer timeout;
	// once that is gone too, it drops the targets.
	b.eval(`document.getElementById('target-clear').click()`)
	b.wait("the target cleared", 10*time.Second, func(s pageState) bool {
		return s.LineNote == "cars has no first-response target (its answer timeout stays)."
	})
	if tg, err := nodes[0].Desk.LineTargets(ctx, "cars"); err != nil || tg == nil || tg.FirstResponseMs != 0 || tg.AnswerTimeoutMs != 300000 {
		t.Fatalf("after No target: %+v %v, want the answer timeout alone", tg, err)
	}
	if _, err := nodes[0].Desk.SetTargets(ctx, "cars", &desk.Targets{FirstResponseMs: 60000}); err != nil {
		t.Fatal(err)
	}
	b.eval(`document.querySelector('#line-form button[type=submit]').click()`)
	b.wait("the line opened again", 10*time.Second, func(s pageState) bool { return s.TargetFirst == "1m" })
	b.eval(`document.getElementById('target-clear').click()`)
	b.wait("the targets cleared", 10*time.Second, func(s pageState) bool { return s.LineNote == "cars has no first-response target." })
	if tg, err := nodes[0].Desk.LineTargets(ctx, "cars"); err != nil || tg != nil {
		t.Fatalf("after No target: %+v %v", tg, err)
	}
	b.eval(`document.getElementById('replies-text').value = 'viewings: Monday to Saturday, by appointment.\nbye: Thanks: see you!'; document.getElementById('replies-save').click()`)
	b.wait("the replies saved", 10*time.Second, func(s pageState) bool { return s.LineNote == "Saved 2 replies of cars." })
	b.screenshot("dashboard-lines.png")
	if r, err := nodes[2].Desk.SavedReplies(ctx, "cars"); err != nil || len(r) != 2 || r[1].Name != "bye" || r[1].Text != "Thanks: see you!" {
		t.Fatalf("the replies the page saved: %+v %v", r, err)
	}
	b.eval(`document.getElementById('hours-clear').click()`)
	b.wait("the hours cleared", 10*time.Second, func(s pageState) bool { return s.LineNote == "cars is always open." })
	if h, err := nodes[0].Desk.LineHours(ctx, "cars"); err != nil || h != nil {
		t.Fatalf("after Always open: %+v %v", h, err)
	}

	b.checkScriptErrors()
	t.Logf("total %v", time.Since(started).Round(time.Millisecond))
}

// counterValue reads a counter of this process (the three nodes share the
// default registry); 0 when it is missing.
func counterValue(name string) float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// browser is one headless Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string // uncaught script errors
}

func newBrowser(t *testing.T, chromium string) *browser {
	// A fresh profile, and no background traffic: without these flags
	// Chromium keeps dialing out, which a closed network sees as a flood of
	// failures.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	// Bounds everything the browser does, hangs included.
	bctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(bctx, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancel() })
	b := &browser{t: t, ctx: ctx}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.errs = append(b.errs, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *browser) open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

func (b *browser) state() pageState {
	b.t.Helper()
	st, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageState](readState))
	if err != nil {
		b.t.Fatalf("read page: %v", err)
	}
	return st
}

// eval runs js in the page.
func (b *browser) eval(js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js+"; true")); err != nil {
		b.t.Fatalf("eval %s: %v", js, err)
	}
}

// wait polls the page until ok holds, for at most d.
func (b *browser) wait(what string, d time.Duration, ok func(pageState) bool) pageState {
	b.t.Helper()
	end := time.Now().Add(d)
	for {
		st := b.state()
		if ok(st) {
			return st
		}
		if time.Now().After(end) {
			b.t.Fatalf("timed out waiting for %s; page state %+v", what, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshot saves the whole page as a PNG artifact in
// $SWITCHBOARD_ARTIFACTS (default: the temp dir).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}

func (b *browser) checkScriptErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		b.t.Fatalf("script errors on the page: %v", b.errs)
	}
}

// tagOneSession starts a session of line, has its agent tag it and waits
// until the line's contact reasons count it.
func tagOneSession(t *testing.T, d *desk.Desk, line, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.SetScene(ctx, desk.Scene{Name: "reasons", Line: line, Route: []string{"queue:reasons"}}); err != nil {
		t.Fatal(err)
	}
	online, capacity, skills := desk.Online, 1, []string{"reasons"}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "agent1", Status: &online, Capacity: &capacity, Skills: &skills}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Enter(ctx, "customer1", "reasons")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err = d.Tag(ctx, "agent1", s.Conv, []string{tag}, nil); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("tag the session: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	today := time.Now().UTC()
	for {
		r, err := d.Reasons(ctx, line, today, today)
		if err == nil && r.Sessions == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the reasons of %s: %+v %v", line, r, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
