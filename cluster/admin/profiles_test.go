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

// TestServerProfiles: a business copies a user's name and picture from
// its directory, one field at a time; a bad URL is 400 and changes
// nothing; the moderators' view of the user shows it; erasing the
// account clears the profile.
func TestServerProfiles(t *testing.T) {
	_, call := startAdminNode(t, actors.Config{}, admin.Config{})
	const tok = "s3cret"
	call(http.MethodGet, "/api/v1/users/ann/profile", "", "", http.StatusUnauthorized, nil)
	var p admin.Profile
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &p)
	if p.User != "ann" || p.Name != "" || p.UpdatedMs != 0 {
		t.Fatalf("a profile never set: %+v", p)
	}
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"name":"Ann Kowalski"}`, http.StatusOK, &p)
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"avatar_url":"https://img.example/ann.png"}`, http.StatusOK, &p)
	if p.Name != "Ann Kowalski" || p.AvatarURL != "https://img.example/ann.png" || p.UpdatedMs == 0 {
		t.Fatalf("after a name, then an avatar: %+v", p)
	}
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"avatar_url":"ftp://img.example/ann.png"}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"name":`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/a%20b/profile", tok, `{"name":"x"}`, http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &p)
	if p.AvatarURL != "https://img.example/ann.png" {
		t.Fatalf("a refused change changed the profile: %+v", p)
	}
	// The business's own data about ann, which she cannot set.
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"meta":{"verified":"true"}}`, http.StatusOK, &p)
	if p.Meta["verified"] != "true" || p.Name != "Ann Kowalski" {
		t.Fatalf("after the meta: %+v", p)
	}
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"meta":{"a b":"c"},"name":"Mallory"}`, http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &p)
	if p.Name != "Ann Kowalski" || p.Meta["verified"] != "true" {
		t.Fatalf("a refused meta changed the profile: %+v", p)
	}
	var st admin.UserStatus
	call(http.MethodGet, "/api/v1/users/ann", tok, "", http.StatusOK, &st)
	if st.Name != "Ann Kowalski" || st.AvatarURL != "https://img.example/ann.png" {
		t.Fatalf("the moderators' view of ann: %+v, want her name and picture", st)
	}
	var e admin.Erasure
	call(http.MethodPost, "/api/v1/users/ann/erase", tok, "", http.StatusOK, &e)
	var erased admin.Profile
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &erased)
	if !e.Done || erased.Name != "" || erased.AvatarURL != "" || erased.Meta != nil {
		t.Fatalf("after the erasure (%+v): %+v, want no name, no avatar, no meta", e, erased)
	}
}

// A seller dashboard sets a seller's away message through the admin API:
// read, set for a while, refused when malformed, cleared; a buyer's
// message is answered with it.
func TestServerAway(t *testing.T) {
	node, call := startAdminNode(t, actors.Config{}, admin.Config{})
	const tok = "s3cret"
	var a admin.Away
	call(http.MethodGet, "/api/v1/users/seller/away", tok, "", http.StatusOK, &a)
	if a.User != "seller" || a.Text != "" {
		t.Fatalf("never set: %+v", a)
	}
	call(http.MethodPut, "/api/v1/users/seller/away", tok, `{"text":"On holiday","for":"72h"}`, http.StatusOK, &a)
	if a.Text != "On holiday" || a.Since.IsZero() || a.Until.Sub(a.Since) < 71*time.Hour {
		t.Fatalf("set for 72h: %+v", a)
	}
	call(http.MethodPut, "/api/v1/users/seller/away", tok, `{"text":"x","for":"soon"}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/seller/away", tok, `{"text":"x","for":"1h","until":"2030-01-01T00:00:00Z"}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/seller/away", tok, `{"text":"x","until":"2020-01-01T00:00:00Z"}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/seller/away", tok, `{"text":"`+strings.Repeat("x", 501)+`"}`, http.StatusRequestEntityTooLarge, nil)
	conv := "d:buyer:seller"
	if _, err := node.SendDirect(context.Background(), "seller", &pb.SendMessage{Sender: "buyer", ClientMsgId: "q", Body: []byte("still for sale?")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := node.History(context.Background(), &pb.GetHistory{Conv: conv, User: "buyer"})
		if err == nil && len(h) == 2 && h[0].AutoReply && string(h[0].Body) == "On holiday" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no automatic reply: %v %v", h, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	call(http.MethodPut, "/api/v1/users/seller/away", tok, `{"text":""}`, http.StatusOK, &a)
	if a.Text != "" {
		t.Fatalf("cleared: %+v", a)
	}
}

// A school's server sets its pupils' quiet hours through the admin API:
// none at first, set in the school's zone, refused when malformed (400),
// read back, taken away.
func TestServerQuietHours(t *testing.T) {
	_, call := startAdminNode(t, actors.Config{}, admin.Config{})
	const tok = "s3cret"
	var q admin.Quiet
	call(http.MethodGet, "/api/v1/users/pupil/quiet", tok, "", http.StatusOK, &q)
	if q.User != "pupil" || len(q.Week) != 0 {
		t.Fatalf("never set: %+v", q)
	}
	call(http.MethodPut, "/api/v1/users/pupil/quiet", tok, `{"zone":"Europe/Berlin","week":{"mon":"00:00-07:00,21:00-24:00"}}`, http.StatusOK, &q)
	if q.Zone != "Europe/Berlin" || q.Week["mon"] != "00:00-07:00,21:00-24:00" {
		t.Fatalf("set: %+v", q)
	}
	call(http.MethodPut, "/api/v1/users/pupil/quiet", tok, `{"zone":"Nowhere/Else","week":{"mon":"21:00-24:00"}}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/pupil/quiet", tok, `{"zone":"UTC","week":{}}`, http.StatusBadRequest, nil)
	q = admin.Quiet{}
	call(http.MethodGet, "/api/v1/users/pupil/quiet", tok, "", http.StatusOK, &q)
	if q.Zone != "Europe/Berlin" || len(q.Week) != 1 {
		t.Fatalf("read back after refusals: %+v", q)
	}
	call(http.MethodDelete, "/api/v1/users/pupil/quiet", tok, "", http.StatusOK, nil)
	q = admin.Quiet{}
	call(http.MethodGet, "/api/v1/users/pupil/quiet", tok, "", http.StatusOK, &q)
	if q.Zone != "" || len(q.Week) != 0 {
		t.Fatalf("taken away: %+v", q)
	}
}

// A marketplace's server labels a seller's chat "paid" when the payment
// clears: the seller's own list by label finds it; bad labels are 400, a
// conversation the user is not in 403, too many labels 409.
func TestServerLabels(t *testing.T) {
	node, call := startAdminNode(t, actors.Config{MaxConvLabels: 2}, admin.Config{})
	const tok = "s3cret"
	ctx := context.Background()
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", ClientMsgId: "q", Body: []byte("I paid")}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/users/seller/conversations/d:buyer:seller/labels"
	call(http.MethodPost, path, "", `{"add":["paid"]}`, http.StatusUnauthorized, nil)
	var l admin.Labels
	call(http.MethodPost, path, tok, `{"add":["paid","new customer"]}`, http.StatusOK, &l)
	if l.User != "seller" || l.Conv != "d:buyer:seller" || strings.Join(l.Labels, ",") != "new customer,paid" {
		t.Fatalf("labelled: %+v", l)
	}
	call(http.MethodPost, path, tok, `{"add":["to ship"]}`, http.StatusConflict, nil)
	call(http.MethodPost, path, tok, `{"add":[""]}`, http.StatusBadRequest, nil)
	call(http.MethodPost, path, tok, `{}`, http.StatusBadRequest, nil)
	call(http.MethodPost, "/api/v1/users/eve/conversations/d:buyer:seller/labels", tok, `{"add":["x"]}`, http.StatusForbidden, nil)
	call(http.MethodPost, path, tok, `{"remove":["new customer"]}`, http.StatusOK, &l)
	r, err := node.ListLabelled(ctx, "seller", "paid", "", 0, false)
	if err != nil || len(r.Conversations) != 1 || strings.Join(r.Conversations[0].Labels, ",") != "paid" {
		t.Fatalf("the seller's chats labelled paid: %v, %v", r.GetConversations(), err)
	}
}
