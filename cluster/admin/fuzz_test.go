package admin_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// adminRoutes are the endpoints FuzzAdminAPI calls: {} is the fuzzed path
// segment. Drain (it stops the node taking connections) and pprof are
// left out.
var adminRoutes = []struct{ method, path string }{
	{http.MethodPost, "/api/v1/conversations"},
	{http.MethodGet, "/api/v1/where/{}"},
	{http.MethodGet, "/api/v1/grains?node={}"},
	{http.MethodGet, "/api/v1/metrics?{}"},
	{http.MethodGet, "/api/v1/status"},
	{http.MethodPut, "/api/v1/desk/scenes/{}"},
	{http.MethodGet, "/api/v1/desk/agents/{}"},
	{http.MethodPost, "/api/v1/desk/agents/{}"},
	{http.MethodGet, "/api/v1/desk/queues/{}"},
	{http.MethodGet, "/api/v1/desk/sessions/{}"},
	{http.MethodPost, "/api/v1/desk/enter"},
	{http.MethodPost, "/api/v1/desk/reach"},
	{http.MethodPost, "/api/v1/desk/priority"},
	{http.MethodPost, "/api/v1/desk/merge"},
	{http.MethodGet, "/api/v1/desk/merges/{}"},
	{http.MethodPost, "/api/v1/desk/handover"},
	{http.MethodPost, "/api/v1/desk/transfer"},
	{http.MethodPost, "/api/v1/desk/close"},
	{http.MethodGet, "/api/v1/policy/words"},
	{http.MethodPut, "/api/v1/policy/words"},
	{http.MethodGet, "/api/v1/users/{}"},
	{http.MethodPost, "/api/v1/users/{}/suspend"},
	{http.MethodPost, "/api/v1/users/{}/unsuspend"},
	{http.MethodPost, "/api/v1/conversations/d:a:b/messages/{}/recall"},
	{http.MethodGet, "/api/v1/reports?{}"},
	{http.MethodPost, "/api/v1/reports/{}/resolve"},
	{http.MethodGet, "/api/v1/reports/{}/context?around=3"},
	{http.MethodPost, "/api/v1/messages"},
	{http.MethodGet, "/api/v1/conversations/{}/messages?limit=5"},
	{http.MethodPost, "/api/v1/conversations/{}/invites"},
	{http.MethodGet, "/api/v1/users/{}/profile"},
	{http.MethodPut, "/api/v1/users/{}/profile"},
	{http.MethodGet, "/api/v1/desk/customers/{}/attributes"},
	{http.MethodPut, "/api/v1/desk/customers/{}/attributes"},
	{http.MethodGet, "/api/v1/users/{}/away"},
	{http.MethodPut, "/api/v1/users/{}/away"},
	{http.MethodGet, "/api/v1/users/{}/quiet"},
	{http.MethodPut, "/api/v1/users/{}/quiet"},
	{http.MethodGet, "/api/v1/conversations/{}"},
	{http.MethodDelete, "/api/v1/users/{}/quiet"},
	{http.MethodPost, "/api/v1/users/{}/conversations/{}/labels"},
	{http.MethodGet, "/api/v1/desk/lines/{}/reasons"},
	{http.MethodGet, "/api/v1/conversations/{}/disappearing"},
	{http.MethodPut, "/api/v1/conversations/{}/disappearing"},
	{http.MethodGet, "/api/v1/conversations/{}/freeze"},
	{http.MethodPut, "/api/v1/conversations/{}/freeze"},
	{http.MethodGet, "/api/v1/conversations/{}/meta"},
	{http.MethodPut, "/api/v1/conversations/{}/meta"},
	{http.MethodGet, "/api/v1/users/seller/conversations?topic={}"},
	{http.MethodGet, "/api/v1/desk/lines/cars/reasons?{}"}, // last: a seed below gives it a query
}

// FuzzAdminAPI calls the admin API of a real node, with the operator's
// token, on fuzzed path segments, queries and bodies: every call is
// answered, and no answer is a server failure (5xx: a handler that
// panicked, hung or passed bad input to a grain).
func FuzzAdminAPI(f *testing.F) {
	bodies := []string{`{"conv":"g:x","kind":"group","title":"t","members":[{"user":"a","role":"owner"}]}`,
		`{"line":"cars","route":["queue:sales"]}`, `{"status":"online","capacity":1,"skills":["sales"]}`,
		`{"user":"c1","scene":"listing/7"}`, `{"from":"c1","to":"c9"}`, `{"user":"a1","conv":"s:cars:c1:1","to":"user:a2"}`,
		`{"blocked":["x"]}`, `{"actor":"a","create":true,"ttl":"1h","max_uses":2}`, `{"sender":"shop","to":"buyer","client_msg_id":"k","text":"hi"}`,
		`{"name":"Ann","avatar_url":"https://img.example/a.png"}`, `{"attributes":{"plan":"premium","orders":3,"vip":true,"x":null}}`, `{"after_ms":86400000}`, `{not json`, ``}
	for i := range adminRoutes {
		for _, b := range bodies {
			f.Add(uint8(i), "listing", []byte(b))
		}
	}
	f.Add(uint8(1), "conversation/g:x", []byte(nil))
	f.Add(uint8(3), "window=1m&key=a", []byte(nil))
	f.Add(uint8(len(adminRoutes)-1), "from=0001-01-01&to=9999-12-31", []byte(nil))

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: f.TempDir(), Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	node, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "admin-fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { node.Stop(true) })
	waitFor(f, func() bool { return len(node.ClusterMemberInfo()) == 1 })
	srv, err := admin.New(node, admin.Config{Token: "s3cret", Logger: log}, admin.Hooks{})
	if err != nil {
		f.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	f.Cleanup(hs.Close)
	hc := &http.Client{Timeout: 10 * time.Second}

	f.Fuzz(func(t *testing.T, route uint8, seg string, body []byte) {
		r := adminRoutes[int(route)%len(adminRoutes)]
		arg := url.PathEscape(seg)
		if strings.Contains(r.path, "?") {
			arg = seg
		}
		req, err := http.NewRequest(r.method, hs.URL+strings.Replace(r.path, "{}", arg, 1), bytes.NewReader(body))
		if err != nil {
			return // not a URL: nothing reaches the server
		}
		req.Header.Set("Authorization", "Bearer s3cret")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s %q: %v", r.method, req.URL, body, err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, req.URL, body, res.StatusCode, out)
		}
	})
}
