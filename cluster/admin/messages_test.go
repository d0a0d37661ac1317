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
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestServerMessages: a business's server posts as its shop account to a
// buyer (a first contact: the direct conversation is created), a retry
// with the same key is answered with the first, a card goes as a card,
// the sender's rules hold (not a member: 403; past the send rate: 429
// with Retry-After), and the transcript pages through the log.
func TestServerMessages(t *testing.T) {
	call := startAdminAPI(t, actors.Config{SendRate: 0.001, SendBurst: 4}, admin.Config{})
	const tok = "s3cret"
	post := func(body string, want int) (p admin.PostedMessage) {
		t.Helper()
		call(http.MethodPost, "/api/v1/messages", tok, body, want, &p)
		return p
	}
	shipped := `{"sender":"shop","to":"buyer","client_msg_id":"order-1-shipped","text":"Your order shipped"}`
	call(http.MethodPost, "/api/v1/messages", "", shipped, http.StatusUnauthorized, nil)
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages", "", "", http.StatusUnauthorized, nil) // reads too: private
	first := post(shipped, http.StatusCreated)
	if first.Conv != "d:buyer:shop" || first.Seq != 1 || first.MsgID == 0 || first.Duplicate || first.SentAt.IsZero() {
		t.Fatalf("first post %+v", first)
	}
	again := post(shipped, http.StatusOK)
	if !again.Duplicate || again.Seq != first.Seq || again.MsgID != first.MsgID {
		t.Fatalf("a retry with the same key: %+v, want the first %+v", again, first)
	}
	card := post(`{"sender":"shop","conv":"d:buyer:shop","client_msg_id":"order-1-card","card":{"title":"Order 1","actions":[{"id":"track","label":"Track it"}]}}`, http.StatusCreated)
	for _, bad := range []string{
		`{"to":"buyer","client_msg_id":"x","text":"no sender"}`,
		`{"sender":"shop","client_msg_id":"x","text":"no conv"}`,
		`{"sender":"shop","to":"buyer","conv":"d:buyer:shop","client_msg_id":"x","text":"both"}`,
		`{"sender":"shop","to":"buyer","text":"no key"}`,
		`{"sender":"shop","to":"buyer","client_msg_id":"x"}`,
		`{"sender":"shop","to":"buyer","client_msg_id":"x","text":"a","card":{"title":"both"}}`,
		`{"sender":"shop","to":"buyer","client_msg_id":"x","card":{"title":"t","buttons":[]}}`, // not a card
		`{"sender":"bad id","to":"buyer","client_msg_id":"x","text":"a"}`,
		`{not json`,
	} {
		call(http.MethodPost, "/api/v1/messages", tok, bad, http.StatusBadRequest, nil)
	}
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"stranger","conv":"d:buyer:shop","client_msg_id":"x","text":"hi"}`, http.StatusForbidden, nil)
	post(`{"sender":"shop","conv":"d:buyer:shop","client_msg_id":"order-1-late","text":"it is late"}`, http.StatusCreated)
	// The burst of 4 is spent (3 posts and the refused card): the next waits.
	h := call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"shop","conv":"d:buyer:shop","client_msg_id":"order-1-sorry","text":"sorry"}`, http.StatusTooManyRequests, nil)
	if h.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}

	var page admin.Transcript
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages?limit=2", tok, "", http.StatusOK, &page)
	if page.LastSeq != 3 || len(page.Messages) != 2 || page.Next != 2 {
		t.Fatalf("first page %+v", page)
	}
	if m := page.Messages[0]; m.Kind != "text" || m.Sender != "shop" || m.Text != "Your order shipped" || m.MsgID != first.MsgID {
		t.Fatalf("first message %+v", m)
	}
	if m := page.Messages[1]; m.Kind != "card" || m.Seq != card.Seq {
		t.Fatalf("the card %+v", m)
	}
	page = admin.Transcript{}
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages?after=2", tok, "", http.StatusOK, &page)
	if len(page.Messages) != 1 || page.Messages[0].Text != "it is late" || page.Next != 0 {
		t.Fatalf("last page %+v", page)
	}
	call(http.MethodGet, "/api/v1/conversations/d:nobody:shop/messages", tok, "", http.StatusNotFound, nil)
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=-1"} {
		call(http.MethodGet, "/api/v1/conversations/d:buyer:shop/messages?"+q, tok, "", http.StatusBadRequest, nil)
	}
}

// TestServerPolls: a school's server posts a poll as the teacher, reads
// its results as the operator (voters listed, their number bounded), and
// the transcript names the poll, its votes and its close.
func TestServerPolls(t *testing.T) {
	node, call := startAdminNode(t, actors.Config{}, admin.Config{})
	const tok = "s3cret"
	ctx := context.Background()
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:7b", Kind: pb.ConvKind_GROUP, Creator: "teacher",
		Members: []*pb.Member{{User: "ann"}, {User: "ben"}}}); err != nil {
		t.Fatal(err)
	}
	var p admin.PostedMessage
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"teacher","conv":"g:7b","client_msg_id":"poll-1","poll":{"question":"Trip?","options":["yes","no"]}}`, http.StatusCreated, &p)
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"teacher","conv":"g:7b","client_msg_id":"poll-2","poll":{"question":"Trip?","options":["yes"]}}`, http.StatusBadRequest, nil)
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"teacher","conv":"g:7b","client_msg_id":"poll-3","text":"a","poll":{"question":"q","options":["a","b"]}}`, http.StatusBadRequest, nil)
	for _, v := range []struct{ user, body string }{{"ann", "[0]"}, {"ben", "[0]"}} {
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:7b", Sender: v.user, Kind: pb.MessageKind_VOTE, RefSeq: p.Seq, Body: []byte(v.body)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:7b", Sender: "teacher", Kind: pb.MessageKind_POLL, RefSeq: p.Seq}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/conversations/g:7b/polls/" + strconv.FormatUint(p.Seq, 10)
	call(http.MethodGet, path, "", "", http.StatusUnauthorized, nil)
	var r admin.PollResults
	call(http.MethodGet, path+"?voters=1", tok, "", http.StatusOK, &r)
	if r.Question != "Trip?" || !r.Closed || r.Voters != 2 || len(r.Options) != 2 || r.Options[0].Votes != 2 ||
		len(r.Options[0].Voters) != 1 || r.Options[0].Voters[0] != "ann" || r.Options[1].Votes != 0 {
		t.Fatalf("results: %+v", r)
	}
	call(http.MethodGet, path+"?voters=1001", tok, "", http.StatusBadRequest, nil)
	call(http.MethodGet, path+"?voters=x", tok, "", http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/conversations/g:7b/polls/0", tok, "", http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/conversations/g:7b/polls/"+strconv.FormatUint(p.Seq+1, 10), tok, "", http.StatusNotFound, nil) // a vote
	var page admin.Transcript
	call(http.MethodGet, "/api/v1/conversations/g:7b/messages", tok, "", http.StatusOK, &page)
	var kinds []string
	for _, m := range page.Messages {
		kinds = append(kinds, m.Kind)
	}
	if got := fmt.Sprint(kinds); got != "[poll vote vote poll_close]" {
		t.Fatalf("the transcript's kinds: %s", got)
	}
}

// TestServerScheduled: a business's server schedules a message as its
// shop account, lists and cancels what is scheduled, and the message is
// in the conversation once due; a time gone is 400, a second cancel 404.
func TestServerScheduled(t *testing.T) {
	node, call := startAdminNode(t, actors.Config{ScheduleInterval: 20 * time.Millisecond}, admin.Config{})
	const tok = "s3cret"
	at := time.Now().Add(300 * time.Millisecond).UTC().Truncate(time.Millisecond)
	var sc admin.ScheduledPost
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"shop","to":"buyer","client_msg_id":"remind-1","text":"your parcel arrives today","send_at":"`+at.Format(time.RFC3339Nano)+`"}`, http.StatusAccepted, &sc)
	if sc.ID == "" || !sc.SendAt.Equal(at) || sc.To != "buyer" || sc.Kind != "text" {
		t.Fatalf("scheduled: %+v", sc)
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var other admin.ScheduledPost
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"shop","to":"buyer","client_msg_id":"remind-2","text":"never","send_at":"`+later+`"}`, http.StatusAccepted, &other)
	var list struct {
		Scheduled []admin.ScheduledPost `json:"scheduled"`
	}
	call(http.MethodGet, "/api/v1/users/shop/scheduled", tok, "", http.StatusOK, &list)
	if n := len(list.Scheduled); n == 0 || list.Scheduled[n-1].ID != other.ID || list.Scheduled[n-1].Text != "never" {
		t.Fatalf("the shop's scheduled: %+v", list)
	}
	call(http.MethodDelete, "/api/v1/users/shop/scheduled/"+other.ID, tok, "", http.StatusNoContent, nil)
	call(http.MethodDelete, "/api/v1/users/shop/scheduled/"+other.ID, tok, "", http.StatusNotFound, nil)
	call(http.MethodPost, "/api/v1/messages", tok, `{"sender":"shop","to":"buyer","client_msg_id":"remind-3","text":"late","send_at":"2020-01-01T00:00:00Z"}`, http.StatusBadRequest, nil)
	conv := actors.DirectConvID("buyer", "shop")
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := node.History(context.Background(), &pb.GetHistory{Conv: conv, User: "buyer"})
		if err == nil && len(msgs) == 1 && string(msgs[0].Body) == "your parcel arrives today" && msgs[0].ClientMsgId == "remind-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the buyer's conversation: %v, %v", msgs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServerTranscriptForwarded: the operator's transcript says which
// messages are forwarded copies, and which mention everyone (a post's
// mention_all, the group owner's alone), and names senders who set a
// name.
func TestServerTranscriptForwarded(t *testing.T) {
	node, call := startAdminNode(t, actors.Config{}, admin.Config{})
	ctx := context.Background()
	for _, g := range []string{"g:a", "g:b"} {
		if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "ann",
			Members: []*pb.Member{{User: "ben"}}}); err != nil {
			t.Fatal(err)
		}
	}
	src, err := node.Send(ctx, &pb.SendMessage{Conv: "g:a", Sender: "ben", Body: []byte("see this")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:b", Sender: "ann", ForwardConv: "g:a", ForwardSeq: src.Seq}); err != nil {
		t.Fatal(err)
	}
	name := "Ann K."
	if _, err := node.SetProfile(ctx, "ann", &pb.SetProfile{Name: &name}); err != nil {
		t.Fatal(err)
	}
	var page admin.Transcript
	call(http.MethodGet, "/api/v1/conversations/g:b/messages", "s3cret", "", http.StatusOK, &page)
	if n := len(page.Messages); n == 0 || !page.Messages[n-1].Forwarded || page.Messages[n-1].Text != "see this" || page.Messages[n-1].Sender != "ann" ||
		page.Messages[n-1].SenderName != "Ann K." {
		t.Fatalf("the transcript: %+v", page.Messages)
	}
	var srcPage admin.Transcript
	call(http.MethodGet, "/api/v1/conversations/g:a/messages", "s3cret", "", http.StatusOK, &srcPage)
	if n := len(srcPage.Messages); n == 0 || srcPage.Messages[n-1].Sender != "ben" || srcPage.Messages[n-1].SenderName != "" {
		t.Fatalf("ben, who set no name: %+v", srcPage.Messages)
	}
	// The owner's server mentions everyone; a plain member's may not.
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"ann","conv":"g:b","client_msg_id":"all-1","text":"@all hi","mention_all":true}`, http.StatusCreated, nil)
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"ben","conv":"g:b","client_msg_id":"all-2","text":"@all hi","mention_all":true}`, http.StatusForbidden, nil)
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"ann","conv":"g:b","client_msg_id":"all-3","text":"@all hi","mention_all":true,"mentions":["ben"]}`, http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/conversations/g:b/messages", "s3cret", "", http.StatusOK, &page)
	if last := page.Messages[len(page.Messages)-1]; !last.MentionAll || len(last.Mentions) != 0 {
		t.Fatalf("the transcript's @all: %+v", last)
	}
}

// A post whose text the contact-details policy masks is answered with the
// text as stored.
func TestServerMessageMasked(t *testing.T) {
	call := startAdminAPI(t, actors.Config{ContactDetails: actors.PolicyMask}, admin.Config{})
	var p admin.PostedMessage
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"buyer","to":"seller","client_msg_id":"m1","text":"mail me: b@example.com"}`, http.StatusCreated, &p)
	if p.StoredText != "mail me: ***" {
		t.Fatalf("posted %+v", p)
	}
	p = admin.PostedMessage{} // decoding keeps a field the answer omits
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"buyer","to":"seller","client_msg_id":"m2","text":"thanks"}`, http.StatusCreated, &p)
	if p.StoredText != "" {
		t.Fatalf("a text stored as posted: %+v", p)
	}
}

// TestServerMessageAboutATopic: a shop's server posts an order's update
// into the buyer's conversation with the shop about that order, apart
// from their plain one; a topic beside a conversation's id is refused.
func TestServerMessageAboutATopic(t *testing.T) {
	call := startAdminAPI(t, actors.Config{}, admin.Config{})
	var p admin.PostedMessage
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","topic":"order-42","client_msg_id":"o42","text":"order 42 shipped"}`, http.StatusCreated, &p)
	if p.Conv != "d:buyer:shop:order-42" || p.Seq != 1 {
		t.Fatalf("posted %+v", p)
	}
	var sc admin.ScheduledPost
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","topic":"order-42","client_msg_id":"o42-late","text":"arrives today","send_at":"`+at+`"}`, http.StatusAccepted, &sc)
	if sc.To != "buyer" || sc.Topic != "order-42" {
		t.Fatalf("scheduled %+v", sc)
	}
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","conv":"d:buyer:shop:order-42","topic":"order-43","client_msg_id":"x","text":"x"}`, http.StatusBadRequest, nil)
	// Where the courier is: a location without a text, read back in the log.
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","topic":"order-42","client_msg_id":"o42-here","location":{"lat":52.52,"lng":13.4,"name":"gate B"}}`, http.StatusCreated, &p)
	var page admin.Transcript
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop:order-42/messages", "s3cret", "", http.StatusOK, &page)
	if last := page.Messages[len(page.Messages)-1]; last.Location == nil || last.Location.Lat != 52.52 || last.Location.Name != "gate B" || last.Text != "" {
		t.Fatalf("the posted location in the log: %+v", last)
	}
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","client_msg_id":"o42-far","location":{"lat":95,"lng":0}}`, http.StatusBadRequest, nil)
	// The shop's own data about a post, which the buyer's app reads.
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","topic":"order-42","client_msg_id":"o42-meta","text":"track it","meta":{"tracking":"JD014600","carrier":"dhl"}}`, http.StatusCreated, &p)
	call(http.MethodGet, "/api/v1/conversations/d:buyer:shop:order-42/messages", "s3cret", "", http.StatusOK, &page)
	if last := page.Messages[len(page.Messages)-1]; last.Meta["tracking"] != "JD014600" || last.Meta["carrier"] != "dhl" || len(last.Meta) != 2 {
		t.Fatalf("the posted meta in the log: %+v", last)
	}
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","client_msg_id":"o42-badmeta","text":"x","meta":{"a b":"c"}}`, http.StatusBadRequest, nil)
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","topic":"order 43","client_msg_id":"x","text":"x"}`, http.StatusBadRequest, nil)

	// Order 42's chats, across buyers, found to post into each: a page of
	// one, then the next; the plain chat and another order's left out.
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"carol","topic":"order-42","client_msg_id":"c42","text":"yours too"}`, http.StatusCreated, nil)
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","topic":"order-43","client_msg_id":"o43","text":"other"}`, http.StatusCreated, nil)
	call(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"shop","to":"buyer","client_msg_id":"plain","text":"hello"}`, http.StatusCreated, nil)
	var list admin.UserConversations
	call(http.MethodGet, "/api/v1/users/shop/conversations?topic=order-42&limit=1", "s3cret", "", http.StatusOK, &list)
	if len(list.Conversations) != 1 || list.Next == "" || list.Conversations[0].Topic != "order-42" || list.Conversations[0].Kind != "direct" {
		t.Fatalf("the first page of order 42's chats: %+v", list)
	}
	first, after := list.Conversations[0], list.Next
	list = admin.UserConversations{}
	call(http.MethodGet, "/api/v1/users/shop/conversations?topic=order-42&limit=1&after="+url.QueryEscape(after), "s3cret", "", http.StatusOK, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].Conv == first.Conv {
		t.Fatalf("the second page of order 42's chats: %+v", list)
	}
	peers := []string{first.Peer, list.Conversations[0].Peer}
	slices.Sort(peers)
	if !slices.Equal(peers, []string{"buyer", "carol"}) {
		t.Fatalf("order 42's chats are with %v", peers)
	}
	var all admin.UserConversations
	call(http.MethodGet, "/api/v1/users/shop/conversations", "s3cret", "", http.StatusOK, &all)
	if len(all.Conversations) != 4 || all.Next != "" {
		t.Fatalf("the shop's whole list: %+v", all)
	}
	call(http.MethodGet, "/api/v1/users/shop/conversations?topic=order:42", "s3cret", "", http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/users/shop/conversations?limit=500", "s3cret", "", http.StatusOK, nil)
	for _, bad := range []string{"0", "501", "x"} {
		call(http.MethodGet, "/api/v1/users/shop/conversations?limit="+bad, "s3cret", "", http.StatusBadRequest, nil)
	}
}

// TestServerMembership: a school's server enrols students in a class
// group as its teacher (an admin of the group), on a node where users
// may be added to groups by nobody (the operator's add is not held by
// it); a student's own request is held to a student's rights, and the
// member list pages.
func TestServerMembership(t *testing.T) {
	node, api := startAdminNode(t, actors.Config{GroupAddFrom: pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY}, admin.Config{})
	call := func(method, path, body string, want int, out any) {
		t.Helper()
		api(method, path, "s3cret", body, want, out)
	}
	call(http.MethodPost, "/api/v1/conversations", `{"conv":"g:class-7b","kind":"group","title":"7B","members":[{"user":"teacher","role":"admin"}]}`, http.StatusCreated, nil)
	const members = "/api/v1/conversations/g:class-7b/members"
	call(http.MethodPost, members, `{"actor":"teacher","op":"add","users":["s1","s2","s3"]}`, http.StatusOK, nil)
	if _, err := node.ChangeMembership(context.Background(), &pb.MembershipChange{Conv: "g:class-7b", Actor: "teacher", Op: pb.MembershipChange_ADD, Users: []string{"s4"}}); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("the teacher's own add, not the operator's: %v, want FORBIDDEN", err)
	}
	call(http.MethodPost, members, `{"actor":"s1","op":"remove","users":["s2"]}`, http.StatusForbidden, nil) // a student removes nobody
	call(http.MethodPost, members, `{"actor":"s3","op":"leave"}`, http.StatusOK, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"promote","users":["s1"]}`, http.StatusBadRequest, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"add","users":["s9"],"role":"owner"}`, http.StatusBadRequest, nil)
	call(http.MethodPost, "/api/v1/conversations/g:nosuch/members", `{"actor":"teacher","op":"add","users":["s1"]}`, http.StatusNotFound, nil)

	var page admin.Members
	call(http.MethodGet, members+"?limit=2", "", http.StatusOK, &page)
	if len(page.Members) != 2 || page.Members[0].User != "s1" || page.Members[1].User != "s2" || page.Next != "s2" {
		t.Fatalf("first page %+v", page)
	}
	page = admin.Members{}
	call(http.MethodGet, members+"?after=s2", "", http.StatusOK, &page)
	if len(page.Members) != 1 || page.Members[0] != (admin.ConversationUser{User: "teacher", Role: "admin", JoinedSeq: 1}) || page.Next != "" {
		t.Fatalf("the rest (s3 left) %+v", page)
	}
	call(http.MethodGet, "/api/v1/conversations/g:nosuch/members", "", http.StatusNotFound, nil)
	call(http.MethodGet, members+"?limit=0", "", http.StatusBadRequest, nil)

	// A student muted for a day: listed with the mute's end; a duration
	// with another op, or past the node's bound, is refused.
	call(http.MethodPost, members, `{"actor":"teacher","op":"mute","users":["s1"],"for_ms":86400000}`, http.StatusOK, nil)
	page = admin.Members{}
	call(http.MethodGet, members+"?limit=1", "", http.StatusOK, &page)
	if m := page.Members[0]; m.User != "s1" || !m.Muted || time.Until(time.UnixMilli(m.MutedUntilMs)) < 23*time.Hour {
		t.Fatalf("s1 muted for a day: %+v", m)
	}
	call(http.MethodPost, members, `{"actor":"teacher","op":"unmute","users":["s1"],"for_ms":1000}`, http.StatusBadRequest, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"mute","users":["s1"],"for_ms":31708800001}`, http.StatusBadRequest, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"unmute","users":["s1"]}`, http.StatusOK, nil)

	// The class becomes an announcement channel: the teacher posts, the
	// students read.
	const settings = "/api/v1/conversations/g:class-7b/settings"
	call(http.MethodPost, settings, `{"actor":"s1","admins_only":true}`, http.StatusForbidden, nil)
	var set admin.Settings
	call(http.MethodPost, settings, `{"actor":"teacher","admins_only":true}`, http.StatusOK, &set)
	if !set.AdminsOnly || set.Seq == 0 {
		t.Fatalf("admins only: %+v", set)
	}
	set = admin.Settings{}
	call(http.MethodPost, settings, `{"actor":"s1"}`, http.StatusOK, &set)
	if !set.AdminsOnly || set.Seq != 0 || set.MemberCount != 3 || // the teacher, s1 and s2: s3 left
		len(set.Managers) != 1 || set.Managers[0] != (admin.ConversationUser{User: "teacher", Role: "admin", JoinedSeq: 1}) {
		t.Fatalf("read by a student: %+v", set)
	}
	call(http.MethodPost, "/api/v1/messages", `{"sender":"s1","conv":"g:class-7b","client_msg_id":"q1","text":"?"}`, http.StatusForbidden, nil)
	var posted admin.PostedMessage
	call(http.MethodPost, "/api/v1/messages", `{"sender":"teacher","conv":"g:class-7b","client_msg_id":"a1","text":"page 12"}`, http.StatusCreated, &posted)
	// The back office's view of the class: as the operator, no member's rule.
	var info admin.Conversation
	call(http.MethodGet, "/api/v1/conversations/g:class-7b", "", http.StatusOK, &info)
	if info.Kind != "group" || info.Title != "7B" || !info.AdminsOnly || info.MemberCount != 3 || info.LastSeq < posted.Seq ||
		len(info.Managers) != 1 || info.Managers[0].User != "teacher" || info.PinnedSeqs == nil || info.Created.IsZero() {
		t.Fatalf("the class as the operator sees it: %+v", info)
	}
	call(http.MethodGet, "/api/v1/conversations/g:nosuch", "", http.StatusNotFound, nil)
	call(http.MethodGet, "/api/v1/conversations/bad%00id", "", http.StatusBadRequest, nil)
	call(http.MethodPost, settings, `{"actor":"teacher","prejoin_history":1001}`, http.StatusBadRequest, nil)
	call(http.MethodPost, "/api/v1/conversations/g:nosuch/settings", `{"actor":"teacher"}`, http.StatusNotFound, nil)

	var log admin.Transcript // the enrolments are system messages in the log
	call(http.MethodGet, "/api/v1/conversations/g:class-7b/messages", "", http.StatusOK, &log)
	if len(log.Messages) < 2 || log.Messages[len(log.Messages)-2].Kind != "system" {
		t.Fatalf("the class's log %+v", log)
	}

	// The teacher's server pins the homework for the class.
	set = admin.Settings{}
	call(http.MethodPost, settings, fmt.Sprintf(`{"actor":"teacher","pin_seq":%d}`, posted.Seq), http.StatusOK, &set)
	if len(set.PinnedSeqs) != 1 || set.PinnedSeqs[0] != posted.Seq || set.Seq == 0 {
		t.Fatalf("pin %d: %+v", posted.Seq, set)
	}
	call(http.MethodPost, settings, fmt.Sprintf(`{"actor":"s1","unpin_seq":%d}`, posted.Seq), http.StatusForbidden, nil)
	call(http.MethodPost, settings, fmt.Sprintf(`{"actor":"teacher","pin_seq":%d,"admins_only":false}`, posted.Seq), http.StatusBadRequest, nil)

	// The class opens again, slowly: a student posts once a minute; the
	// second post is 429 with the wait in Retry-After.
	set = admin.Settings{}
	call(http.MethodPost, settings, `{"actor":"teacher","admins_only":false,"slow_mode_ms":60000}`, http.StatusOK, &set)
	if set.AdminsOnly || set.SlowModeMs != 60000 || set.Seq == 0 {
		t.Fatalf("slow mode: %+v", set)
	}
	call(http.MethodPost, settings, `{"actor":"teacher","slow_mode_ms":500}`, http.StatusBadRequest, nil)
	set = admin.Settings{}
	call(http.MethodPost, settings, `{"actor":"teacher","title":"7B Biology","description":"Homework and questions"}`, http.StatusOK, &set)
	if set.Title != "7B Biology" || set.Description != "Homework and questions" || set.Seq == 0 {
		t.Fatalf("a name for the class: %+v", set)
	}
	call(http.MethodPost, settings, `{"actor":"s1","title":"best class"}`, http.StatusForbidden, nil)
	call(http.MethodPost, settings, `{"actor":"teacher","title":"two\nlines"}`, http.StatusBadRequest, nil)
	// A term's group, with its teacher as owner, ended by the school's server.
	call(http.MethodPost, "/api/v1/conversations", `{"conv":"g:term","kind":"group","members":[{"user":"head","role":"owner"},{"user":"teacher","role":"admin"},{"user":"s1"}]}`, http.StatusCreated, nil)
	call(http.MethodPost, "/api/v1/conversations/g:term/members", `{"actor":"teacher","op":"disband"}`, http.StatusForbidden, nil) // an admin
	call(http.MethodPost, "/api/v1/conversations/g:term/members", `{"actor":"s1","op":"disband"}`, http.StatusForbidden, nil)
	call(http.MethodPost, "/api/v1/conversations/g:term/members", `{"actor":"head","op":"disband"}`, http.StatusOK, nil)
	call(http.MethodPost, "/api/v1/messages", `{"sender":"s1","conv":"g:term","client_msg_id":"late","text":"?"}`, http.StatusForbidden, nil)
	call(http.MethodPost, "/api/v1/messages", `{"sender":"s1","conv":"g:class-7b","client_msg_id":"q2","text":"may I?"}`, http.StatusCreated, nil)
	h := api(http.MethodPost, "/api/v1/messages", "s3cret", `{"sender":"s1","conv":"g:class-7b","client_msg_id":"q3","text":"and?"}`, http.StatusTooManyRequests, nil)
	if after, _ := strconv.Atoi(h.Get("Retry-After")); after < 55 || after > 60 {
		t.Fatalf("Retry-After %q, want about 60 s", h.Get("Retry-After"))
	}

	// The school's server makes a class code for the parents' evening; a
	// student may not; the code is listed without itself, then revoked.
	const invites = "/api/v1/conversations/g:class-7b/invites"
	call(http.MethodPost, invites, `{"actor":"s1","create":true}`, http.StatusForbidden, nil)
	call(http.MethodPost, invites, `{"actor":"teacher","create":true,"ttl":"forever"}`, http.StatusBadRequest, nil)
	call(http.MethodPost, invites, `{"actor":"teacher","create":true,"ttl":"9999h"}`, http.StatusBadRequest, nil) // past --max-invite-ttl
	var inv admin.Invites
	call(http.MethodPost, invites, `{"actor":"teacher","create":true,"ttl":"72h","max_uses":40}`, http.StatusOK, &inv)
	if inv.Code == "" || inv.ID == "" || len(inv.Invites) != 1 || inv.Invites[0].MaxUses != 40 || inv.Invites[0].ExpiresAt.Sub(inv.Invites[0].CreatedAt) != 72*time.Hour {
		t.Fatalf("create: %+v", inv)
	}
	inv = admin.Invites{}
	call(http.MethodPost, invites, `{"actor":"teacher"}`, http.StatusOK, &inv)
	if inv.Code != "" || len(inv.Invites) != 1 {
		t.Fatalf("list: %+v", inv)
	}
	call(http.MethodPost, invites, fmt.Sprintf(`{"actor":"teacher","revoke":%q}`, inv.Invites[0].ID), http.StatusOK, &inv)
	if len(inv.Invites) != 0 {
		t.Fatalf("after the revoke: %+v", inv)
	}
	call(http.MethodPost, invites, `{"actor":"teacher","revoke":"nosuch"}`, http.StatusNotFound, nil)
	call(http.MethodPost, "/api/v1/conversations/g:nosuch/invites", `{"actor":"teacher","create":true}`, http.StatusNotFound, nil)

	// A code that needs approval: a parent asks, the school's server reads
	// the request and approves it; another is declined.
	inv = admin.Invites{}
	call(http.MethodPost, invites, `{"actor":"teacher","create":true,"approval":true}`, http.StatusOK, &inv)
	if len(inv.Invites) != 1 || !inv.Invites[0].Approval {
		t.Fatalf("an approval invite: %+v", inv)
	}
	for _, parent := range []string{"parent1", "parent2"} {
		if _, r, err := node.JoinGroup(context.Background(), parent, inv.Code, "note from "+parent); err != nil || !r.Pending {
			t.Fatalf("%s asks: %+v %v", parent, r, err)
		}
	}
	inv = admin.Invites{}
	call(http.MethodPost, invites, `{"actor":"teacher"}`, http.StatusOK, &inv)
	if len(inv.Requests) != 2 || inv.Requests[0].User != "parent1" || inv.Requests[0].ExpiresAt.Before(inv.Requests[0].At) || inv.Requests[0].Note != "note from parent1" {
		t.Fatalf("requests: %+v", inv.Requests)
	}
	call(http.MethodPost, members, `{"actor":"s1","op":"approve","users":["parent1"]}`, http.StatusForbidden, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"approve","users":["parent1"]}`, http.StatusOK, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"decline","users":["parent2"]}`, http.StatusOK, nil)
	call(http.MethodPost, members, `{"actor":"teacher","op":"decline","users":["parent2"]}`, http.StatusNotFound, nil)
	inv = admin.Invites{}
	call(http.MethodPost, invites, `{"actor":"teacher"}`, http.StatusOK, &inv)
	if len(inv.Requests) != 0 || inv.Invites[0].Uses != 1 {
		t.Fatalf("after the answers: %+v", inv)
	}
}

// startAdminAPI starts a node on a fresh store with cfg and its admin API
// configured by api (its Token "s3cret" when empty); call sends body to path with the token, requires the
// status want and decodes the answer into out (nil: ignored).
func startAdminAPI(t *testing.T, cfg actors.Config, api admin.Config) (call func(method, path, token, body string, want int, out any) http.Header) {
	t.Helper()
	_, call = startAdminNode(t, cfg, api)
	return call
}

// startAdminNode is startAdminAPI, also returning the node.
func startAdminNode(t *testing.T, cfg actors.Config, api admin.Config) (*boot.Node, func(method, path, token, body string, want int, out any) http.Header) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	node, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "server-api-test", Actors: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Stop(true) })
	if api.Token == "" {
		api.Token = "s3cret"
	}
	if api.Logger == nil {
		api.Logger = log
	}
	srv, err := admin.New(node, api, admin.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(described(t, srv.Handler()))
	t.Cleanup(hs.Close)
	return node, func(method, path, token, body string, want int, out any) http.Header {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, bytes.NewReader([]byte(body)))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, res.StatusCode, raw, want)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, raw)
			}
		}
		return res.Header
	}
}
