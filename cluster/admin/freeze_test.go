package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// The marketplace's backend freezes the chat about a listing that sold:
// recorded as the operator's change with its reason, which the members
// read and the conversation's own record shows; its sends are refused
// until the backend opens it again. The reason's bound holds at its edge;
// a service conversation is the desk's; a conversation that does not
// exist is not found.
func TestOperatorFreezes(t *testing.T) {
	node, api := startAdminNode(t, actors.Config{MaxFreezeReasonBytes: 4}, admin.Config{})
	call := func(method, path, body string, want int, out any) {
		t.Helper()
		api(method, path, "s3cret", body, want, out)
	}
	ctx := context.Background()
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("still available?")}); err != nil {
		t.Fatal(err)
	}
	conv := actors.DirectConvID("buyer", "seller")
	path := "/api/v1/conversations/" + conv + "/freeze"
	var got admin.Freeze
	call(http.MethodGet, path, "", http.StatusOK, &got)
	if got.Frozen || got.FrozenState != nil {
		t.Fatalf("before any freeze: %+v", got)
	}
	call(http.MethodPut, path, `{}`, http.StatusBadRequest, nil)
	call(http.MethodPut, path, `{"frozen":true,"reason":"sold!"}`, http.StatusRequestEntityTooLarge, nil) // one past the bound
	call(http.MethodPut, path, `{"frozen":true,"reason":"sold"}`, http.StatusOK, &got)
	if !got.Frozen || got.Reason != "sold" || got.By != actors.OperatorSender || got.At.IsZero() || got.Seq == 0 {
		t.Fatalf("frozen with a reason at the bound: %+v", got)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "seller", FromSeq: got.Seq, ToSeq: got.Seq, Limit: 1})
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != `{"actor":"system","frozen":true,"op":"freeze","reason":"sold"}` {
		t.Fatalf("the freeze as the members read it: %v %v", msgs, err)
	}
	var info admin.Conversation
	call(http.MethodGet, "/api/v1/conversations/"+conv, "", http.StatusOK, &info)
	if info.Frozen == nil || info.Frozen.Reason != "sold" {
		t.Fatalf("the conversation's record: %+v", info)
	}
	// The buyer's list hears of it a moment after the freeze's answer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var listed admin.UserConversations
		call(http.MethodGet, "/api/v1/users/buyer/conversations", "", http.StatusOK, &listed)
		if len(listed.Conversations) == 1 && listed.Conversations[0].Frozen != nil && listed.Conversations[0].Frozen.Reason == "sold" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the buyer's list as the backend reads it: %+v", listed)
		}
	}
	// Its own posts too: the backend posts before it freezes.
	call(http.MethodPost, "/api/v1/messages", `{"sender":"seller","to":"buyer","text":"sorry","client_msg_id":"s1"}`, http.StatusConflict, nil)
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "buyer", Body: []byte("hello?")}); actors.CodeOf(err) != pb.Code_FROZEN {
		t.Fatalf("a send into the frozen chat: %v", err)
	}
	call(http.MethodPut, path, `{"frozen":false}`, http.StatusOK, &got)
	if got.Frozen || got.Seq == 0 {
		t.Fatalf("opened again: %+v", got)
	}
	var opened admin.Conversation
	call(http.MethodGet, "/api/v1/conversations/"+conv, "", http.StatusOK, &opened)
	if opened.Frozen != nil {
		t.Fatalf("the record after the unfreeze: %+v", opened)
	}
	// A cool-down: open again by itself after the hour.
	var cool admin.Freeze
	call(http.MethodPut, path, `{"frozen":true,"reason":"wait","for":"1h"}`, http.StatusOK, &cool)
	if !cool.Frozen || cool.Until.Sub(cool.At) < 59*time.Minute || cool.Until.Sub(cool.At) > time.Hour+time.Second {
		t.Fatalf("frozen for an hour: %+v", cool)
	}
	call(http.MethodPut, path, `{"frozen":true,"for":"-1h"}`, http.StatusBadRequest, nil)
	call(http.MethodPut, path, `{"frozen":false}`, http.StatusOK, nil)
	call(http.MethodPut, "/api/v1/conversations/g:nosuch/freeze", `{"frozen":true}`, http.StatusNotFound, nil)
	call(http.MethodPost, "/api/v1/conversations", `{"conv":"s:desk:1","kind":"service","members":[{"user":"c1","role":"customer"}]}`, http.StatusCreated, nil)
	var refused map[string]string
	call(http.MethodPut, "/api/v1/conversations/s:desk:1/freeze", `{"frozen":true}`, http.StatusForbidden, &refused)
	if !strings.Contains(refused["error"], "desk") {
		t.Fatalf("the refusal of a service conversation: %v", refused)
	}
}
