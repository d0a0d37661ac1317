package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// The operator sets a group's timer for disappearing messages (a school
// keeps its class chats a week): recorded as the operator's change, held
// to the node's bounds; a service conversation keeps its record, and a
// conversation that does not exist is not found.
func TestOperatorSetsDisappearing(t *testing.T) {
	node, api := startAdminNode(t, actors.Config{MaxDisappearAfter: 7 * 24 * time.Hour}, admin.Config{})
	call := func(method, path, body string, want int, out any) {
		t.Helper()
		api(method, path, "s3cret", body, want, out)
	}
	call(http.MethodPost, "/api/v1/conversations", `{"conv":"g:7b","kind":"group","title":"7B","members":[{"user":"teacher","role":"owner"}]}`, http.StatusCreated, nil)
	const path = "/api/v1/conversations/g:7b/disappearing"
	var got admin.Disappearing
	call(http.MethodGet, path, "", http.StatusOK, &got)
	if got.AfterMs != 0 {
		t.Fatalf("before any timer: %+v", got)
	}
	call(http.MethodPut, path, `{"after_ms":604800000}`, http.StatusOK, &got)
	if got.AfterMs != 604_800_000 || got.Seq == 0 {
		t.Fatalf("a week: %+v", got)
	}
	msgs, err := node.History(context.Background(), &pb.GetHistory{Conv: "g:7b", User: "teacher", FromSeq: got.Seq, ToSeq: got.Seq, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Sender != actors.OperatorSender || string(msgs[0].Body) != `{"actor":"system","after_ms":604800000,"op":"disappear"}` {
		t.Fatalf("the change as the members read it: %v %v", msgs, err)
	}
	call(http.MethodPut, path, `{"after_ms":604800001}`, http.StatusBadRequest, nil) // one past the node's bound
	call(http.MethodPut, path, `{}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/conversations/g:nosuch/disappearing", `{"after_ms":0}`, http.StatusNotFound, nil)
	call(http.MethodPost, "/api/v1/conversations", `{"conv":"s:desk:1","kind":"service","members":[{"user":"c1","role":"customer"}]}`, http.StatusCreated, nil)
	call(http.MethodPut, "/api/v1/conversations/s:desk:1/disappearing", `{"after_ms":60000}`, http.StatusForbidden, nil)
	call(http.MethodGet, path, "", http.StatusOK, &got)
	if got.AfterMs != 604_800_000 {
		t.Fatalf("the timer read back: %+v", got)
	}
}
