package admin_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/storage"
)

// TestAPIKeys: a key reaches only the routes of its scopes (403 naming
// the scope it needs elsewhere, the admin token's routes included), an
// unknown key is 401, the admin token still reaches everything, and a key
// added to or revoked from the file takes effect without a restart; a
// file that stops parsing keeps the keys read before.
func TestAPIKeys(t *testing.T) {
	defer admin.RecheckKeysAlways()()
	shop, shopEntry := newKey(t, "shop-backend", admin.ScopeMessages)
	ops, opsEntry := newKey(t, "ops", admin.ScopeStatus, admin.ScopeMembers)
	file := filepath.Join(t.TempDir(), "api-keys")
	writeKeys(t, file, "# keys of the shop\n"+shopEntry.Line()+"\n\n"+opsEntry.Line()+"\n")
	call := startAdminAPI(t, actors.Config{}, admin.Config{APIKeysFile: file})

	shipped := `{"sender":"shop","to":"buyer","client_msg_id":"order-1","text":"Your order shipped"}`
	call(http.MethodPost, "/api/v1/messages", shop, shipped, http.StatusCreated, nil)
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages", shop, "", http.StatusOK, nil)
	for _, denied := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/conversations/d:buyer:shop/members", ""},          // members
		{http.MethodPost, "/api/v1/conversations", `{"conv":"g:x","kind":"group"}`}, // members
		{http.MethodGet, "/api/v1/users/buyer/messages", ""},                        // moderation
		{http.MethodPost, "/api/v1/users/buyer/erase", ""},                          // moderation
		{http.MethodGet, "/api/v1/desk/scenes", ""},                                 // desk
		{http.MethodGet, "/api/v1/status", ""},                                      // status
		{http.MethodPost, "/api/v1/store/backup", ""},                               // the admin token only
		{http.MethodGet, "/debug/pprof/", ""},                                       // the admin token only
	} {
		var e map[string]string
		call(denied.method, denied.path, shop, denied.body, http.StatusForbidden, &e)
		if e["code"] != "FORBIDDEN" || !strings.Contains(e["error"], "shop-backend") {
			t.Fatalf("%s %s with the shop's key: %v", denied.method, denied.path, e)
		}
	}
	call(http.MethodGet, "/api/v1/status", ops, "", http.StatusOK, nil)
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/members", ops, "", http.StatusOK, nil)
	call(http.MethodPost, "/api/v1/messages", ops, shipped, http.StatusForbidden, nil)
	call(http.MethodPost, "/api/v1/drain/self", ops, "", http.StatusForbidden, nil)
	call(http.MethodGet, "/api/v1/status", "sbk_not-a-key", "", http.StatusUnauthorized, nil)
	call(http.MethodGet, "/api/v1/users/buyer/messages", "s3cret", "", http.StatusOK, nil)

	// A key past its expiry is refused 401, naming it; one before it works.
	soon, soonEntry := newKey(t, "soon", admin.ScopeStatus)
	later, laterEntry := newKey(t, "later", admin.ScopeStatus)
	soonEntry.Expires, laterEntry.Expires = time.Now().Add(-time.Second), time.Now().Add(time.Hour)
	writeKeys(t, file, "# keys of the shop\n"+shopEntry.Line()+"\n"+opsEntry.Line()+"\n"+soonEntry.Line()+"\n"+laterEntry.Line()+"\n")
	var expired map[string]string
	call(http.MethodGet, "/api/v1/status", soon, "", http.StatusUnauthorized, &expired)
	if !strings.Contains(expired["error"], "soon expired at") {
		t.Fatalf("an expired key: %v", expired)
	}
	call(http.MethodGet, "/api/v1/status", later, "", http.StatusOK, nil)

	// A key over its rate is answered 429 RATE_LIMITED naming it, with a
	// Retry-After; the other keys are not.
	busy, busyEntry := newKey(t, "busy", admin.ScopeStatus)
	busyEntry.Rate = 2
	writeKeys(t, file, shopEntry.Line()+"\n"+opsEntry.Line()+"\n"+busyEntry.Line()+"\n")
	call(http.MethodGet, "/api/v1/status", busy, "", http.StatusOK, nil)
	call(http.MethodGet, "/api/v1/status", busy, "", http.StatusOK, nil)
	var limited map[string]string
	h := call(http.MethodGet, "/api/v1/status", busy, "", http.StatusTooManyRequests, &limited)
	if limited["code"] != "RATE_LIMITED" || !strings.Contains(limited["error"], "busy is over its rate of 2") || h.Get("Retry-After") != "1" {
		t.Fatalf("a key over its rate: %v, Retry-After %q", limited, h.Get("Retry-After"))
	}
	call(http.MethodGet, "/api/v1/status", ops, "", http.StatusOK, nil)

	// Rotation: the shop's key revoked, a new one added, no restart.
	shop2, shop2Entry := newKey(t, "shop-backend-2", admin.ScopeMessages)
	writeKeys(t, file, opsEntry.Line()+"\n"+shop2Entry.Line()+"\n")
	call(http.MethodPost, "/api/v1/messages", shop, shipped, http.StatusUnauthorized, nil)
	call(http.MethodPost, "/api/v1/messages", shop2, shipped, http.StatusOK, nil) // the same key: a duplicate
	// A broken edit keeps what was read before.
	writeKeys(t, file, opsEntry.Line()+"\nshop-backend-2 messages sha256:nothex\n")
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages", shop2, "", http.StatusOK, nil)
	call(http.MethodPost, "/api/v1/messages", shop, shipped, http.StatusUnauthorized, nil)
}

// TestAPIKeysFile: the keys file's lines, and what a node refuses to start
// with.
func TestAPIKeysFile(t *testing.T) {
	key, entry := newKey(t, "a.b_c-1", admin.ScopeDesk, admin.ScopeModeration)
	if !strings.HasPrefix(key, "sbk_") || len(key) < 40 {
		t.Fatalf("key %q", key)
	}
	keys, err := admin.ParseAPIKeys([]byte("  # comment\n\n" + entry.Line() + "\n"))
	if err != nil || len(keys) != 1 || keys[0].Name != entry.Name || keys[0].Hash != entry.Hash || len(keys[0].Scopes) != 2 {
		t.Fatalf("parsed %+v, %v; want %+v", keys, err, entry)
	}
	if strings.Contains(entry.Line(), key) || strings.Contains(entry.Line(), strings.TrimPrefix(key, "sbk_")) {
		t.Fatal("the file's line holds the key itself")
	}
	hash := strings.Fields(entry.Line())[2]
	for _, bad := range []string{
		"ops status",                                                    // two fields
		"ops status " + hash + " extra",                                 // a fourth field that is no expiry
		"ops status " + hash + " expires=tomorrow",                      // an expiry that is no time
		"ops status " + hash + " expires=2027-01-01T00:00:00Z x",        // an option that is none
		"ops status " + hash + " rate=0",                                // a rate below 1
		"ops status " + hash + " rate=100001",                           // a rate past MaxKeyRate
		"ops status " + hash + " rate=fast",                             // a rate that is no number
		"ops status " + hash + " rate=2 rate=3",                         // an option twice
		"ops status " + hash + " rate=2 expires=2027-01-01T00:00:00Z x", // six fields
		"ops admin " + hash,                                             // not a key's scope
		"ops status,,desk " + hash,                                      // an empty scope
		"ops status sha256:abc",                                         // short hash
		"ops status md5:" + hash[7:],                                    // not sha256
		"o/ps status " + hash,                                           // a name with a slash
		"ops status " + hash + "\nops desk " + hash,                     // one name twice
	} {
		if _, err := admin.ParseAPIKeys([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: %v, want an error naming the line", bad, err)
		}
	}
	for _, bad := range []struct {
		name   string
		scopes []admin.Scope
	}{{"", []admin.Scope{admin.ScopeDesk}}, {"x", nil}, {"x", []admin.Scope{"everything"}}, {strings.Repeat("n", 65), []admin.Scope{admin.ScopeDesk}}} {
		if _, _, err := admin.NewAPIKey(bad.name, bad.scopes); err == nil {
			t.Errorf("NewAPIKey(%q, %v): no error", bad.name, bad.scopes)
		}
	}
	if _, _, err := admin.NewAPIKey(strings.Repeat("n", 64), []admin.Scope{admin.ScopeDesk}); err != nil {
		t.Errorf("a 64-character name: %v", err)
	}
	// An expiry goes into the line and comes back from it.
	entry.Expires = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	if keys, err := admin.ParseAPIKeys([]byte(entry.Line())); err != nil || !keys[0].Expires.Equal(entry.Expires) || !strings.HasSuffix(entry.Line(), " expires=2027-03-01T12:00:00Z") {
		t.Fatalf("line %q parsed %+v, %v", entry.Line(), keys, err)
	}
	// So does a rate, in either order with the expiry; 1 and MaxKeyRate
	// are the edges.
	for _, r := range []int{1, admin.MaxKeyRate} {
		entry.Rate = r
		if keys, err := admin.ParseAPIKeys([]byte(entry.Line())); err != nil || keys[0].Rate != r || !keys[0].Expires.Equal(entry.Expires) {
			t.Fatalf("line %q parsed %+v, %v", entry.Line(), keys, err)
		}
	}
	swapped := fmt.Sprintf("%s %s rate=7 expires=2027-03-01T12:00:00Z", entry.Name, strings.Join(strings.Fields(entry.Line())[1:3], " "))
	if keys, err := admin.ParseAPIKeys([]byte(swapped)); err != nil || keys[0].Rate != 7 || !keys[0].Expires.Equal(entry.Expires) {
		t.Fatalf("line %q parsed %+v, %v", swapped, keys, err)
	}

	// A node does not start on a keys file it cannot read or parse.
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	writeKeys(t, broken, entry.Line()+"\nops status sha256:abc\n")
	for file, want := range map[string]string{filepath.Join(dir, "missing"): "no such file", broken: "line 2"} {
		if _, err := admin.New(nil, admin.Config{APIKeysFile: file}, admin.Hooks{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("keys file %s: %v, want an error with %q", file, err, want)
		}
	}
}

// TestKindNames: every message kind has its own name in the HTTP API.
func TestKindNames(t *testing.T) {
	for _, c := range []struct {
		kind   storage.MessageKind
		refSeq uint64
		want   string
	}{
		{storage.MsgNormal, 0, "text"}, {storage.MsgNormal, 3, "edit"}, {storage.MsgRecall, 3, "recall"},
		{storage.MsgSystem, 0, "system"}, {storage.MsgCard, 0, "card"}, {storage.MsgCard, 2, "card"},
		{storage.MsgReaction, 2, "reaction"}, {storage.MsgPoll, 0, "poll"}, {storage.MsgPoll, 4, "poll_close"},
		{storage.MsgVote, 4, "vote"}, {storage.MessageKind(200), 0, "kind200"},
	} {
		if got := admin.KindName(c.kind, c.refSeq); got != c.want {
			t.Errorf("kind %d ref %d: %q, want %q", c.kind, c.refSeq, got, c.want)
		}
	}
}

func newKey(t *testing.T, name string, scopes ...admin.Scope) (string, admin.APIKey) {
	t.Helper()
	key, entry, err := admin.NewAPIKey(name, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return key, entry
}

func writeKeys(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
