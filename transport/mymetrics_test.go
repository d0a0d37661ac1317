package transport_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// adminRows reads GET /api/v1/metrics?window=W&key=K, the admin API
// `switchboard metrics --json` calls.
func adminRows(t *testing.T, base, window, key string) []analytics.Row {
	t.Helper()
	res, err := http.Get(base + "/api/v1/metrics?window=" + window + "&key=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("admin metrics: %s", res.Status)
	}
	var rep analytics.Report
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep.Rows
}

// wireRow is an admin row as my_metrics carries it.
func wireRow(r analytics.Row) *wirepb.MyMetricsRow {
	return &wirepb.MyMetricsRow{
		WindowStartMs: r.WindowStart.UnixMilli(), WindowEndMs: r.WindowEnd.UnixMilli(),
		Questions: r.Questions, Timely: r.Timely, TimelyRate: r.TimelyRate, AvgResponseMs: r.AvgResponseMs,
		MsgQuestions: r.MsgQuestions, MsgTimely: r.MsgTimely, MsgTimelyRate: r.MsgTimelyRate, AvgMsgResponseMs: r.AvgMsgResponseMs,
		Sessions: r.Sessions, AvgSessionMs: r.AvgSessionMs, AvgSessionMessages: r.AvgSessionMessages, AvgFirstResponseMs: r.AvgFirstResponseMs,
		QueueWaits: r.QueueWaits, AvgQueueWaitMs: r.AvgQueueWaitMs, Abandoned: r.Abandoned,
		Ratings: r.Ratings, AvgRating: r.AvgRating, Satisfied: r.Satisfied, CsatRate: r.CSATRate,
		DeskFirstResponses: r.DeskFirstResponses, DeskFirstTimely: r.DeskFirstTimely,
		DeskFirstTimelyRate: r.DeskFirstTimelyRate, AvgDeskFirstResponseMs: r.AvgDeskFirstResponseMs,
		DeskHandled: r.DeskHandled, DeskResolved: r.DeskResolved, AvgHandleMs: r.AvgHandleMs, DeskMissed: r.DeskMissed, Final: r.Final,
	}
}

func rowString(r *wirepb.MyMetricsRow) string { return fmt.Sprintf("%+v", r) }

// An agent who answered a customer reads its own service metrics over
// QUIC: the same numbers the admin API has for its key, and nobody else's.
func TestMyMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1", "a2")
	as, err := admin.New(e.nodes[0], admin.Config{OpenReadOnly: true, Logger: testLogger()}, admin.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(as.Handler())
	t.Cleanup(api.Close)

	c1, eve := e.dial("c1", "web"), e.dial("eve", "phone")
	s, err := c1.DeskEnter(ctx, "listing", "1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "an agent assigned", func() bool {
		s, err = c1.DeskEnter(ctx, "listing", "1")
		return err == nil && s.State == desk.StateAssigned
	})
	agent := e.dial(s.Agent, "wb")
	if _, err := c1.Send(client.ToConv(s.Conv), []byte("is it still for sale?"), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent sees the question", func() bool { return len(texts(t, agent, s.Conv)) == 1 })
	time.Sleep(20 * time.Millisecond) // a response time above zero
	p, err := agent.Send(client.ToConv(s.Conv), []byte("yes"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	// The engine sees the reply shortly: poll until the agent's row counts
	// it and equals the admin API's row for the same key and window.
	var mine *wirepb.MyMetricsResult
	deadline := time.Now().Add(20 * time.Second)
	for {
		mine, err = agent.MyMetrics(ctx, "1h", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(mine.Rows) == 1 && mine.Rows[0].Questions >= 1 {
			adm := adminRows(t, api.URL, "1h", s.Agent)
			i := slices.IndexFunc(adm, func(r analytics.Row) bool { return r.WindowStart.UnixMilli() == mine.Rows[0].WindowStartMs })
			if i >= 0 && adm[i].Key == s.Agent && rowString(wireRow(adm[i])) == rowString(mine.Rows[0]) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's row %+v never matched the admin API's %+v", mine, adminRows(t, api.URL, "1h", s.Agent))
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := mine.Rows[0]
	if mine.User != s.Agent || mine.Window != "1h" || r.Questions != 1 || r.Timely != 1 || r.TimelyRate != 1 || r.AvgResponseMs <= 0 ||
		r.Sessions != 1 || r.AvgFirstResponseMs <= 0 || r.QueueWaits != 1 || r.WindowEndMs-r.WindowStartMs != time.Hour.Milliseconds() ||
		r.DeskFirstResponses != 1 || r.DeskFirstTimely != 1 || r.AvgDeskFirstResponseMs <= 0 {
		t.Fatalf("the agent's own row: %+v", mine)
	}
	// The one-minute family is kept too (the engine's default windows).
	if m, err := agent.MyMetrics(ctx, "1m", transport.MaxMyMetricsRows); err != nil || len(m.Rows) == 0 || m.Rows[0].Questions != 1 {
		t.Fatalf("the minute windows at the row limit: %+v %v", m, err)
	}

	// Nobody else's row: without a key everyone gets their own, and
	// another key is a supervisor's only.
	for _, who := range []*client.Client{c1, eve} {
		m, err := who.MyMetrics(ctx, "1h", transport.MaxMyMetricsRows)
		if err != nil || len(m.Rows) != 0 || m.User == s.Agent {
			t.Fatalf("%s reads metrics: %+v %v, want its own (none)", m.GetUser(), m, err)
		}
	}
	other := "a1"
	if s.Agent == "a1" {
		other = "a2"
	}
	otherAgent := e.dial(other, "wb")
	if m, err := otherAgent.MyMetrics(ctx, "1h", 0); err != nil || m.User != other || len(m.Rows) != 0 {
		t.Fatalf("the idle agent %s reads: %+v %v, want no rows", other, m, err)
	}
	for _, who := range []*client.Client{c1, eve, otherAgent} {
		for _, key := range []string{s.Agent, analytics.AllKey, "line:cars"} {
			if m, err := who.TeamMetrics(ctx, key, "1h", 0); codeOf(err) != wirepb.Code_FORBIDDEN {
				t.Fatalf("a user who is no supervisor reads %s: %+v %v, want FORBIDDEN", key, m, err)
			}
		}
	}
	if m, err := agent.TeamMetrics(ctx, s.Agent, "1h", 0); err != nil || m.Key != s.Agent || rowString(m.Rows[0]) != rowString(r) {
		t.Fatalf("the agent's own key, named: %+v %v", m, err)
	}

	// A supervisor (who takes no sessions) reads the agent's row, the whole
	// desk's and the line's: the admin API's numbers. Not a malformed key.
	if _, err := e.nodes[0].Desk.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	sup := e.dial("sup", "wb")
	if st, err := sup.DeskStatus(ctx, ""); err != nil || !st.Supervisor {
		t.Fatalf("the supervisor's status: %+v %v", st, err)
	}
	if m, err := sup.TeamMetrics(ctx, s.Agent, "1h", 0); err != nil || m.Key != s.Agent || m.User != "sup" || len(m.Rows) != 1 || rowString(m.Rows[0]) != rowString(r) {
		t.Fatalf("the supervisor reads %s: %+v %v, want %+v", s.Agent, m, err, r)
	}
	for _, key := range []string{analytics.AllKey, "line:cars"} {
		m, err := sup.TeamMetrics(ctx, key, "1h", 0)
		if err != nil || m.Key != key || len(m.Rows) != 1 || m.Rows[0].Questions != 1 {
			t.Fatalf("the supervisor reads %s: %+v %v", key, m, err)
		}
		adm := adminRows(t, api.URL, "1h", key)
		if i := slices.IndexFunc(adm, func(a analytics.Row) bool { return a.WindowStart.UnixMilli() == m.Rows[0].WindowStartMs }); i < 0 || rowString(wireRow(adm[i])) != rowString(m.Rows[0]) {
			t.Fatalf("the supervisor's %s row %+v, the admin API's %+v", key, m.Rows[0], adm)
		}
	}
	if m, err := sup.MyMetrics(ctx, "1h", 0); err != nil || m.Key != "sup" || len(m.Rows) != 0 {
		t.Fatalf("the supervisor's own rows: %+v %v, want none", m, err)
	}
	for _, key := range []string{"line:", "line:bad name", "bad id"} {
		if _, err := sup.TeamMetrics(ctx, key, "1h", 0); codeOf(err) != wirepb.Code_INVALID {
			t.Errorf("key %q: %v, want INVALID", key, err)
		}
	}
	// The key limit at its edge: the longest line key is read, one byte
	// more is refused before anything reads it.
	longest := "line:" + strings.Repeat("l", transport.MaxMetricsKeyBytes-len("line:"))
	if m, err := sup.TeamMetrics(ctx, longest, "1h", 0); err != nil || m.Key != longest {
		t.Fatalf("the longest key (%d bytes): %+v %v", len(longest), m, err)
	}
	if _, err := sup.TeamMetrics(ctx, longest+"l", "1h", 0); codeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("a key one byte over the limit: %v, want INVALID naming the limit", err)
	}

	// Bad requests.
	for _, bad := range []struct {
		window string
		limit  int
		what   string
	}{
		{"2h", 0, "a window the engine does not keep"},
		{"1h/30m", 0, "a sliding family the engine does not keep"},
		{"hourly", 0, "a malformed window"},
		{"", 0, "no window"},
		{strings.Repeat("1", transport.MaxMetricsWindowBytes) + "s", 0, "a window name over its limit"},
		{"1h", transport.MaxMyMetricsRows + 1, "a limit over MaxMyMetricsRows"},
	} {
		if _, err := agent.MyMetrics(ctx, bad.window, bad.limit); codeOf(err) != wirepb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", bad.what, err)
		}
	}

	// A node without the metrics engine says so.
	e.nodes[0].SetMyMetrics(nil)
	if _, err := agent.MyMetrics(ctx, "1h", 0); codeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), "no metrics engine") {
		t.Fatalf("no metrics engine: %v", err)
	}
}
