package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestErrorCodeConformance walks the error table of docs/PROTOCOL.md §9
// with a raw client (frames built from wirepb, no SDK): every code a
// client can cause is caused, and the node's answer is checked against the
// table's "where" column (a response on the stream, or an Error frame
// then a connection close with that code). The codes no client can cause
// at will are listed with where they are tested; together the two cover
// the wire enum exactly.
func TestErrorCodeConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		transport: transport.Config{HelloTimeout: 500 * time.Millisecond, RequestTimeout: 2 * time.Second,
			WriteTimeout: 2 * time.Second, MaxInflight: 1, Workers: 1, DrainGrace: time.Second,
			// A slow refill: the flood below gets MaxRejected refusals in
			// a row however slowly a loaded machine reads it.
			ConnRate: 1},
		actors: actors.Config{MaxGroupMembers: 3, RecallWindow: time.Nanosecond, EditWindow: time.Nanosecond, PolicyWords: []string{"contraband"},
			PolicyMode: actors.PolicyBlock, MaxOnlineDevices: 2},
	})
	unreachable := map[wirepb.Code]string{
		wirepb.Code_RETRY:               "a grain's transient failure while a conversation moves: actors tests",
		wirepb.Code_INTERNAL:            "a server bug",
		wirepb.Code_STORAGE_UNAVAILABLE: "a failing disk: actors storage-fault tests",
		wirepb.Code_UNAVAILABLE:         "a cluster that does not answer: cluster tests",
		wirepb.Code_UPSTREAM_FAILED:     "a business card webhook that fails: the card tests",
	}
	where := documentedWhere(t)
	seen := map[wirepb.Code]bool{}
	response := func(name string, res *wirepb.Response, err error, want wirepb.Code) *wirepb.Response {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := res.GetError().GetCode(); got != want {
			t.Fatalf("%s: answered %v (%s), want %v", name, got, res.GetError().GetMessage(), want)
		}
		if want != wirepb.Code_OK && !strings.Contains(where[want], "response") {
			t.Errorf("%s: %v came as a response; §9 says %q", name, want, where[want])
		}
		seen[want] = true
		return res
	}
	closed := func(name string, r *raw, want wirepb.Code) {
		t.Helper()
		if got := r.errorFrame().GetCode(); got != want {
			t.Fatalf("%s: error frame %v, want %v", name, got, want)
		}
		if got := r.closeCode(); got != want {
			t.Fatalf("%s: closed with %v, want %v", name, got, want)
		}
		if !strings.Contains(where[want], "connection close") {
			t.Errorf("%s: %v closed the connection; §9 says %q", name, want, where[want])
		}
		seen[want] = true
	}
	login := func(user, device string) *raw {
		r := rawDial(t, e, nil)
		r.login(e.token(user, device))
		return r
	}
	id := uint64(100)
	call := func(r *raw, req *wirepb.Request) (*wirepb.Response, error) {
		id++
		req.Id = id
		res, err := r.request(frame(req))
		if err == nil && res.Id != id {
			t.Fatalf("answer %d to request %d", res.Id, id)
		}
		return res, err
	}
	send := func(conv, to, body string) *wirepb.Request {
		id++
		return &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: conv, To: to, Body: []byte(body), ClientMsgId: "m" + strconv.FormatUint(id, 10)}}}
	}
	group := func(conv string, members ...string) *wirepb.Request {
		return &wirepb.Request{Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Conv: conv, Members: members}}}
	}
	member := func(conv string, op wirepb.MembershipRequest_Op, users ...string) *wirepb.Request {
		return &wirepb.Request{Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: conv, Op: op, Users: users}}}
	}

	alice, bob, carol := login("alice", "phone"), login("bob", "phone"), login("carol", "phone")
	res, err := call(alice, &wirepb.Request{Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})
	response("ping", res, err, wirepb.Code_OK)
	res, err = call(alice, &wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: "bad conv!"}}})
	response("bad conversation id", res, err, wirepb.Code_INVALID)
	res, err = call(alice, send("g:nowhere", "", "hi"))
	response("send to no conversation", res, err, wirepb.Code_NOT_FOUND)
	res, err = call(alice, group("g:club", "bob"))
	response("create group", res, err, wirepb.Code_OK)
	res, err = call(alice, group("g:club"))
	response("create it again", res, err, wirepb.Code_EXISTS)
	res, err = call(alice, group("d:alice:carol", "carol"))
	response("create a direct id as a group", res, err, wirepb.Code_FORBIDDEN)
	res, err = call(carol, &wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: "g:club"}}})
	response("history of another's group", res, err, wirepb.Code_NOT_MEMBER)
	res, err = call(alice, member("g:club", wirepb.MembershipRequest_ADD, "carol", "dave"))
	response("over the group size", res, err, wirepb.Code_GROUP_FULL)
	res, err = call(alice, send("g:club", "", "contraband"))
	response("policy", res, err, wirepb.Code_REJECTED_POLICY)
	res, err = call(alice, send("g:club", "", strings.Repeat("x", 64<<10+1)))
	response("body over the limit", res, err, wirepb.Code_TOO_LARGE)
	res, err = call(alice, member("g:club", wirepb.MembershipRequest_MUTE, "bob"))
	response("mute", res, err, wirepb.Code_OK)
	res, err = call(bob, send("g:club", "", "hello?"))
	response("muted send", res, err, wirepb.Code_MUTED)
	timed := member("g:club", wirepb.MembershipRequest_MUTE, "bob")
	timed.GetMembership().ForMs = time.Hour.Milliseconds()
	res, err = call(alice, timed)
	response("a mute for an hour", res, err, wirepb.Code_OK)
	res, err = call(alice, &wirepb.Request{Op: &wirepb.Request_Members{Members: &wirepb.MembersRequest{Conv: "g:club"}}})
	for _, m := range response("members", res, err, wirepb.Code_OK).GetMembers().GetMembers() {
		if m.User == "bob" && (!m.Muted || time.Until(time.UnixMilli(m.MutedUntilMs)) < 59*time.Minute) {
			t.Fatalf("bob muted for an hour is listed %v", m)
		}
	}
	timed.GetMembership().Op = wirepb.MembershipRequest_UNMUTE
	res, err = call(alice, timed)
	response("an unmute with a duration", res, err, wirepb.Code_INVALID)
	timed.GetMembership().Op, timed.GetMembership().ForMs = wirepb.MembershipRequest_MUTE, -1
	res, err = call(alice, timed)
	response("a mute for a negative time", res, err, wirepb.Code_INVALID)
	res, err = call(alice, &wirepb.Request{Op: &wirepb.Request_Mute{Mute: &wirepb.MuteRequest{Conv: "g:club", Muted: true, ForMs: math.MaxInt64}}})
	response("a conversation muted for longer than a Duration holds", res, err, wirepb.Code_INVALID)
	res, err = call(alice, send("", "bob", "to recall"))
	sent := response("direct send", res, err, wirepb.Code_OK).GetSend()
	time.Sleep(5 * time.Millisecond)
	res, err = call(alice, &wirepb.Request{Op: &wirepb.Request_Recall{Recall: &wirepb.RecallRequest{Conv: sent.Conv, Seq: sent.Seq}}})
	response("recall past the window", res, err, wirepb.Code_RECALL_EXPIRED)
	edit := send(sent.Conv, "", "edited")
	edit.GetSend().RefSeq = sent.Seq
	res, err = call(alice, edit)
	response("edit past the window", res, err, wirepb.Code_EDIT_EXPIRED)
	res, err = call(alice, group("g:slow", "bob"))
	response("create a group for slow mode", res, err, wirepb.Code_OK)
	res, err = call(alice, &wirepb.Request{Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: "g:slow", SlowModeMs: proto.Uint32(60_000)}}})
	response("slow mode", res, err, wirepb.Code_OK)
	res, err = call(bob, send("g:slow", "", "one"))
	response("a member's first message in slow mode", res, err, wirepb.Code_OK)
	res, err = call(bob, send("g:slow", "", "two"))
	if response("a member's second message in slow mode", res, err, wirepb.Code_SLOW_MODE).GetError().GetRetryAfterMs() == 0 {
		t.Fatalf("SLOW_MODE without the wait: %v", res)
	}
	poll := send("g:slow", "", `{"question":"Friday?","options":["yes","no"]}`)
	poll.GetSend().Kind = wirepb.MessageKind_POLL
	res, err = call(alice, poll)
	pollSeq := response("a poll", res, err, wirepb.Code_OK).GetSend().GetSeq()
	pollSend := func(kind wirepb.MessageKind, body string) *wirepb.Request {
		r := send("g:slow", "", body)
		r.GetSend().Kind, r.GetSend().RefSeq = kind, pollSeq
		return r
	}
	res, err = call(alice, pollSend(wirepb.MessageKind_POLL, ""))
	response("the poll's close", res, err, wirepb.Code_OK)
	res, err = call(bob, pollSend(wirepb.MessageKind_VOTE, "[0]"))
	response("a vote on a closed poll", res, err, wirepb.Code_POLL_CLOSED)
	res, err = call(alice, &wirepb.Request{Op: &wirepb.Request_Freeze{Freeze: &wirepb.FreezeRequest{Conv: "g:slow", Frozen: proto.Bool(true), Reason: "closed for the night"}}})
	response("a freeze", res, err, wirepb.Code_OK)
	res, err = call(alice, send("g:slow", "", "after the freeze"))
	response("a send into a frozen group", res, err, wirepb.Code_FROZEN)
	res, err = call(alice, send("", "bob", "may I call?"))
	response("a direct message", res, err, wirepb.Code_OK)
	ring := func(id string) *wirepb.Request {
		return &wirepb.Request{Op: &wirepb.Request_Call{Call: &wirepb.CallRequest{Conv: "d:alice:bob", Op: wirepb.CallRequest_START, CallId: id}}}
	}
	res, err = call(alice, ring("c1"))
	response("a call", res, err, wirepb.Code_OK)
	res, err = call(bob, ring("c2"))
	response("a second call while one rings", res, err, wirepb.Code_IN_CALL)
	res, err = call(alice, &wirepb.Request{})
	response("no operation", res, err, wirepb.Code_UNKNOWN_TYPE)
	res, err = alice.request(wirepb.AppendFrame(nil, []byte{0xff, 0xff, 0xff}))
	if response("not a request", res, err, wirepb.Code_BAD_FRAME); res.Id != 0 {
		t.Fatalf("a frame that is no request answered with id %d", res.Id)
	}

	// Pipelined in one write: the second request is read while the first
	// waits on its grain (MaxInflight 1 here): BUSY with a retry-after; a
	// repeated id of an unanswered request: PROTOCOL.
	pipelined := func(name string, reqs ...*wirepb.Request) map[wirepb.Code]*wirepb.Response {
		t.Helper()
		var b []byte
		for _, req := range reqs {
			b = append(b, frame(req)...)
		}
		if _, err := alice.st.Write(b); err != nil {
			t.Fatal(err)
		}
		got := map[wirepb.Code]*wirepb.Response{}
		for range reqs {
			res, err := alice.response()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got[res.GetError().GetCode()] = res
		}
		return got
	}
	// Both need the second frame read while the first send is still
	// unanswered; a loaded machine (the race pass) can answer the first
	// before the reader gets to the second, and both are then rightly
	// answered OK. So each pair is tried a few times, with fresh ids.
	pipelinedUntil := func(name string, want wirepb.Code, id1, id2 func(i uint64) uint64) map[wirepb.Code]*wirepb.Response {
		t.Helper()
		var got map[wirepb.Code]*wirepb.Response
		for i := range uint64(5) {
			s1, s2 := send("g:club", "", fmt.Sprint(name, " a", i)), send("g:club", "", fmt.Sprint(name, " b", i))
			s1.Id, s2.Id = id1(i), id2(i)
			if got = pipelined(name, s1, s2); got[want] != nil {
				return got
			}
		}
		t.Fatalf("%s: never %v in 5 tries: %v", name, want, got)
		return nil
	}
	got := pipelinedUntil("over max_inflight", wirepb.Code_BUSY, func(i uint64) uint64 { return 901 + 10*i }, func(i uint64) uint64 { return 902 + 10*i })
	busy := got[wirepb.Code_BUSY]
	if busy.Id%10 != 2 || busy.Error.RetryAfterMs == 0 {
		t.Fatalf("over max_inflight: %v", got)
	}
	response("over max_inflight", busy, nil, wirepb.Code_BUSY)
	repeated := func(i uint64) uint64 { return 903 + 10*i }
	got = pipelinedUntil("repeated id", wirepb.Code_PROTOCOL, repeated, repeated)
	if got[wirepb.Code_OK] == nil {
		t.Fatalf("repeated id: %v", got)
	}
	response("repeated id", got[wirepb.Code_PROTOCOL], nil, wirepb.Code_PROTOCOL)

	// Flooding: pipelined pings past the rate limit are answered
	// RATE_LIMITED, and past MaxRejected the connection is closed.
	flood := login("flood", "phone")
	pings := func(n int) []byte {
		var b []byte
		for i := range n {
			b = append(b, frame(&wirepb.Request{Id: uint64(i + 1), Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})...)
		}
		return b
	}
	// 150: the burst of 100 passes, 50 are refused (under MaxRejected).
	if _, err := flood.st.Write(pings(150)); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for range 150 {
		res, err := flood.response()
		if err != nil {
			t.Fatalf("flood: %v", err)
		}
		if res.GetError().GetCode() == wirepb.Code_RATE_LIMITED {
			limited++
			response("flood", res, nil, wirepb.Code_RATE_LIMITED)
		}
	}
	if limited == 0 {
		t.Fatal("150 pings at once, none rate limited")
	}
	// Then past MaxRejected refusals in a row: closed.
	if _, err := flood.st.Write(pings(2000)); err != nil {
		t.Fatal(err)
	}
	closed("flood", flood, wirepb.Code_RATE_LIMITED)

	// Connects refused.
	login("alice", "laptop") // the second device: the edge of MaxOnlineDevices
	third := rawDial(t, e, nil)
	third.hello(frame(&wirepb.Hello{Token: e.token("alice", "tablet")}))
	closed("third device online", third, wirepb.Code_TOO_MANY)
	forged := rawDial(t, e, nil)
	forged.hello(frame(&wirepb.Hello{Token: "not.a.token"}))
	closed("forged token", forged, wirepb.Code_UNAUTHENTICATED)
	expiredTok, err := transport.MintHS256(testSecret, "alice", "old", -time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	expired := rawDial(t, e, nil)
	expired.hello(frame(&wirepb.Hello{Token: expiredTok}))
	closed("expired token", expired, wirepb.Code_TOKEN_EXPIRED)
	// An operator's suspension ends the user's connection and refuses
	// the next.
	mallory := login("mallory", "phone")
	if _, err := e.nodes[0].Suspend(tctx(t), "mallory", time.Time{}, "spam"); err != nil {
		t.Fatal(err)
	}
	closed("suspended while connected", mallory, wirepb.Code_SUSPENDED)
	again := rawDial(t, e, nil)
	again.hello(frame(&wirepb.Hello{Token: e.token("mallory", "tablet")}))
	closed("suspended user connects", again, wirepb.Code_SUSPENDED)
	// The same device connecting again closes its older connection.
	older := login("dave", "phone")
	login("dave", "phone")
	closed("device connected again", older, wirepb.Code_REPLACED)
	// A stream with nothing written is never seen by the server: no
	// stream to write an Error frame on, only the close code.
	silent := rawDial(t, e, nil)
	silent.hello(nil)
	if got := silent.closeCode(); got != wirepb.Code_TIMEOUT {
		t.Fatalf("no hello: closed with %v", got)
	}
	seen[wirepb.Code_TIMEOUT] = true
	ended := rawDial(t, e, nil)
	ended.hello(nil)
	_ = ended.st.Close()
	closed("stream ended before hello", ended, wirepb.Code_PROTOCOL)

	// Broken framing after the hello.
	big := login("bob", "tablet")
	if _, err := big.st.Write([]byte{0x80, 0x80, 0x80, 0x80, 0x01}); err != nil {
		t.Fatal(err)
	}
	closed("frame over the maximum", big, wirepb.Code_FRAME_TOO_LARGE)
	bad := login("carol", "tablet")
	if _, err := bad.st.Write([]byte{0x85, 0x00}); err != nil {
		t.Fatal(err)
	}
	closed("non-minimal prefix", bad, wirepb.Code_BAD_FRAME)

	// A client that stops reading: its stream blocks, and WriteTimeout
	// later it is closed. (No Error frame can get through a stream the
	// client does not read: the close code says it.)
	stuck := rawDial(t, e, &quic.Config{InitialStreamReceiveWindow: 1 << 10, MaxStreamReceiveWindow: 1 << 10})
	stuck.login(e.token("erin", "phone"))
	zed := e.dial("zed", "phone")
	body := bytes.Repeat([]byte("x"), 2000)
	for range 40 {
		if _, err := zed.Send(client.ToUser("erin"), body, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := stuck.closeCode(); got != wirepb.Code_SLOW_CONSUMER {
		t.Fatalf("stuck reader closed with %v", got)
	}
	seen[wirepb.Code_SLOW_CONSUMER] = true

	// Drain: GoAway on the stream, then GOING_AWAY at the end of the grace.
	ctx, cancel := context.WithTimeout(tctx(t), 10*time.Second)
	defer cancel()
	go e.servers[0].Drain(ctx, "")
	for {
		sf, err := bob.next()
		if err != nil {
			t.Fatalf("no GoAway: %v", err)
		}
		if sf.GetGoAway() != nil {
			break
		}
	}
	closed("drained", bob, wirepb.Code_GOING_AWAY)

	for n, name := range wirepb.Code_name {
		c := wirepb.Code(n)
		if c == wirepb.Code_OK {
			continue
		}
		if why, ok := unreachable[c]; ok && seen[c] {
			t.Errorf("%s is listed as unreachable (%s) but was caused", name, why)
		} else if !ok && !seen[c] {
			t.Errorf("%s: not walked", name)
		}
	}
}

// documentedWhere reads the "where" column of PROTOCOL.md §9 by code.
func documentedWhere(t *testing.T) map[wirepb.Code]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[wirepb.Code]string{}
	for _, r := range regexp.MustCompile(`(?m)^\| (\d+) \| [A-Z_]+ \|.*\| ([^|]*) \|$`).FindAllSubmatch(doc, -1) {
		n, _ := strconv.Atoi(string(r[1]))
		out[wirepb.Code(n)] = string(r[2])
	}
	if len(out) < 20 {
		t.Fatalf("read %d rows of §9", len(out))
	}
	return out
}
