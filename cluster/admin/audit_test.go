package admin_test

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/internal/testenv"
)

// logLines are the lines of log whose message is msg.
func logLines(log *testenv.Buffer, msg string) []string {
	var out []string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "msg=\""+msg+"\"") {
			out = append(out, line)
		}
	}
	return out
}

// TestAuditLog: every change made through the admin API is logged once,
// by whom (the admin token or the key's name), what and how it ended,
// refused by the node or not; reads are not.
func TestAuditLog(t *testing.T) {
	defer admin.RecheckKeysAlways()()
	var log testenv.Buffer
	shop, shopEntry := newKey(t, "shop-backend", admin.ScopeMessages)
	file := filepath.Join(t.TempDir(), "api-keys")
	writeKeys(t, file, shopEntry.Line()+"\n")
	call := startAdminAPI(t, actors.Config{}, admin.Config{APIKeysFile: file, Logger: slog.New(slog.NewTextHandler(&log, nil))})

	call(http.MethodPost, "/api/v1/messages", shop, `{"sender":"shop","to":"buyer","client_msg_id":"o-1","text":"Your order shipped"}`, http.StatusCreated, nil)
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages", shop, "", http.StatusOK, nil)
	call(http.MethodPost, "/api/v1/users/buyer/suspend", "s3cret", `{"reason":"spam","for":"1h"}`, http.StatusOK, nil)
	call(http.MethodPost, "/api/v1/messages", shop, `{"sender":`, http.StatusBadRequest, nil)
	call(http.MethodPost, "/api/v1/users/buyer/unsuspend", shop, "", http.StatusForbidden, nil) // refused before: logged as a refusal

	got := logLines(&log, "admin change")
	want := []string{
		`by=key:shop-backend method=POST path=/api/v1/messages status=201`,
		`by=admin method=POST path=/api/v1/users/buyer/suspend status=200`,
		`by=key:shop-backend method=POST path=/api/v1/messages status=400`,
	}
	if len(got) != len(want) {
		t.Fatalf("audit lines:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("audit line %d: %s\nwant %s", i, got[i], w)
		}
	}
	if refused := logLines(&log, "api key refused: out of its scopes"); len(refused) != 1 || !strings.Contains(refused[0], "path=/api/v1/users/buyer/unsuspend") {
		t.Errorf("the refusal: %v", refused)
	}
}
