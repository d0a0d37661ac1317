package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// The marketplace's backend puts the listing beside the chat about it:
// PUT replaces the conversation's meta, GET and the conversation's record
// read it back, {} takes it away; a body without meta, a bad key, or past
// the node's bound is refused; a service conversation is the desk's.
func TestOperatorSetsConversationMeta(t *testing.T) {
	node, api := startAdminNode(t, actors.Config{MaxMetaBytes: 24}, admin.Config{})
	call := func(method, path, body string, want int, out any) {
		t.Helper()
		api(method, path, "s3cret", body, want, out)
	}
	if _, err := node.SendDirect(context.Background(), "seller", &pb.SendMessage{Sender: "buyer", Topic: "listing-7", Body: []byte("still there?")}); err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/conversations/d:buyer:seller:listing-7/meta"
	var got admin.ConversationMeta
	call(http.MethodGet, path, "", http.StatusOK, &got)
	if got.Meta == nil || len(got.Meta) != 0 {
		t.Fatalf("before any: %+v", got)
	}
	call(http.MethodPut, path, `{"meta":{"title":"Lamp","price":"40 EUR"}}`, http.StatusOK, &got)
	if got.Meta["title"] != "Lamp" || got.Meta["price"] != "40 EUR" {
		t.Fatalf("set: %+v", got)
	}
	var info admin.Conversation
	call(http.MethodGet, "/api/v1/conversations/d:buyer:seller:listing-7", "", http.StatusOK, &info)
	if info.Meta["title"] != "Lamp" {
		t.Fatalf("the conversation's record: %+v", info)
	}
	call(http.MethodPut, path, `{}`, http.StatusBadRequest, nil)
	call(http.MethodPut, path, `{"meta":{"a b":"c"}}`, http.StatusBadRequest, nil)
	call(http.MethodPut, path, `{"meta":{"title":"a lamp of brass, 1920"}}`, http.StatusRequestEntityTooLarge, nil) // 25 bytes
	call(http.MethodPut, path, `{"meta":{}}`, http.StatusOK, &got)
	var cleared admin.ConversationMeta
	call(http.MethodGet, path, "", http.StatusOK, &cleared)
	if len(cleared.Meta) != 0 {
		t.Fatalf("after {}: %+v", cleared)
	}
	call(http.MethodPost, "/api/v1/conversations", `{"conv":"s:desk:1","kind":"service","members":[{"user":"c1","role":"customer"}]}`, http.StatusCreated, nil)
	call(http.MethodPut, "/api/v1/conversations/s:desk:1/meta", `{"meta":{"k":"v"}}`, http.StatusForbidden, nil)
	call(http.MethodPut, "/api/v1/conversations/g:nosuch/meta", `{"meta":{"k":"v"}}`, http.StatusNotFound, nil)
}
