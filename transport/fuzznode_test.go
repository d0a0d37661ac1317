package transport_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
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

// FuzzNodeRequest sends arbitrary request frames to a real node over QUIC,
// as one signed-in user who holds a direct conversation, a group and a
// desk agent's seat: every frame is answered on the stream with a
// response, the connection carries on, and no answer is a server failure
// (INTERNAL, or UNAVAILABLE from a single node: a grain that panicked or
// hung on the input). The decoders' own targets are in fuzz_test.go; this
// one reaches the actors API behind them. `go test` runs the seeds.
func FuzzNodeRequest(f *testing.F) {
	for _, r := range transport.SeedRequests() {
		f.Add(mustMarshal(r))
	}
	e := fuzzNodes(f, 1)
	r := fuzzConn(f, e, 0)
	r.login(e.token("alice", "phone"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > wirepb.DefaultMaxFrame-8 {
			return
		}
		res, err := r.request(wirepb.AppendFrame(nil, b))
		if err != nil {
			t.Fatalf("no answer to %x: %v", b, err)
		}
		var req wirepb.Request
		if proto.Unmarshal(b, &req) == nil && res.Id != req.Id && res.GetError().GetCode() != wirepb.Code_BAD_FRAME {
			t.Fatalf("answer for id %d to request %d (%v)", res.Id, req.Id, res.GetError())
		}
		switch c := res.GetError().GetCode(); c {
		case wirepb.Code_INTERNAL, wirepb.Code_UNAVAILABLE:
			t.Fatalf("server failure %v on %v: %s", c, &req, res.GetError().GetMessage())
		}
	})
}

// fuzzNodes are the nodes the fuzz targets talk to, with no rate limits
// in the way and contact details masked (fuzzed texts go through the
// policy's scans): alice is an online desk agent, and bob has written to
// her and made the group g:team with her.
func fuzzNodes(f *testing.F, nodes int) *env {
	e := newEnv(f, envOptions{nodes: nodes, transport: transport.Config{RequestTimeout: 5 * time.Second,
		ConnRate: 1e6, ConnBurst: 1 << 20, UserRate: 1e6, UserBurst: 1 << 20},
		actors: actors.Config{ContactDetails: actors.PolicyMask, ContactDetailsIn: []string{"direct", "group", "service"}}})
	setUpDesk(f, e, []string{"queue:sales"}, "online", "alice")
	ctx := tctx(f)
	bob := e.dial("bob", "phone")
	if _, err := bob.SendText(ctx, client.ToUser("alice"), "hi"); err != nil {
		f.Fatal(err)
	}
	if _, err := bob.CreateGroup(ctx, "g:team", "team", []string{"alice"}); err != nil {
		f.Fatal(err)
	}
	return e
}

// fuzzConn is a raw connection to node i that keeps itself alive, so a
// user the fuzzer leaves alone for a while stays connected.
func fuzzConn(f *testing.F, e *env, i int) *raw {
	return rawDialNode(f, e, i, &quic.Config{KeepAlivePeriod: 5 * time.Second})
}

// FuzzNodeOps builds well-formed requests of every operation from
// fuzzed fields, on the conversations and users the node holds, so the
// grains' own checks and paths are explored rather than the decoder's.
// Three users take turns: alice and bob share a direct conversation and
// a group, carol shares nothing with them. Two nodes, bob on the second,
// so the grains' answers and refusals also cross between nodes. Beyond the answers' checks of
// FuzzNodeRequest, carol is refused everything on alice and bob's direct
// conversation: no input lets a third user into it. Every send the node
// acks is checked against the others and read back (sendLedger).
func FuzzNodeOps(f *testing.F) {
	for op := range uint8(opCount) {
		f.Add(op, uint8(0), uint64(1), uint64(10), "x", false)
		f.Add(op, uint8(0x11), uint64(0), uint64(1<<63), "g:team", true)
		f.Add(op, uint8(0x20), uint64(2), uint64(3), "listing", true) // carol on d:alice:bob
	}
	e := fuzzNodes(f, 2)
	users := []string{"alice", "bob", "carol"}
	conns := make([]*raw, len(users))
	for i, u := range users {
		conns[i] = fuzzConn(f, e, i%len(e.nodes))
		conns[i].login(e.token(u, "fuzz"))
	}
	var id uint64
	sent := &sendLedger{bySeq: map[convSeq]sendKey{}, byKey: map[sendKey][]uint64{}}
	f.Fuzz(func(t *testing.T, op, pick uint8, a, b uint64, s string, flag bool) {
		s = strings.ToValidUTF8(s, "?") // proto3 strings are UTF-8; FuzzNodeRequest sends the rest
		who := int(pick>>4) % len(users)
		convs := []string{"d:alice:bob", "g:team", "d:bob:carol", "s:cars:alice:1", "g:" + s, s}
		conv := convs[int(pick&0x0f)%len(convs)]
		id++
		req := opRequest(op, conv, users[int(a%uint64(len(users)))], a, b, s, flag)
		req.Id = id
		res, err := conns[who].request(mustMarshalFrame(req))
		if err != nil {
			t.Fatalf("%s: no answer to %v: %v", users[who], req, err)
		}
		if res.Id != id {
			t.Fatalf("answer for id %d to request %d", res.Id, id)
		}
		switch c := res.GetError().GetCode(); c {
		case wirepb.Code_INTERNAL, wirepb.Code_UNAVAILABLE:
			t.Fatalf("server failure %v on %v: %s", c, req, res.GetError().GetMessage())
		}
		if users[who] == "carol" && conv == "d:alice:bob" && convScoped(req) && res.GetError() == nil {
			t.Fatalf("carol was answered on alice and bob's conversation: %v → %v", req, res)
		}
		for _, m := range res.GetSearch().GetMessages() {
			if users[who] == "carol" && m.Conv == "d:alice:bob" {
				t.Fatalf("carol's search found alice and bob's message: %v → %v", req, m)
			}
		}
		if req.GetSend() != nil && res.GetSend() != nil {
			id++
			sent.check(t, conns[who], id, users[who], req.GetSend(), res.GetSend())
		}
	})
}

// sendLedger is what the fuzzer was told about sends: no seq of a
// conversation is given two messages, a duplicate is answered with the
// seq of the send it repeats, and an acked message reads back from the
// history as it was sent (or as the node answered it stored, masked).
type sendLedger struct {
	bySeq map[convSeq]sendKey
	byKey map[sendKey][]uint64 // a key can be stored anew once it left the dedupe window
}

type convSeq struct {
	conv string
	seq  uint64
}

type sendKey struct{ conv, sender, clientMsgID string }

func (l *sendLedger) check(t *testing.T, r *raw, id uint64, user string, req *wirepb.SendRequest, res *wirepb.SendResult) {
	key := sendKey{res.Conv, user, req.ClientMsgId}
	if res.Duplicate {
		if seqs, ok := l.byKey[key]; ok && !slices.Contains(seqs, res.Seq) {
			t.Fatalf("duplicate of %v answered with seq %d, acked before at %v", key, res.Seq, seqs)
		}
		return
	}
	at := convSeq{res.Conv, res.Seq}
	if prev, ok := l.bySeq[at]; ok {
		t.Fatalf("seq %d of %s given twice: to %v and %v", res.Seq, res.Conv, prev, key)
	}
	l.bySeq[at], l.byKey[key] = key, append(l.byKey[key], res.Seq)
	hist, err := r.request(mustMarshalFrame(&wirepb.Request{Id: id, Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{
		Conv: res.Conv, FromSeq: res.Seq, ToSeq: res.Seq, OldestFirst: true, Limit: 1}}}))
	if err != nil || hist.GetError() != nil {
		t.Fatalf("%s reading back %v at seq %d: %v %v", user, key, res.Seq, err, hist.GetError())
	}
	stored := req.Body // or, masked, the body the node answered
	if len(res.StoredBody) > 0 {
		stored = res.StoredBody
	}
	for _, m := range hist.GetHistory().GetMessages() {
		if m.Seq != res.Seq {
			continue
		}
		if m.Sender != user || m.ClientMsgId != req.ClientMsgId || m.Recalled ||
			!m.Flagged && !res.Flagged && !bytes.Equal(m.Body, stored) {
			t.Fatalf("acked %v (body %q) reads back as %v", key, req.Body, m)
		}
		return
	}
	t.Fatalf("acked %v at seq %d is not in the history: %v", key, res.Seq, hist.GetHistory())
}

const opCount = 70

func mustMarshalFrame(m proto.Message) []byte {
	b, err := wirepb.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// opRequest is the request of kind op%opCount built from the fields.
func opRequest(op uint8, conv, user string, a, b uint64, s string, flag bool) *wirepb.Request {
	n := uint32(b)
	switch op % opCount {
	case 0:
		return &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: conv, ClientMsgId: s + "m", Body: []byte(s),
			ClientTsMs: int64(a), Kind: wirepb.MessageKind(b % 8), AfterClientMsgId: map[bool]string{true: s}[flag],
			RefSeq: map[bool]uint64{true: a % 8}[b%5 == 0]}}}
	case 1:
		return &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: user, ClientMsgId: s + "t", Body: []byte(s), MentionAll: flag}}}
	case 2:
		return &wirepb.Request{Op: &wirepb.Request_Sync{Sync: &wirepb.SyncRequest{Cursor: a, Limit: n}}}
	case 3:
		return &wirepb.Request{Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: []uint64{a, b}, SyncCursor: a}}}
	case 4:
		return &wirepb.Request{Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: conv, FromSeq: a, ToSeq: b, OldestFirst: flag, Limit: uint32(a)}}}
	case 5:
		return &wirepb.Request{Op: &wirepb.Request_MarkRead{MarkRead: &wirepb.MarkReadRequest{Conv: conv, Seq: a}}}
	case 6:
		return &wirepb.Request{Op: &wirepb.Request_Recall{Recall: &wirepb.RecallRequest{Conv: conv, Seq: a}}}
	case 7:
		return &wirepb.Request{Op: &wirepb.Request_ListConversations{ListConversations: &wirepb.ListConversationsRequest{AfterConv: s, Limit: n, Archived: flag}}}
	case 8:
		return &wirepb.Request{Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Conv: conv, Title: s,
			Members: []string{user, s}, Kind: wirepb.ConvKind(b % 8), Roles: []*wirepb.Member{{User: user, Role: wirepb.Role(a % 8)}}}}}
	case 9:
		return &wirepb.Request{Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: conv,
			Op: wirepb.MembershipRequest_Op(b % 11), Users: []string{user}, Role: wirepb.Role(a % 8)}}}
	case 10:
		return &wirepb.Request{Op: &wirepb.Request_Members{Members: &wirepb.MembersRequest{Conv: conv, After: s, Limit: n}}}
	case 11:
		return &wirepb.Request{Op: &wirepb.Request_Presence{Presence: &wirepb.PresenceRequest{User: user, Conv: map[bool]string{true: conv}[flag]}}}
	case 12:
		return &wirepb.Request{Op: &wirepb.Request_Pin{Pin: &wirepb.PinRequest{Conv: conv, Pinned: flag}}}
	case 13:
		return &wirepb.Request{Op: &wirepb.Request_Signal{Signal: &wirepb.Signal{Kind: wirepb.Signal_Kind(b % 6), Conv: conv, User: user, Seq: a}}}
	case 14:
		return &wirepb.Request{Op: &wirepb.Request_Mute{Mute: &wirepb.MuteRequest{Conv: conv, Muted: flag}}}
	case 15:
		return &wirepb.Request{Op: &wirepb.Request_CardClick{CardClick: &wirepb.CardClickRequest{Conv: conv, Seq: a, Action: s}}}
	case 16:
		return &wirepb.Request{Op: &wirepb.Request_RegisterPush{RegisterPush: &wirepb.RegisterPushRequest{Platform: s, Token: user}}}
	case 17:
		return &wirepb.Request{Op: &wirepb.Request_DeskHandover{DeskHandover: &wirepb.DeskHandoverRequest{Conv: conv}}}
	case 18:
		return &wirepb.Request{Op: &wirepb.Request_DeskEnter{DeskEnter: &wirepb.DeskEnterRequest{Scene: map[bool]string{true: "listing"}[flag] + s, Data: s}}}
	case 19:
		return &wirepb.Request{Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{Status: s, User: map[bool]string{true: user}[flag], EndWrapUp: len(s)%2 == 1}}}
	case 20:
		return &wirepb.Request{Op: &wirepb.Request_DeskQueue{DeskQueue: &wirepb.DeskQueueRequest{Skill: s}}}
	case 21:
		return &wirepb.Request{Op: &wirepb.Request_DeskTransfer{DeskTransfer: &wirepb.DeskTransferRequest{Conv: conv, To: s, Note: user}}}
	case 22:
		return &wirepb.Request{Op: &wirepb.Request_Block{Block: &wirepb.BlockRequest{User: user, Block: flag}}}
	case 23:
		return &wirepb.Request{Op: &wirepb.Request_Report{Report: &wirepb.ReportRequest{Conv: conv, Seq: a, Reason: s}}}
	case 24:
		return &wirepb.Request{Op: &wirepb.Request_Blocked{Blocked: &wirepb.BlockedRequest{AfterConv: map[bool]string{true: conv}[flag], Limit: n}}}
	case 26:
		return &wirepb.Request{Op: &wirepb.Request_ReadBy{ReadBy: &wirepb.ReadByRequest{Conv: conv, Seq: a, After: map[bool]string{true: user}[flag], Limit: n}}}
	case 25:
		return &wirepb.Request{Op: &wirepb.Request_DeskRate{DeskRate: &wirepb.DeskRateRequest{Conv: conv, Score: uint32(a), Comment: s}}}
	case 27:
		return &wirepb.Request{Op: &wirepb.Request_DeskReplies{DeskReplies: &wirepb.DeskRepliesRequest{Line: s}}}
	case 29:
		return &wirepb.Request{Op: &wirepb.Request_MediaCreate{MediaCreate: &wirepb.MediaCreateRequest{Conv: conv, Name: s + ".jpg",
			Mime: map[bool]string{true: "image/jpeg"}[flag] + s, Size: int64(a % (1 << 20))}}}
	case 30:
		return &wirepb.Request{Op: &wirepb.Request_MediaChunk{MediaChunk: &wirepb.MediaChunkRequest{Conv: conv,
			Id: fmt.Sprintf("%016x%016x", a, b), Index: n, Data: []byte(s)}}}
	case 31:
		return &wirepb.Request{Op: &wirepb.Request_MediaComplete{MediaComplete: &wirepb.MediaCompleteRequest{Conv: conv, Id: fmt.Sprintf("%016x%016x", a, b)}}}
	case 32:
		return &wirepb.Request{Op: &wirepb.Request_MediaRead{MediaRead: &wirepb.MediaReadRequest{Conv: conv, Seq: map[bool]uint64{false: a}[flag], Index: n, Picture: flag}}}
	case 33:
		return &wirepb.Request{Op: &wirepb.Request_DeskNote{DeskNote: &wirepb.DeskNoteRequest{Conv: conv, Text: s}}}
	case 34:
		return &wirepb.Request{Op: &wirepb.Request_DeskSession{DeskSession: &wirepb.DeskSessionRequest{Conv: conv}}}
	case 35:
		return &wirepb.Request{Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Conv: conv, Query: map[bool]string{true: s}[b%3 != 0], BeforeSeq: a, Limit: n,
			Sender: map[bool]string{true: user}[flag], Files: b%2 == 0, ReplyTo: a % 4, Mentions: b%5 == 0}}}
	case 38:
		s := wirepb.PresenceSharing(a % 4)
		return &wirepb.Request{Op: &wirepb.Request_Privacy{Privacy: &wirepb.PrivacyRequest{Presence: map[bool]*wirepb.PresenceSharing{true: &s}[flag],
			HideReadReceipts: map[bool]*bool{true: &flag}[a%2 == 0], HidePreviews: map[bool]*bool{true: &flag}[b%2 == 0]}}}
	case 37:
		return &wirepb.Request{Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: conv,
			PrejoinHistory: map[bool]*uint32{true: &n}[b%3 == 0], AdminsOnly: map[bool]*bool{true: &flag}[a%2 == 0],
			PinSeq: map[bool]uint64{true: a}[b%5 == 1], UnpinSeq: map[bool]uint64{true: a}[b%5 == 2],
			SlowModeMs: map[bool]*uint32{true: &n}[b%7 == 3], Title: map[bool]*string{true: &s}[b%11 == 4], Description: map[bool]*string{true: &s}[b%13 == 5],
			Picture: map[bool]*string{true: &s}[b%17 == 6]}}}
	case 39:
		return &wirepb.Request{Op: &wirepb.Request_MarkUnread{MarkUnread: &wirepb.MarkUnreadRequest{Conv: conv, Marked: flag}}}
	case 41:
		return &wirepb.Request{Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Query: s, FromConv: map[bool]string{true: conv}[flag], BeforeSeq: a, Limit: n}}}
	case 40:
		return &wirepb.Request{Op: &wirepb.Request_DeskTag{DeskTag: &wirepb.DeskTagRequest{Conv: conv,
			Add: map[bool][]string{true: {s}}[flag], Remove: map[bool][]string{true: {s}}[a%2 == 0]}}}
	case 36:
		return &wirepb.Request{Op: &wirepb.Request_Archive{Archive: &wirepb.ArchiveRequest{Conv: conv, Archived: flag, UntilMs: map[bool]int64{true: int64(a % (1 << 42))}[b%2 == 0]}}}
	case 42:
		return &wirepb.Request{Op: &wirepb.Request_GroupInvite{GroupInvite: &wirepb.GroupInviteRequest{Conv: conv, Create: flag,
			TtlMs: int64(a), MaxUses: n, Revoke: map[bool]string{false: s}[flag], Approval: b%2 == 0}}}
	case 45:
		return &wirepb.Request{Op: &wirepb.Request_MarkAllRead{MarkAllRead: &wirepb.MarkAllReadRequest{}}}
	case 69:
		// A call's step of any kind (an unknown one too), with any id,
		// payload (too large) and reason, video or not, into any
		// conversation.
		payload := []byte(strings.Repeat(s, int(a%3000)))
		return &wirepb.Request{Op: &wirepb.Request_Call{Call: &wirepb.CallRequest{Conv: conv, Op: wirepb.CallRequest_Op(b % 8),
			CallId: map[bool]string{true: "c" + fmt.Sprint(a%3)}[flag] + s, Video: a%2 == 0, Payload: map[bool][]byte{true: payload}[b%3 != 0],
			Reason: map[bool]string{true: s}[b%5 == 0]}}}
	case 68:
		// A message with meta of any key and value (empty, too long, not
		// UTF-8), on a new message or a revision of any seq.
		meta := map[string]string{s: string(rune(a % 0x11_0000)), fmt.Sprint(b % 7): strings.Repeat(s, int(a%64))}
		send := &wirepb.SendRequest{Conv: conv, ClientMsgId: s + "d", Body: []byte("x" + s), Meta: meta, RefSeq: map[bool]uint64{true: b % 8}[flag]}
		return &wirepb.Request{Op: &wirepb.Request_Send{Send: send}}
	case 67:
		// A freeze with any reason (too long, not UTF-8) and any end (gone,
		// too far, negative), an unfreeze with one, a read.
		frozen := map[bool]*bool{true: proto.Bool(a%2 == 0)}[flag]
		return &wirepb.Request{Op: &wirepb.Request_Freeze{Freeze: &wirepb.FreezeRequest{Conv: conv, Frozen: frozen, Reason: map[bool]string{true: s}[b%3 != 0],
			UntilMs: map[bool]int64{true: int64(b>>8) - 1<<40}[a%5 == 0]}}}
	case 66:
		// A place anywhere, in or out of range (NaN too), to a user about
		// any topic, or into the conversation, with or without a caption,
		// fixed or live (any end); or a move of any seq.
		loc := &wirepb.Location{Lat: math.Float64frombits(a), Lng: float64(int64(b)%400) - 200, Name: s, LiveUntilMs: int64(b>>20) - 1<<40}
		send := &wirepb.SendRequest{ClientMsgId: s + "l", Body: map[bool][]byte{true: []byte(s)}[flag], Location: loc}
		switch {
		case a%3 == 0:
			send.Conv, send.RefSeq = conv, b%8
		case a%2 == 0:
			send.To, send.Topic = user, s
		default:
			send.Conv = conv
		}
		return &wirepb.Request{Op: &wirepb.Request_Send{Send: send}}
	case 65:
		// Any time, from the epoch's first millisecond to far past the last message.
		return &wirepb.Request{Op: &wirepb.Request_SeqAt{SeqAt: &wirepb.SeqAtRequest{Conv: conv, AtMs: int64(a % (1 << 62))}}}
	case 64:
		// Any timer, in or out of bounds, negative, off, or a read.
		after := map[bool]*int64{true: proto.Int64(int64(a) - int64(b))}[flag]
		return &wirepb.Request{Op: &wirepb.Request_Disappearing{Disappearing: &wirepb.DisappearingRequest{Conv: conv, AfterMs: after}}}
	case 63:
		// Refused before any fetch: malformed, or a loopback address.
		return &wirepb.Request{Op: &wirepb.Request_LinkPreview{LinkPreview: &wirepb.LinkPreviewRequest{Url: map[bool]string{true: "http://127.0.0.1:1/" + s, false: s}[flag]}}}
	case 62:
		return &wirepb.Request{Op: &wirepb.Request_QuietHours{QuietHours: &wirepb.QuietHoursRequest{Off: flag && a%2 == 0,
			Set: map[bool]*wirepb.QuietHours{true: {Zone: s, Week: map[string]string{conv: user, "mon": s}}}[a%3 != 0]}}}
	case 61:
		return &wirepb.Request{Op: &wirepb.Request_Presences{Presences: &wirepb.PresencesRequest{Conv: map[bool]string{true: conv}[flag], Users: []string{user, s, user}}}}
	case 60:
		return &wirepb.Request{Op: &wirepb.Request_Label{Label: &wirepb.LabelRequest{Conv: conv, Add: []string{s}, Remove: map[bool][]string{true: {s, user}}[flag]}}}
	case 59:
		return &wirepb.Request{Op: &wirepb.Request_Hide{Hide: &wirepb.HideRequest{Conv: conv, Seqs: []uint64{a % 16, uint64(b % 16)}, Unhide: flag}}}
	case 58:
		text := s
		return &wirepb.Request{Op: &wirepb.Request_Away{Away: &wirepb.AwayRequest{Text: map[bool]*string{true: &text}[flag], UntilMs: int64(a) - 100}}}
	case 57:
		return &wirepb.Request{Op: &wirepb.Request_Drafts{Drafts: &wirepb.DraftsRequest{}}}
	case 56:
		return &wirepb.Request{Op: &wirepb.Request_Draft{Draft: &wirepb.DraftRequest{Conv: conv, Text: s}}}
	case 55:
		return &wirepb.Request{Op: &wirepb.Request_Profiles{Profiles: &wirepb.ProfilesRequest{Conv: map[bool]string{true: conv}[flag], Users: []string{user, s}}}}
	case 54:
		name := s
		return &wirepb.Request{Op: &wirepb.Request_Profile{Profile: &wirepb.ProfileRequest{Name: &name, AvatarUrl: map[bool]*string{true: &name}[flag]}}}
	case 53:
		return &wirepb.Request{Op: &wirepb.Request_Unschedule{Unschedule: &wirepb.UnscheduleRequest{Id: s}}}
	case 52:
		return &wirepb.Request{Op: &wirepb.Request_Scheduled{Scheduled: &wirepb.ScheduledRequest{}}}
	case 51:
		return &wirepb.Request{Op: &wirepb.Request_Schedule{Schedule: &wirepb.ScheduleRequest{AtMs: int64(a), Send: &wirepb.SendRequest{
			Conv: conv, To: map[bool]string{true: user}[flag], ClientMsgId: s + "s", Body: []byte(s), Kind: wirepb.MessageKind(b % 8)}}}}
	case 50:
		return &wirepb.Request{Op: &wirepb.Request_Starred{Starred: &wirepb.StarredRequest{BeforeMs: int64(a), Limit: n}}}
	case 49:
		return &wirepb.Request{Op: &wirepb.Request_Star{Star: &wirepb.StarRequest{Conv: conv, Seq: a % 16, Starred: flag}}}
	case 48:
		return &wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: conv, To: map[bool]string{true: user}[flag], ClientMsgId: s + "f",
			ForwardConv: conv, ForwardSeq: a % 16, Body: map[bool][]byte{true: []byte(s)}[b%3 == 0]}}}
	case 47:
		return &wirepb.Request{Op: &wirepb.Request_ClearHistory{ClearHistory: &wirepb.ClearHistoryRequest{Conv: conv, Seq: a % 16}}}
	case 46:
		return &wirepb.Request{Op: &wirepb.Request_PollResults{PollResults: &wirepb.PollResultsRequest{Conv: conv, Seq: a, VotersLimit: n}}}
	case 44:
		return &wirepb.Request{Op: &wirepb.Request_DeskReach{DeskReach: &wirepb.DeskReachRequest{Customer: user, Scene: s, Data: map[bool]string{true: s}[flag]}}}
	case 43:
		code := s
		if flag {
			code = actors.InviteCode(conv, s)
		}
		return &wirepb.Request{Op: &wirepb.Request_JoinGroup{JoinGroup: &wirepb.JoinGroupRequest{Code: code}}}
	default:
		if flag {
			return &wirepb.Request{Op: &wirepb.Request_MyMetrics{MyMetrics: &wirepb.MyMetricsRequest{Window: s, Limit: n}}}
		}
		return &wirepb.Request{Op: &wirepb.Request_DeskClose{DeskClose: &wirepb.DeskCloseRequest{Conv: conv, Reason: s}}}
	}
}

// convScoped reports whether req acts on or reads its conversation (as
// opposed to a signal, which is dropped silently, or a request that names
// no conversation).
func convScoped(req *wirepb.Request) bool {
	switch req.Op.(type) {
	case *wirepb.Request_Send, *wirepb.Request_History, *wirepb.Request_MarkRead, *wirepb.Request_Recall,
		*wirepb.Request_Membership, *wirepb.Request_Members, *wirepb.Request_Pin, *wirepb.Request_Mute,
		*wirepb.Request_CardClick, *wirepb.Request_DeskHandover, *wirepb.Request_DeskTransfer, *wirepb.Request_DeskClose, *wirepb.Request_DeskRate, *wirepb.Request_ReadBy,
		*wirepb.Request_MediaCreate, *wirepb.Request_MediaChunk, *wirepb.Request_MediaComplete, *wirepb.Request_MediaRead,
		*wirepb.Request_Search, *wirepb.Request_DeskNote, *wirepb.Request_DeskSession, *wirepb.Request_Archive,
		*wirepb.Request_GroupSettings, *wirepb.Request_MarkUnread, *wirepb.Request_DeskTag:
		return (req.GetSend() == nil || req.GetSend().To == "") && (req.GetSearch() == nil || req.GetSearch().Conv != "")
	}
	return false
}
