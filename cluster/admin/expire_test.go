package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/internal/testenv"
)

// TestStoreExpire: the operator's sweep takes what the retention expired
// out of the store and says how much; the transcript shows it expired; a
// node without retention answers 409, and only the admin token may ask.
func TestStoreExpire(t *testing.T) {
	clock, setNow := testenv.SettableClock()
	node, call := startAdminNode(t, actors.Config{Retention: time.Hour, Now: clock}, admin.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", ClientMsgId: "a1", Body: []byte("meet at 5")})
	if err != nil {
		t.Fatal(err)
	}
	call(http.MethodPost, "/api/v1/store/expire", "", "", http.StatusUnauthorized, nil)
	var sweep admin.RetentionSweep
	call(http.MethodPost, "/api/v1/store/expire", "s3cret", "", http.StatusOK, &sweep)
	if sweep.Expired != 0 {
		t.Fatalf("nothing has expired yet, the sweep says %+v", sweep)
	}
	at := time.UnixMilli(res.ServerTsMs).Add(time.Hour + time.Millisecond)
	setNow(at)
	call(http.MethodPost, "/api/v1/store/expire", "s3cret", "", http.StatusOK, &sweep)
	if sweep.Expired != 1 || sweep.Conversations != 1 {
		t.Fatalf("sweep %+v, want 1 message of 1 conversation", sweep)
	}
	var tr admin.Transcript
	call(http.MethodGet, "/api/v1/conversations/"+actors.DirectConvID("ann", "bob")+"/messages", "s3cret", "", http.StatusOK, &tr)
	if len(tr.Messages) != 1 || !tr.Messages[0].Expired || tr.Messages[0].Text != "" {
		t.Fatalf("transcript once expired: %+v", tr.Messages)
	}

	off := startAdminAPI(t, actors.Config{}, admin.Config{})
	off(http.MethodPost, "/api/v1/store/expire", "s3cret", "", http.StatusConflict, nil)
}
