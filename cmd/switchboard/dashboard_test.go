package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport/client"
)

const dashboardPath = "../../deploy/grafana/switchboard.json"

// grafanaDashboard is the part of a Grafana dashboard's JSON the tests read.
type grafanaDashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// metricName finds the metric names a PromQL expression or a rule file
// reads (this node's, the Go runtime's and the process's).
var metricName = regexp.MustCompile(`\b(?:switchboard|go|process)_[a-z0-9_]+\b`)

// registered reports whether the node's binary registers a metric name:
// registering a descriptor of that name fails exactly when one is.
func registered(name string) bool {
	probe := probeCollector{prometheus.NewDesc(name, "probe", nil, nil)}
	if err := prometheus.Register(probe); err != nil {
		return true
	}
	prometheus.Unregister(probe)
	return false
}

type probeCollector struct{ desc *prometheus.Desc }

func (p probeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }
func (p probeCollector) Collect(chan<- prometheus.Metric)    {}

// TestDashboardAndAlertsNameRealMetrics: every metric the Grafana
// dashboard and the alert rules read is one the node registers (a
// histogram's through its _bucket, _sum and _count series), so a renamed
// metric fails here instead of leaving a panel or an alert silently empty.
// And the dashboard is well formed: unique panel ids, every panel on the
// dashboard's Prometheus variable, inside the 24-column grid.
func TestDashboardAndAlertsNameRealMetrics(t *testing.T) {
	d := readDashboard(t)
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if d.UID == "" || !slices.Contains(vars, "datasource") || !slices.Contains(vars, "instance") {
		t.Fatalf("dashboard uid %q, variables %v: want a uid, $datasource and $instance", d.UID, vars)
	}
	exprs := map[string]string{} // expression → where
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice (%q)", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q outside the grid: %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %+v, %d queries; want ${datasource} and a query", p.Title, p.Datasource, len(p.Targets))
		}
		for _, q := range p.Targets {
			exprs[q.Expr] = "panel " + p.Title
		}
	}
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	exprs[string(rules)] = "deploy/prometheus/alerts.yml"
	seen := 0
	for expr, where := range exprs {
		for _, name := range metricName.FindAllString(expr, -1) {
			seen++
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if !registered(name) && !registered(base) {
				t.Errorf("%s reads %s, which the node does not register", where, name)
			}
		}
	}
	if seen < 50 {
		t.Fatalf("only %d metric names found: the pattern no longer reads the files", seen)
	}
	if registered("switchboard_no_such_metric") {
		t.Fatal("the probe finds a metric nobody registered")
	}
}

// TestDashboardQueriesOnPrometheus runs every query of the Grafana
// dashboard on a real Prometheus scraping a dev node that carried some
// chat: each must be a query Prometheus accepts, and the panels of the
// traffic a node always has must show it.
func TestDashboardQueriesOnPrometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		testenv.Missing(t, "prometheus not found (Debian's prometheus package; .ci/run installs it)")
	}
	d := readDashboard(t)
	n := newDevNode(t)
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ann, bob := n.dial(ctx, "ann", "phone"), n.dial(ctx, "bob", "phone")
	for i := range 5 {
		if _, err := ann.SendText(ctx, client.ToUser("bob"), fmt.Sprint("hello ", i)); err != nil {
			t.Fatal(err)
		}
	}
	_ = bob

	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: switchboard\n    static_configs:\n      - targets: [%q]\n", n.admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	web := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var promLog lockedBuffer
	prom := exec.Command(promBin, "--config.file", config, "--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", web)
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	})
	query := func(expr string) (result []json.RawMessage, err error) {
		res, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var body struct {
			Status, Error string
			Data          struct{ Result []json.RawMessage }
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			return nil, err
		}
		if body.Status != "success" {
			return nil, fmt.Errorf("%s", body.Error)
		}
		return body.Data.Result, nil
	}
	// Rates need two scrapes in their window: wait for five.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := query(`count_over_time(up{job="switchboard"}[1m]) >= 5`)
		if err == nil && len(r) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus did not scrape the node five times: %v %v", r, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// What Grafana puts in place of the variables.
	vars := strings.NewReplacer("$__rate_interval", "30s", "$instance", ".*")
	shown := map[string]bool{}
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			r, err := query(vars.Replace(q.Expr))
			if err != nil {
				t.Errorf("panel %q: %s: %v", p.Title, q.Expr, err)
			}
			shown[p.Title] = shown[p.Title] || len(r) > 0
		}
	}
	for _, title := range []string{"Sends by result", "Acked and delivered", "Ack latency", "Connections", "Store operations p99", "Process", "Memory"} {
		if !shown[title] {
			t.Errorf("panel %q shows nothing after the node carried chat", title)
		}
	}
}
