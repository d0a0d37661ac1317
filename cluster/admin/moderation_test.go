package admin_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// TestModerationAPI: the moderation endpoints always need the token
// (even with open reads: a suspension's reason is private), check their
// terms, and report what they did: suspension, and a moderator's recall.
func TestModerationAPI(t *testing.T) {
	node, call := startAdminNode(t, actors.Config{}, admin.Config{OpenReadOnly: true})
	do := func(method, path, token, body string, want int) (st admin.UserStatus) {
		t.Helper()
		call(method, path, token, body, want, &st)
		return st
	}
	const tok = "s3cret"
	do(http.MethodGet, "/api/v1/users/mallory", "", "", http.StatusUnauthorized)
	do(http.MethodPost, "/api/v1/users/mallory/suspend", "", `{}`, http.StatusUnauthorized)
	do(http.MethodPost, "/api/v1/users/mallory/suspend", tok, `{"for":"soon"}`, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/users/mallory/suspend", tok, `{"for":"1h","until":"2099-01-01T00:00:00Z"}`, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/users/mallory/suspend", tok, `{"until":"2001-01-01T00:00:00Z"}`, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/users/mallory/suspend", tok, `{not json`, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/users/bad%20id/suspend", tok, `{}`, http.StatusBadRequest)

	st := do(http.MethodPost, "/api/v1/users/mallory/suspend", tok, `{"reason":"scam","until":"2099-01-01T00:00:00Z"}`, http.StatusOK)
	if !st.Suspended || st.Reason != "scam" || st.Until.Year() != 2099 || st.Since.IsZero() {
		t.Fatalf("suspend answered %+v", st)
	}
	if st = do(http.MethodGet, "/api/v1/users/mallory", tok, "", http.StatusOK); !st.Suspended || st.Reason != "scam" {
		t.Fatalf("GET after the suspension: %+v", st)
	}
	// A moderator recalls the scam message; the sender's suspension does
	// not matter to it.
	sent, err := node.SendDirect(t.Context(), "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "m1", Body: []byte("gift cards only")})
	if err != nil {
		t.Fatal(err)
	}
	recall := "/api/v1/conversations/d:bob:mallory/messages/" + strconv.FormatUint(sent.Seq, 10) + "/recall"
	do(http.MethodPost, recall, "", ``, http.StatusUnauthorized)
	do(http.MethodPost, "/api/v1/conversations/d:bob:mallory/messages/x/recall", tok, ``, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/conversations/d:bob:mallory/messages/0/recall", tok, ``, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/conversations/d:bob:mallory/messages/99/recall", tok, ``, http.StatusNotFound)
	var reported admin.Reports
	get := func(path string, want int) {
		t.Helper()
		call(http.MethodGet, path, tok, "", want, &reported)
	}
	id, _, err := node.Report(t.Context(), "bob", "d:bob:mallory", sent.Seq, "fake")
	if err != nil {
		t.Fatal(err)
	}
	do(http.MethodGet, "/api/v1/reports", "", "", http.StatusUnauthorized)
	get("/api/v1/reports?limit=0", http.StatusBadRequest)
	get("/api/v1/reports?limit=x", http.StatusBadRequest)
	get("/api/v1/reports?limit=501", http.StatusBadRequest)
	get("/api/v1/reports?limit=500", http.StatusOK)
	if get("/api/v1/reports", http.StatusOK); reported.Total != 1 || reported.Reports[0].ID != id || reported.Reports[0].Body != "gift cards only" {
		t.Fatalf("reports: %+v", reported)
	}
	get("/api/v1/reports/"+id+"/context?around=x", http.StatusBadRequest)
	get("/api/v1/reports/"+id+"/context?around=21", http.StatusBadRequest)
	get("/api/v1/reports/nope/context", http.StatusNotFound)
	var around admin.ReportContext
	call(http.MethodGet, "/api/v1/reports/"+id+"/context", tok, "", http.StatusOK, &around)
	if around.Report.ID != id || len(around.Messages) != 1 || !around.Messages[0].Reported || around.Messages[0].Body != "gift cards only" {
		t.Fatalf("context: %+v", around)
	}
	do(http.MethodPost, "/api/v1/reports/nope/resolve", tok, ``, http.StatusNotFound)
	do(http.MethodPost, "/api/v1/reports/"+id+"/resolve", tok, `{"resolution":"recalled"}`, http.StatusOK)
	if get("/api/v1/reports", http.StatusOK); reported.Total != 0 {
		t.Fatalf("reports after the resolve: %+v", reported)
	}

	do(http.MethodPost, recall, tok, ``, http.StatusOK)
	do(http.MethodPost, recall, tok, ``, http.StatusBadRequest) // already recalled

	do(http.MethodPost, "/api/v1/users/mallory/unsuspend", tok, ``, http.StatusOK)
	if st = do(http.MethodGet, "/api/v1/users/mallory", tok, "", http.StatusOK); st.Suspended {
		t.Fatalf("GET after the lift: %+v", st)
	}

	// Erasing: the token is required; the answer counts what was done;
	// the user is suspended without end.
	do(http.MethodPost, "/api/v1/users/mallory/erase", "", ``, http.StatusUnauthorized)
	do(http.MethodPost, "/api/v1/users/bad%20id/erase", tok, ``, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/users/mallory/erase", tok, `{"after":{"conv":"bad id","seq":1}}`, http.StatusBadRequest)
	do(http.MethodPost, "/api/v1/users/mallory/erase", tok, `{"after":`, http.StatusBadRequest)
	var erased admin.Erasure
	call(http.MethodPost, "/api/v1/users/mallory/erase", tok, ``, http.StatusOK, &erased)
	if !erased.Done || erased.User != "mallory" || erased.Conversations != 1 || erased.Recalled != 0 {
		t.Fatalf("erase answered %+v (mallory's one message was recalled above)", erased)
	}
	if st = do(http.MethodGet, "/api/v1/users/mallory", tok, "", http.StatusOK); !st.Suspended || st.Reason != actors.ErasureReason || !st.Until.IsZero() {
		t.Fatalf("GET after the erasure: %+v", st)
	}
	// What a user sent: behind the token, pages of 1 to 1000.
	call(http.MethodGet, "/api/v1/users/mallory/messages", "", ``, http.StatusUnauthorized, nil)
	call(http.MethodGet, "/api/v1/users/mallory/messages?limit=0", tok, ``, http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/users/mallory/messages?limit=1001", tok, ``, http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/users/mallory/messages?after_seq=x", tok, ``, http.StatusBadRequest, nil)
	var page admin.SentMessages
	call(http.MethodGet, "/api/v1/users/mallory/messages?limit=1000", tok, ``, http.StatusOK, &page)
	if !page.Done || page.Next != nil || len(page.Messages) != 1 || page.Messages[0].Seq != sent.Seq || !page.Messages[0].Recalled || page.Messages[0].Body != "" {
		t.Fatalf("mallory's messages: %+v", page)
	}
	// A reply says which message it answers.
	conv := actors.DirectConvID("bob", "mallory")
	reply, err := node.Send(t.Context(), &pb.SendMessage{Conv: conv, Sender: "bob", ClientMsgId: "b1", Body: []byte("no"), ReplyTo: sent.Seq})
	if err != nil {
		t.Fatal(err)
	}
	call(http.MethodGet, "/api/v1/users/bob/messages?limit=10", tok, ``, http.StatusOK, &page)
	if len(page.Messages) != 1 || page.Messages[0].Seq != reply.Seq || page.Messages[0].ReplyTo != sent.Seq {
		t.Fatalf("bob's messages: %+v, want the reply to #%d", page, sent.Seq)
	}
}
