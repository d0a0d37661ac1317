package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestDeskAPI drives the desk through one node's admin API of a 3-node
// cluster (so the desk grains it reaches live on all three), and checks
// that every kind of bad request gets its status and a message.
func TestDeskAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var nodes []*boot.Node
	for i := 0; i < 3; i++ {
		cfg := boot.NodeConfig{Store: store, Logger: log, ClusterName: "desk-admin-test"}
		if i > 0 {
			cfg.Membership.Seeds = []string{nodes[0].MembershipAddr()}
		}
		n, err := boot.StartNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop(true) }()
		}
		wg.Wait()
	}()
	waitFor(t, func() bool { return len(nodes[0].ClusterMemberInfo()) == 3 && len(nodes[2].ClusterMemberInfo()) == 3 })
	srv, err := admin.New(nodes[0], admin.Config{Token: "s3cret", Logger: log}, admin.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(described(t, srv.Handler()))
	defer hs.Close()

	do := func(method, path, token string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		switch b := body.(type) {
		case nil:
		case string:
			rd = bytes.NewReader([]byte(b))
		default:
			raw, _ := json.Marshal(b)
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
	must := func(code int, out map[string]any) func(want int) map[string]any {
		return func(want int) map[string]any {
			t.Helper()
			if code != want {
				t.Fatalf("status %d (%v), want %d", code, out, want)
			}
			if msg, _ := out["error"].(string); want >= 400 && msg == "" {
				t.Fatalf("status %d without an error message: %v", code, out)
			}
			return out
		}
	}

	// Auth and bad input.
	must(do(http.MethodPut, "/api/v1/desk/scenes/listing", "", map[string]any{"line": "cars", "route": []string{"bot"}}))(401)
	must(do(http.MethodPut, "/api/v1/desk/scenes/listing", tok, "{not json"))(400)
	must(do(http.MethodPut, "/api/v1/desk/scenes/listing", tok, map[string]any{"line": "cars", "route": []string{"queue:"}}))(400)
	must(do(http.MethodPost, "/api/v1/desk/enter", tok, map[string]any{"user": "c1", "scene": "nosuch/1"}))(404)
	must(do(http.MethodPost, "/api/v1/desk/agents/a1", tok, map[string]any{"status": "sleeping"}))(400)
	must(do(http.MethodPost, "/api/v1/desk/close", tok, map[string]any{"user": "a1", "conv": "g:not-a-desk-conv"}))(404)

	// A session from entry to close.
	must(do(http.MethodPut, "/api/v1/desk/scenes/listing", tok, map[string]any{"line": "cars", "route": []string{"queue:sales"}}))(200)
	for _, a := range []string{"a1", "a2", "a3"} {
		must(do(http.MethodPost, "/api/v1/desk/agents/"+a, tok, map[string]any{"status": "online", "capacity": 1, "skills": []string{"sales"}}))(200)
	}
	must(do(http.MethodPost, "/api/v1/desk/agents/a3", tok, map[string]any{"status": "offline"}))(200)
	s := must(do(http.MethodPost, "/api/v1/desk/enter", tok, map[string]any{"user": "c1", "scene": "listing/7"}))(200)
	conv := s["conv"].(string)
	waitFor(t, func() bool {
		_, out := do(http.MethodGet, "/api/v1/desk/sessions/"+conv+"?user=a1", tok, nil)
		return out["agent"] == "a1"
	})
	must(do(http.MethodPost, "/api/v1/desk/transfer", tok, map[string]any{"user": "a1", "conv": conv, "to": "user:a3"}))(409)
	must(do(http.MethodPost, "/api/v1/desk/close", tok, map[string]any{"user": "a2", "conv": conv}))(403)
	out := must(do(http.MethodPost, "/api/v1/desk/transfer", tok, map[string]any{"user": "a1", "conv": conv, "to": "user:a2", "note": "n"}))(200)
	if out["agent"] != "a2" {
		t.Fatalf("after the transfer: %v", out)
	}
	// A CRM adds an internal note for the agents.
	out = must(do(http.MethodPost, "/api/v1/desk/note", tok, map[string]any{"user": "crm", "conv": conv, "note": "VIP customer"}))(200)
	if notes := out["notes"].([]any); len(notes) != 2 || notes[1].(map[string]any)["by"] != "crm" || notes[1].(map[string]any)["text"] != "VIP customer" {
		t.Fatalf("after the note: %v", out)
	}
	must(do(http.MethodPost, "/api/v1/desk/note", tok, map[string]any{"user": "crm", "conv": conv, "note": ""}))(400)
	// It files the session under its contact reasons.
	out = must(do(http.MethodPost, "/api/v1/desk/tag", tok, map[string]any{"user": "crm", "conv": conv, "add": []string{"Refund", "vip"}}))(200)
	if tags, _ := out["tags"].([]any); len(tags) != 2 || tags[0] != "refund" || tags[1] != "vip" {
		t.Fatalf("after the tags: %v", out)
	}
	must(do(http.MethodPost, "/api/v1/desk/tag", tok, map[string]any{"user": "crm", "conv": conv, "add": []string{"not a tag"}}))(400)
	// The line's contact reasons count them (the week to today by default).
	waitFor(t, func() bool {
		_, out := do(http.MethodGet, "/api/v1/desk/lines/cars/reasons", tok, nil)
		return out["tagged_sessions"] == 1.0 && fmt.Sprint(out["tags"]) == "[map[sessions:1 tag:refund] map[sessions:1 tag:vip]]"
	})
	today := time.Now().UTC().Format(time.DateOnly)
	if out := must(do(http.MethodGet, "/api/v1/desk/lines/cars/reasons?from="+today+"&to="+today, tok, nil))(200); out["tagged_sessions"] != 1.0 || out["from"] != today {
		t.Fatalf("today's reasons: %v", out)
	}
	must(do(http.MethodGet, "/api/v1/desk/lines/cars/reasons?from=yesterday", tok, nil))(400)
	must(do(http.MethodGet, "/api/v1/desk/lines/cars/reasons?from=2026-01-01&to=2026-12-31", tok, nil))(400)
	must(do(http.MethodGet, "/api/v1/desk/lines/cars/reasons?from=2026-12-31&to=2026-01-01", tok, nil))(400)
	if out = must(do(http.MethodGet, "/api/v1/desk/sessions/"+conv+"?user=c1", tok, nil))(200); out["tags"] != nil || out["notes"] != nil {
		t.Fatalf("the customer's view: %v", out)
	}
	q := must(do(http.MethodGet, "/api/v1/desk/queues/sales", tok, nil))(200)
	if st := q["stats"].(map[string]any); st["assigned"] != 1.0 {
		t.Fatalf("queue: %v", q)
	}
	must(do(http.MethodPost, "/api/v1/desk/close", tok, map[string]any{"user": "c1", "conv": conv, "reason": "thanks"}))(200)
	// The customer rates the session it closed, once, 1 to 5; nobody else does.
	must(do(http.MethodPost, "/api/v1/desk/rate", tok, map[string]any{"user": "c1", "conv": conv, "score": 6}))(400)
	must(do(http.MethodPost, "/api/v1/desk/rate", tok, map[string]any{"user": "a2", "conv": conv, "score": 1}))(403)
	if out := must(do(http.MethodPost, "/api/v1/desk/rate", tok, map[string]any{"user": "c1", "conv": conv, "score": 5, "comment": "quick"}))(200); out["score"] != 5.0 || out["agent"] != "a2" || out["duplicate"] != false {
		t.Fatalf("rating: %v", out)
	}
	out = must(do(http.MethodGet, "/api/v1/desk/agents/a2", tok, nil))(200)
	if out["load"] != 0.0 {
		t.Fatalf("a2 after the close: %v", out)
	}
	// The business gives a customer a priority in the line.
	must(do(http.MethodPost, "/api/v1/desk/priority", "", map[string]any{"line": "cars", "customer": "c3", "priority": 5}))(401)
	must(do(http.MethodPost, "/api/v1/desk/priority", tok, map[string]any{"line": "cars", "customer": "c3", "priority": 10}))(400)
	if out := must(do(http.MethodPost, "/api/v1/desk/priority", tok, map[string]any{"line": "cars", "customer": "c3", "priority": 5}))(200); out["priority"] != 5.0 || out["customer"] != "c3" {
		t.Fatalf("priority: %v", out)
	}
	// A CRM's "contact the customer": a2 writes to c2 first.
	must(do(http.MethodPost, "/api/v1/desk/reach", "", map[string]any{"user": "a2", "customer": "c2", "scene": "listing/9"}))(401)
	must(do(http.MethodPost, "/api/v1/desk/reach", tok, map[string]any{"user": "crm", "customer": "c2", "scene": "listing/9"}))(403)
	must(do(http.MethodPost, "/api/v1/desk/reach", tok, map[string]any{"user": "a2", "customer": "c2", "scene": "nosuch"}))(404)
	out = must(do(http.MethodPost, "/api/v1/desk/reach", tok, map[string]any{"user": "a2", "customer": "c2", "scene": "listing/9"}))(200)
	if out["agent"] != "a2" || out["state"] != desk.StateAssigned {
		t.Fatalf("a2 reaches c2: %v", out)
	}
	must(do(http.MethodPost, "/api/v1/desk/reach", tok, map[string]any{"user": "a1", "customer": "c2", "scene": "listing"}))(409)
	must(do(http.MethodPost, "/api/v1/desk/close", tok, map[string]any{"user": "a2", "conv": out["conv"]}))(200)
	// The grains behind these calls were not all on the node asked.
	remote := 0
	for _, g := range [][2]string{{desk.KindAgent, "a1"}, {desk.KindAgent, "a2"}, {desk.KindAgent, "a3"},
		{desk.KindQueue, "sales"}, {desk.KindScenes, "all"}, {desk.KindThread, "cars/c1"}} {
		if nodes[0].Where(g[0], g[1]) != nodes[0].System().Address() {
			remote++
		}
	}
	if remote == 0 {
		t.Fatal("every desk grain is on the node the API runs on; the test covers no remote call")
	}
	scenes := must(do(http.MethodGet, "/api/v1/desk/scenes", tok, nil))(200)
	if len(scenes["scenes"].([]any)) != 1 {
		t.Fatalf("scenes: %v", scenes)
	}
	// Opening hours: set, read, refused, cleared.
	hours := map[string]any{"tz": "Europe/Berlin", "week": map[string]string{"mon": "09:00-17:00"}, "message": "From 9 to 5"}
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/hours", "", hours))(401)
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/hours", tok, map[string]any{"tz": "Nowhere/Else"}))(400)
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/hours", tok, hours))(200)
	got := must(do(http.MethodGet, "/api/v1/desk/lines/cars/hours", tok, nil))(200)
	if h, _ := got["hours"].(map[string]any); h == nil || h["tz"] != "Europe/Berlin" || h["message"] != "From 9 to 5" {
		t.Fatalf("hours: %v", got)
	}
	must(do(http.MethodDelete, "/api/v1/desk/lines/cars/hours", tok, nil))(200)
	// First-response targets: set, read, refused, cleared.
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/targets", "", map[string]any{"first_response_ms": 120000}))(401)
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/targets", tok, map[string]any{"first_response_ms": 999}))(400)
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/targets", tok, map[string]any{"first_response_ms": 120000}))(200)
	if got := must(do(http.MethodGet, "/api/v1/desk/lines/cars/targets", tok, nil))(200); fmt.Sprint(got["targets"]) != "map[first_response_ms:120000]" {
		t.Fatalf("targets: %v", got)
	}
	must(do(http.MethodDelete, "/api/v1/desk/lines/cars/targets", tok, nil))(200)
	if got := must(do(http.MethodGet, "/api/v1/desk/lines/cars/targets", tok, nil))(200); got["targets"] != nil {
		t.Fatalf("cleared targets: %v", got)
	}
	// Saved replies: replaced whole, read back in order.
	replies := map[string]any{"replies": []map[string]string{{"name": "hours", "text": "9 to 5"}, {"name": "bye", "text": "Thanks!"}}}
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/replies", "", replies))(401)
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/replies", tok, map[string]any{"replies": []map[string]string{{"name": "x", "text": ""}}}))(400)
	must(do(http.MethodPut, "/api/v1/desk/lines/cars/replies", tok, replies))(200)
	if got := must(do(http.MethodGet, "/api/v1/desk/lines/cars/replies", tok, nil))(200); fmt.Sprint(got["replies"]) != "[map[name:hours text:9 to 5] map[name:bye text:Thanks!]]" {
		t.Fatalf("saved replies: %v", got)
	}
	if got := must(do(http.MethodGet, "/api/v1/desk/lines/cars/hours", tok, nil))(200); got["hours"] != nil {
		t.Fatalf("cleared hours: %v", got)
	}
	// Identity merge: c1's conversation becomes c9's.
	must(do(http.MethodPost, "/api/v1/desk/merge", tok, map[string]any{"from": "c1", "to": "c1"}))(400)
	must(do(http.MethodPost, "/api/v1/desk/merge", tok, map[string]any{"from": "c 1", "to": "c9"}))(400)
	m := must(do(http.MethodPost, "/api/v1/desk/merge", tok, map[string]any{"from": "c1", "to": "c9"}))(200)
	if m["phase"] != desk.MergeDone || m["moved"] != 1.0 {
		t.Fatalf("merge: %v", m)
	}
	if m = must(do(http.MethodGet, "/api/v1/desk/merges/c1", tok, nil))(200); m["to"] != "c9" {
		t.Fatalf("merge record: %v", m)
	}
	must(do(http.MethodGet, "/api/v1/desk/merges/c7", tok, nil))(404)
	must(do(http.MethodPost, "/api/v1/desk/merge", tok, map[string]any{"from": "c1", "to": "c8"}))(409)
	if mem, err := nodes[1].Store().GetMember(context.Background(), conv, "c9"); err != nil || !mem.Active() {
		t.Fatalf("c9 in %s: %+v %v", conv, mem, err)
	}
}
