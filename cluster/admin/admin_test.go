package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/version"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestAdminAPI runs a real 3-node cluster on loopback with an admin server
// on each node and exercises the API through one of them.
func TestAdminAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var nodes []*boot.Node
	var servers []*httptest.Server
	drained := make(chan string, 3)
	for i := 0; i < 3; i++ {
		cfg := boot.NodeConfig{Store: store, Logger: log, ClusterName: "admin-test"}
		if i > 0 {
			cfg.Membership.Seeds = []string{nodes[0].MembershipAddr()}
		}
		n, err := boot.StartNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		id := n.ID()
		srv, err := admin.New(n, admin.Config{Token: "s3cret", Logger: log}, admin.Hooks{
			Connections: func() int { return 7 },
			Drain:       func(context.Context) error { drained <- id; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, httptest.NewServer(described(t, srv.Handler())))
	}
	defer func() {
		var wg sync.WaitGroup
		for i, n := range nodes {
			servers[i].Close()
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop(true) }()
		}
		wg.Wait()
	}()
	waitFor(t, func() bool { return len(nodes[0].ClusterMemberInfo()) == 3 && len(nodes[2].ClusterMemberInfo()) == 3 })

	get := func(path, token string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, servers[0].URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}

	// No token, a wrong token: 401.
	if code, _ := get("/api/v1/members", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code, _ := get("/api/v1/members", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	// Profiles always need the token, even where reads are open.
	if code, _ := get("/debug/pprof/", ""); code != http.StatusUnauthorized {
		t.Fatalf("pprof without token: %d, want 401", code)
	}
	if req, _ := http.NewRequest(http.MethodGet, servers[0].URL+"/debug/pprof/heap?debug=1", nil); req != nil {
		req.Header.Set("Authorization", "Bearer s3cret")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("pprof heap with token: %v %v", res, err)
		}
		res.Body.Close()
	}
	// /healthz and /metrics stay open for probes and scrapers.
	if res, err := http.Get(servers[0].URL + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}

	code, body := get("/api/v1/members", "s3cret")
	if code != 200 {
		t.Fatalf("members: %d %v", code, body)
	}
	members := body["members"].([]any)
	if len(members) != 3 {
		t.Fatalf("members: %v", members)
	}
	for _, m := range members {
		row := m.(map[string]any)
		// Each member says which build it runs (asked over the wire, but
		// for the node answering): what a rolling upgrade is watched by.
		if row["state"] != "alive" || row["connections"].(float64) != 7 || row["version"] != version.Get().Short() {
			t.Fatalf("member row %v", row)
		}
	}

	// Where: agrees with where the grain really activates.
	code, body = get("/api/v1/where/user/alice", "s3cret")
	if code != 200 {
		t.Fatalf("where: %d %v", code, body)
	}
	if _, err := nodes[1].OnlineDevices(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	host := body["address"].(string)
	var hosting *boot.Node
	for _, n := range nodes {
		if n.Address() == host {
			hosting = n
		}
	}
	if hosting == nil || hosting.GrainCounts()["user"] != 1 {
		t.Fatalf("where says %s; grain counts %v %v %v", host, nodes[0].GrainCounts(), nodes[1].GrainCounts(), nodes[2].GrainCounts())
	}
	code, body = get("/api/v1/grains?node="+hosting.ID(), "s3cret")
	if code != 200 || !strings.Contains(mustJSON(body), `"user":1`) {
		t.Fatalf("grains: %d %v", code, body)
	}

	code, body = get("/api/v1/status", "s3cret")
	if code != 200 || body["health"] != "ok" || body["members"].(float64) != 3 {
		t.Fatalf("status: %d %v", code, body)
	}
	if builds := body["builds"].(map[string]any); len(builds) != 1 || builds[version.Get().Short()] != 3.0 {
		t.Fatalf("status builds: %v; want all three on %s", builds, version.Get().Short())
	}

	// A backup is mutating too; these nodes have no backup hook (as on a
	// CQL store): 501 with what to do instead.
	for token, want := range map[string]int{"": http.StatusUnauthorized, "s3cret": http.StatusNotImplemented} {
		req, _ := http.NewRequest(http.MethodPost, servers[0].URL+"/api/v1/store/backup", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want || token != "" && !strings.Contains(string(b), "snapshots") {
			t.Fatalf("backup with token %q: %d %s, want %d", token, res.StatusCode, b, want)
		}
	}

	// Drain another node through this one: mutating, so the token is required.
	req, _ := http.NewRequest(http.MethodPost, servers[0].URL+"/api/v1/drain/"+nodes[2].ID(), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("drain without token: %v %v", res, err)
	}
	req.Header.Set("Authorization", "Bearer s3cret")
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("drain: %v %v", res, err)
	}
	select {
	case id := <-drained:
		if id != nodes[2].ID() {
			t.Fatalf("drained %s, want %s", id, nodes[2].ID())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain hook not called")
	}
	// The drained node is no longer ready for new clients (a load
	// balancer's check) but still healthy (no restart); the others are both.
	probe := func(srv *httptest.Server, path string) int {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	waitFor(t, func() bool { return probe(servers[2], "/readyz") == http.StatusServiceUnavailable })
	if probe(servers[2], "/healthz") != http.StatusOK || probe(servers[0], "/readyz") != http.StatusOK {
		t.Fatal("a drained node's health, or another node's readiness, changed")
	}
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
