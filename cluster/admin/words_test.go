package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestWordListsAtRunTime: a blocked and a monitor-only list at once,
// replaced through one node's admin API and in force on the other node
// within the reload interval; blocked sends get REJECTED_POLICY, monitored
// ones are delivered flagged and counted; limits hold at their edges; the
// stored lists outlive a restart and win over the configuration.
func TestWordListsAtRunTime(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acfg := actors.Config{BlockedWords: []string{"spam"}, WordListReload: 100 * time.Millisecond, MaxWords: 3, MaxWordBytes: 8}
	start := func(seed string) *boot.Node {
		cfg := boot.NodeConfig{Store: store, Logger: log, ClusterName: "words-test", Actors: acfg}
		if seed != "" {
			cfg.Membership.Seeds = []string{seed}
		}
		n, err := boot.StartNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	nodes := []*boot.Node{start("")}
	nodes = append(nodes, start(nodes[0].MembershipAddr()))
	stopAll := func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop(true) }()
		}
		wg.Wait()
		nodes = nil
	}
	defer func() { stopAll() }()
	waitFor(t, func() bool { return len(nodes[0].ClusterMemberInfo()) == 2 && len(nodes[1].ClusterMemberInfo()) == 2 })
	srv, err := admin.New(nodes[0], admin.Config{Token: "s3cret", Logger: log}, admin.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(described(t, srv.Handler()))
	defer hs.Close()
	do := func(method, path, token string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, hs.URL+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	const tok = "s3cret"

	ctx := t.Context()
	// Several groups, so their grains land on both nodes.
	var groups []string
	for i := range 6 {
		g := fmt.Sprintf("g:words%d", i)
		if _, err := nodes[0].CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "u"}); err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	n := 0
	send := func(node *boot.Node, g, text string) (*pb.SendResponse, error) {
		n++
		return node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "u", ClientMsgId: fmt.Sprint("c", n), Body: []byte(text)})
	}
	// everywhere checks a send of text into every group through both nodes.
	everywhere := func(text string, wantCode pb.Code, wantFlagged bool) {
		t.Helper()
		for _, node := range nodes {
			for _, g := range groups {
				r, err := send(node, g, text)
				if actors.CodeOf(err) != wantCode {
					t.Fatalf("%q in %s: %v, want %v", text, g, err, wantCode)
				}
				if err == nil && r.Flagged != wantFlagged {
					t.Fatalf("%q in %s: flagged %v, want %v", text, g, r.Flagged, wantFlagged)
				}
			}
		}
	}

	// From the configuration.
	code, out := do(http.MethodGet, "/api/v1/policy/words", tok, nil)
	if code != 200 || fmt.Sprint(out["blocked"]) != "[spam]" || fmt.Sprint(out["monitor"]) != "[]" {
		t.Fatalf("GET words: %d %v", code, out)
	}
	everywhere("buy SPAM now", pb.Code_REJECTED_POLICY, false)
	everywhere("a refund please", pb.Code_OK, false)

	// Auth and limits, at their edges.
	if code, _ := do(http.MethodPut, "/api/v1/policy/words", "", map[string]any{"blocked": []string{"x"}}); code != 401 {
		t.Fatalf("PUT without the token: %d", code)
	}
	if code, out := do(http.MethodPut, "/api/v1/policy/words", tok, map[string]any{"blocked": []string{"a", "b", "c", "d"}}); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "limit 3") {
		t.Fatalf("4 words over the limit of 3: %d %v", code, out)
	}
	if code, out := do(http.MethodPut, "/api/v1/policy/words", tok, map[string]any{"monitor": []string{"123456789"}}); code != 400 {
		t.Fatalf("a 9-byte word over the limit of 8: %d %v", code, out)
	}

	// Both lists at once, replaced at run time through node 0.
	monitored := scrape(t, hs.URL, `switchboard_policy_matches_total{list="monitor"}`)
	code, out = do(http.MethodPut, "/api/v1/policy/words", tok, map[string]any{"blocked": []string{"scam", "12345678"}, "monitor": []string{"Refund", "xq", "zq"}})
	if code != 200 || fmt.Sprint(out["monitor"]) != "[refund xq zq]" {
		t.Fatalf("PUT words: %d %v", code, out)
	}
	version := out["version"].(float64)
	waitFor(t, func() bool { return nodes[1].WordLists().Version == int64(version) })
	everywhere("it is a SCAM", pb.Code_REJECTED_POLICY, false)
	everywhere("buy spam now", pb.Code_OK, false)
	everywhere("refund please", pb.Code_OK, true)
	if got := scrape(t, hs.URL, `switchboard_policy_matches_total{list="monitor"}`); got-monitored != float64(2*len(groups)) {
		t.Fatalf("monitor matches counted %v, want %d", got-monitored, 2*len(groups))
	}
	// The flag is stored with the message.
	msgs, err := nodes[1].History(ctx, &pb.GetHistory{Conv: groups[0], User: "u", Limit: 1})
	if err != nil || len(msgs) != 1 || !msgs[0].Flagged {
		t.Fatalf("last message of %s: %v, %v", groups[0], msgs, err)
	}

	// A restart keeps the stored lists, not the configuration's.
	stopAll()
	nodes = []*boot.Node{start("")}
	if got := nodes[0].WordLists(); fmt.Sprint(got.Blocked) != "[scam 12345678]" {
		t.Fatalf("after restart: %+v", got)
	}
	if _, err := send(nodes[0], groups[0], "spam is fine now"); err != nil {
		t.Fatal(err)
	}
	if _, err := send(nodes[0], groups[0], "scam"); actors.CodeOf(err) != pb.Code_REJECTED_POLICY {
		t.Fatalf("scam after restart: %v", err)
	}
}

// scrape reads one sample from the node's /metrics (0 when absent).
func scrape(t *testing.T, base, series string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
