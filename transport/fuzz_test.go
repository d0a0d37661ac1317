package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The fuzz targets cover every decoder of untrusted client bytes: the
// framing, the requests (all operations), the hello (and its token) and
// the signals (in band, and the datagrams of switchboard/2). `go test`
// runs their seeds (testdata/fuzz and the f.Add calls); `go test -fuzz`
// explores.

func seedRequests() []*wirepb.Request {
	return []*wirepb.Request{
		{Id: 1, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:x", ClientMsgId: "c1", Body: []byte("hi")}}},
		{Id: 2, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", Body: []byte("hi"), ClientTsMs: 1}}},
		{Id: 3, Op: &wirepb.Request_Sync{Sync: &wirepb.SyncRequest{Cursor: 5, Limit: 10}}},
		{Id: 4, Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: []uint64{1, 2, 3}, SyncCursor: 3}}},
		{Id: 5, Op: &wirepb.Request_History{History: &wirepb.HistoryRequest{Conv: "d:a:b", FromSeq: 1, ToSeq: 9, OldestFirst: true, Limit: 50}}},
		{Id: 6, Op: &wirepb.Request_MarkRead{MarkRead: &wirepb.MarkReadRequest{Conv: "d:a:b", Seq: 3}}},
		{Id: 7, Op: &wirepb.Request_Recall{Recall: &wirepb.RecallRequest{Conv: "d:a:b", Seq: 3}}},
		{Id: 8, Op: &wirepb.Request_ListConversations{ListConversations: &wirepb.ListConversationsRequest{AfterConv: "g:x", Limit: 5}}},
		{Id: 9, Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Conv: "g:team", Title: "t", Members: []string{"a", "b"}}}},
		{Id: 10, Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: "g:team", Op: wirepb.MembershipRequest_SET_ROLE, Users: []string{"a"}, Role: wirepb.Role_ADMIN}}},
		{Id: 11, Op: &wirepb.Request_Members{Members: &wirepb.MembersRequest{Conv: "g:team", After: "a", Limit: 10}}},
		{Id: 12, Op: &wirepb.Request_Presence{Presence: &wirepb.PresenceRequest{User: "bob"}}},
		{Id: 13, Op: &wirepb.Request_Pin{Pin: &wirepb.PinRequest{Conv: "g:team", Pinned: true}}},
		{Id: 16, Op: &wirepb.Request_Mute{Mute: &wirepb.MuteRequest{Conv: "g:team", Muted: true}}},
		{Id: 17, Op: &wirepb.Request_RegisterPush{RegisterPush: &wirepb.RegisterPushRequest{Platform: "apns", Token: "0a1b"}}},
		{Id: 18, Op: &wirepb.Request_UnregisterPush{UnregisterPush: &wirepb.UnregisterPushRequest{}}},
		{Id: 20, Op: &wirepb.Request_DeskEnter{DeskEnter: &wirepb.DeskEnterRequest{Scene: "listing", Data: "1"}}},
		{Id: 50, Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{Status: "online", EndWrapUp: true}}},
		{Id: 51, Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{User: "a1", Status: "offline", EndWrapUp: true}}},
		{Id: 21, Op: &wirepb.Request_DeskQueue{DeskQueue: &wirepb.DeskQueueRequest{Skill: "sales"}}},
		{Id: 49, Op: &wirepb.Request_DeskReach{DeskReach: &wirepb.DeskReachRequest{Customer: "c1", Scene: "listing", Data: "1"}}},
		{Id: 22, Op: &wirepb.Request_DeskTransfer{DeskTransfer: &wirepb.DeskTransferRequest{Conv: "s:cars:c1:1", To: "queue:sales", Note: "n"}}},
		{Id: 23, Op: &wirepb.Request_DeskClose{DeskClose: &wirepb.DeskCloseRequest{Conv: "s:cars:c1:1"}}},
		{Id: 30, Op: &wirepb.Request_ReadBy{ReadBy: &wirepb.ReadByRequest{Conv: "g:team", Seq: 3, After: "ann", Limit: 50}}},
		{Id: 31, Op: &wirepb.Request_DeskReplies{DeskReplies: &wirepb.DeskRepliesRequest{Line: "cars"}}},
		{Id: 29, Op: &wirepb.Request_DeskRate{DeskRate: &wirepb.DeskRateRequest{Conv: "s:cars:c1:1", Score: 5, Comment: "kind"}}},
		{Id: 24, Op: &wirepb.Request_MyMetrics{MyMetrics: &wirepb.MyMetricsRequest{Window: "30s/15s", Limit: 3}}},
		{Id: 25, Op: &wirepb.Request_Block{Block: &wirepb.BlockRequest{User: "bob", Block: true}}},
		{Id: 28, Op: &wirepb.Request_Blocked{Blocked: &wirepb.BlockedRequest{AfterConv: "d:a:b", Limit: 10}}},
		{Id: 27, Op: &wirepb.Request_Report{Report: &wirepb.ReportRequest{Conv: "d:a:b", Seq: 2, Reason: "spam"}}},
		{Id: 26, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "d:a:b", ClientMsgId: "e1", Body: []byte("fixed"), RefSeq: 3}}},
		{Id: 32, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:x", ClientMsgId: "m1", Body: []byte("@bob"), Mentions: []string{"bob", "carol"}}}},
		{Id: 33, Op: &wirepb.Request_MediaCreate{MediaCreate: &wirepb.MediaCreateRequest{Conv: "d:a:b", Name: "photo.jpg", Mime: "image/jpeg", Size: 300000}}},
		{Id: 34, Op: &wirepb.Request_MediaChunk{MediaChunk: &wirepb.MediaChunkRequest{Conv: "d:a:b", Id: "0123456789abcdef0123456789abcdef", Index: 2, Data: []byte("jpeg")}}},
		{Id: 35, Op: &wirepb.Request_MediaComplete{MediaComplete: &wirepb.MediaCompleteRequest{Conv: "d:a:b", Id: "0123456789abcdef0123456789abcdef"}}},
		{Id: 36, Op: &wirepb.Request_MediaRead{MediaRead: &wirepb.MediaReadRequest{Conv: "d:a:b", Seq: 4, Index: 1}}},
		{Id: 37, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "d:a:b", ClientMsgId: "f1", MediaId: "0123456789abcdef0123456789abcdef"}}},
		{Id: 38, Op: &wirepb.Request_DeskNote{DeskNote: &wirepb.DeskNoteRequest{Conv: "s:cars:c1:1", Text: "refund approved"}}},
		{Id: 39, Op: &wirepb.Request_DeskSession{DeskSession: &wirepb.DeskSessionRequest{Conv: "s:cars:c1:1"}}},
		{Id: 41, Op: &wirepb.Request_Archive{Archive: &wirepb.ArchiveRequest{Conv: "d:a:b", Archived: true}}},
		{Id: 42, Op: &wirepb.Request_ListConversations{ListConversations: &wirepb.ListConversationsRequest{Limit: 20, Archived: true}}},
		{Id: 43, Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: "g:team", AdminsOnly: proto.Bool(true)}}},
		{Id: 44, Op: &wirepb.Request_Privacy{Privacy: &wirepb.PrivacyRequest{Presence: wirepb.PresenceSharing_PRESENCE_ONLINE_ONLY.Enum()}}},
		{Id: 59, Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: "g:team", Picture: proto.String("0123456789abcdef0123456789abcdef")}}},
		{Id: 60, Op: &wirepb.Request_MediaRead{MediaRead: &wirepb.MediaReadRequest{Conv: "g:team", Picture: true, Index: 1}}},
		{Id: 61, Op: &wirepb.Request_ClearHistory{ClearHistory: &wirepb.ClearHistoryRequest{Conv: "d:a:b", Seq: 7}}},
		{Id: 68, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:team", ClientMsgId: "a1", Body: []byte("@all hi"), MentionAll: true}}},
		{Id: 65, Op: &wirepb.Request_Schedule{Schedule: &wirepb.ScheduleRequest{AtMs: 1764396000000, Send: &wirepb.SendRequest{Conv: "g:team", ClientMsgId: "s1", Body: []byte("at 7")}}}},
		{Id: 66, Op: &wirepb.Request_Scheduled{Scheduled: &wirepb.ScheduledRequest{}}},
		{Id: 67, Op: &wirepb.Request_Unschedule{Unschedule: &wirepb.UnscheduleRequest{Id: "0123456789abcdef0123456789abcdef"}}},
		{Id: 69, Op: &wirepb.Request_Profile{Profile: &wirepb.ProfileRequest{Name: proto.String("Ann K."), AvatarUrl: proto.String("https://img.example/ann.png")}}},
		{Id: 70, Op: &wirepb.Request_Profiles{Profiles: &wirepb.ProfilesRequest{Conv: "g:team", Users: []string{"ann", "bob"}}}},
		{Id: 71, Op: &wirepb.Request_Draft{Draft: &wirepb.DraftRequest{Conv: "s:cars:c1:1", Text: "Your refund was"}}},
		{Id: 72, Op: &wirepb.Request_Drafts{Drafts: &wirepb.DraftsRequest{}}},
		{Id: 73, Op: &wirepb.Request_GroupInvite{GroupInvite: &wirepb.GroupInviteRequest{Conv: "g:class", Create: true, Approval: true}}},
		{Id: 87, Op: &wirepb.Request_LinkPreview{LinkPreview: &wirepb.LinkPreviewRequest{Url: "https://market.example/listing/123"}}},
		{Id: 96, Op: &wirepb.Request_Call{Call: &wirepb.CallRequest{Conv: "d:buyer:seller", Op: wirepb.CallRequest_START, CallId: "c-1", Video: true, Payload: []byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n")}}},
		{Id: 95, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "d:buyer:seller", ClientMsgId: "m1", Body: []byte("track it"), Meta: map[string]string{"tracking": "JD014600", "carrier": "dhl"}}}},
		{Id: 94, Op: &wirepb.Request_Freeze{Freeze: &wirepb.FreezeRequest{Conv: "g:class", Frozen: proto.Bool(true), Reason: "the term is over"}}},
		{Id: 93, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "seller", Topic: "listing-7", ClientMsgId: "t1", Location: &wirepb.Location{Lat: 52.52, Lng: 13.4, Name: "gate B"}}}},
		{Id: 92, Op: &wirepb.Request_ListConversations{ListConversations: &wirepb.ListConversationsRequest{Topic: "listing-7", Limit: 5}}},
		{Id: 91, Op: &wirepb.Request_SeqAt{SeqAt: &wirepb.SeqAtRequest{Conv: "d:buyer:seller", AtMs: 1796600000000}}},
		{Id: 90, Op: &wirepb.Request_MediaCreate{MediaCreate: &wirepb.MediaCreateRequest{Conv: "d:a:b", Name: "note.ogg", Mime: "audio/ogg", Size: 9000, DurationMs: 42_000}}},
		{Id: 89, Op: &wirepb.Request_Disappearing{Disappearing: &wirepb.DisappearingRequest{Conv: "d:buyer:seller", AfterMs: proto.Int64(86_400_000)}}},
		{Id: 88, Op: &wirepb.Request_Privacy{Privacy: &wirepb.PrivacyRequest{GroupAddFrom: wirepb.GroupAddFrom_GROUP_ADD_FROM_NOBODY.Enum()}}},
		{Id: 86, Op: &wirepb.Request_Privacy{Privacy: &wirepb.PrivacyRequest{DirectFrom: wirepb.DirectFrom_DIRECT_FROM_GROUPS.Enum()}}},
		{Id: 85, Op: &wirepb.Request_Star{Star: &wirepb.StarRequest{Conv: "d:buyer:seller", Seq: 2, Starred: true, RemindAtMs: 1796600000000}}},
		{Id: 84, Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: "g:class", Op: wirepb.MembershipRequest_MUTE, Users: []string{"kid"}, ForMs: 86_400_000}}},
		{Id: 83, Op: &wirepb.Request_Privacy{Privacy: &wirepb.PrivacyRequest{HidePreviews: proto.Bool(true)}}},
		{Id: 82, Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Mentions: true, Limit: 20}}},
		{Id: 81, Op: &wirepb.Request_QuietHours{QuietHours: &wirepb.QuietHoursRequest{Set: &wirepb.QuietHours{Zone: "Europe/Berlin", Week: map[string]string{"mon": "00:00-07:00,22:00-24:00"}}}}},
		{Id: 80, Op: &wirepb.Request_Presences{Presences: &wirepb.PresencesRequest{Users: []string{"seller1", "seller2", "buyer"}}}},
		{Id: 79, Op: &wirepb.Request_Archive{Archive: &wirepb.ArchiveRequest{Conv: "d:buyer:seller", Archived: true, UntilMs: 1_900_000_000_000}}},
		{Id: 78, Op: &wirepb.Request_Label{Label: &wirepb.LabelRequest{Conv: "d:buyer:seller", Add: []string{"paid", "to ship"}, Remove: []string{"new customer"}}}},
		{Id: 77, Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Conv: "g:class", ReplyTo: 12, Sender: "teacher", Files: true}}},
		{Id: 76, Op: &wirepb.Request_Hide{Hide: &wirepb.HideRequest{Conv: "d:a:b", Seqs: []uint64{3, 7}}}},
		{Id: 75, Op: &wirepb.Request_Away{Away: &wirepb.AwayRequest{Text: proto.String("On holiday until Monday: I answer then."), UntilMs: 1_900_000_000_000}}},
		{Id: 74, Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: "g:class", Op: wirepb.MembershipRequest_APPROVE, Users: []string{"pupil7"}}}},
		{Id: 63, Op: &wirepb.Request_Star{Star: &wirepb.StarRequest{Conv: "g:team", Seq: 3, Starred: true}}},
		{Id: 64, Op: &wirepb.Request_Starred{Starred: &wirepb.StarredRequest{BeforeMs: 1764396000000, Limit: 2}}},
		{Id: 62, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: "f1", ForwardConv: "g:team", ForwardSeq: 12}}},
		{Id: 58, Op: &wirepb.Request_Privacy{Privacy: &wirepb.PrivacyRequest{HideReadReceipts: proto.Bool(true)}}},
		{Id: 46, Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: "g:team", PinSeq: 12}}},
		{Id: 52, Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: "g:team", SlowModeMs: proto.Uint32(30_000)}}},
		{Id: 54, Op: &wirepb.Request_MarkAllRead{MarkAllRead: &wirepb.MarkAllReadRequest{}}},
		{Id: 53, Op: &wirepb.Request_GroupSettings{GroupSettings: &wirepb.GroupSettingsRequest{Conv: "g:team", Title: proto.String("Team"), Description: proto.String("what we do")}}},
		{Id: 55, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:team", ClientMsgId: "p1", Kind: wirepb.MessageKind_POLL, Body: []byte(`{"question":"Friday?","options":["yes","no"],"multiple":true}`)}}},
		{Id: 56, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:team", ClientMsgId: "v1", Kind: wirepb.MessageKind_VOTE, RefSeq: 4, Body: []byte("[0,1]")}}},
		{Id: 57, Op: &wirepb.Request_PollResults{PollResults: &wirepb.PollResultsRequest{Conv: "g:team", Seq: 4, VotersLimit: 20}}},
		{Id: 45, Op: &wirepb.Request_MarkUnread{MarkUnread: &wirepb.MarkUnreadRequest{Conv: "d:a:b", Marked: true}}},
		{Id: 47, Op: &wirepb.Request_DeskTag{DeskTag: &wirepb.DeskTagRequest{Conv: "s:cars:c1:1", Add: []string{"refund", "shipping"}, Remove: []string{"other"}}}},
		{Id: 40, Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Conv: "d:a:b", Query: "order 12", BeforeSeq: 40, Limit: 20}}},
		{Id: 48, Op: &wirepb.Request_Search{Search: &wirepb.SearchRequest{Query: "bike", FromConv: "g:team", BeforeSeq: 7, Limit: 20}}},
		// switchboard/3: typing in band.
		{Id: 19, Op: &wirepb.Request_Signal{Signal: &wirepb.Signal{Kind: wirepb.Signal_TYPING, Conv: "d:a:b"}}},
		{Id: 14, Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}},
		{Id: 15},
	}
}

func marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m) // a map's keys in order: the same seed every run
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzFrame(f *testing.F) {
	for _, r := range seedRequests() {
		f.Add(wirepb.AppendFrame(nil, marshal(r)))
	}
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x10})
	f.Add([]byte{0x85, 0x00})
	f.Add(append([]byte{0x05}, "abc"...))
	const max = 1 << 10
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			p, err := wirepb.ReadFrame(r, max)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, wirepb.ErrBadFrame) && !errors.Is(err, wirepb.ErrFrameTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(p) > max {
				t.Fatalf("frame of %d bytes over the %d limit", len(p), max)
			}
			// A frame read back re-encodes to the same bytes.
			if again, err := wirepb.ReadFrame(bytes.NewReader(wirepb.AppendFrame(nil, p)), max); err != nil || !bytes.Equal(again, p) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

func FuzzRequest(f *testing.F) {
	for _, r := range seedRequests() {
		f.Add(marshal(r))
	}
	f.Add([]byte{0x08, 0x07, 0x9a, 0x06, 0x00})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeRequest(b, DefaultRequestLimits())
		if err != nil {
			switch wirepb.CodeOf(err) {
			case wirepb.Code_BAD_FRAME, wirepb.Code_UNKNOWN_TYPE, wirepb.Code_INVALID:
			default:
				t.Fatalf("decode error with code %v: %v", wirepb.CodeOf(err), err)
			}
			return
		}
		if opName(req) == "unknown" {
			t.Fatalf("accepted a request with no operation: %v", req)
		}
		if _, err := proto.Marshal(req); err != nil {
			t.Fatalf("accepted request does not re-encode: %v", err)
		}
	})
}

// FuzzServerFrame: a response or push the server encodes without the
// ServerFrame wrapper (AppendServerFrame) decodes, through the SDK's one
// decoder of server bytes, as the ServerFrame holding it; and that decoder
// takes any bytes without panicking.
func FuzzServerFrame(f *testing.F) {
	f.Add(marshal(&wirepb.Response{Id: 3, Result: &wirepb.Response_Ping{Ping: &wirepb.PingResult{ServerTimeMs: 9}}}))
	f.Add(marshal(&wirepb.Response{Id: 4, Error: wirepb.Errorf(wirepb.Code_BUSY, "x")}))
	f.Add(marshal(&wirepb.Push{InboxSeq: 7, Event: &wirepb.Push_Message{Message: &wirepb.Message{Conv: "d:a:b", Seq: 2, Body: []byte("hi")}}}))
	f.Add([]byte{0x2a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var any wirepb.ServerFrame
		_ = wirepb.Unmarshal(b, &any)
		for _, m := range []proto.Message{&wirepb.Response{}, &wirepb.Push{}} {
			if proto.Unmarshal(b, m) != nil {
				continue
			}
			fr, err := wirepb.AppendServerFrame(nil, m, 0)
			if err != nil {
				t.Fatalf("encode %T: %v", m, err)
			}
			p, err := wirepb.ReadFrame(bytes.NewReader(fr), len(fr))
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			var sf wirepb.ServerFrame
			if err := wirepb.Unmarshal(p, &sf); err != nil {
				t.Fatalf("decode back: %v", err)
			}
			var got proto.Message = sf.GetResponse()
			if _, ok := m.(*wirepb.Push); ok {
				got = sf.GetPush()
			}
			if !proto.Equal(got, m) {
				t.Fatalf("round trip of %T: %v, want %v", m, got, m)
			}
		}
	})
}

func FuzzHello(f *testing.F) {
	secret := []byte("0123456789abcdef0123456789abcdef-fuzz")
	auth, err := NewAuthenticator(AuthConfig{Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := MintHS256(secret, "alice", "phone", time.Hour, "")
	f.Add(marshal(&wirepb.Hello{Token: good, Client: "fuzz"}))
	f.Add(marshal(&wirepb.Hello{Token: "eyJhbGciOiJub25lIn0.e30."}))
	f.Add(marshal(&wirepb.Hello{}))
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHello(b)
		if err != nil {
			if c := wirepb.CodeOf(err); c != wirepb.Code_BAD_FRAME && c != wirepb.Code_UNAUTHENTICATED {
				t.Fatalf("hello error code %v", c)
			}
			return
		}
		id, err := auth.Verify(h.Token, h.Device)
		if err != nil {
			if c := wirepb.CodeOf(err); c != wirepb.Code_UNAUTHENTICATED && c != wirepb.Code_TOKEN_EXPIRED {
				t.Fatalf("verify error code %v", c)
			}
			return
		}
		if id.User == "" || id.Device == "" {
			t.Fatalf("verified a token naming nobody: %+v", id)
		}
	})
}

func FuzzSignal(f *testing.F) {
	f.Add(marshal(&wirepb.Signal{Kind: wirepb.Signal_TYPING, Conv: "d:a:b"}))
	f.Add(marshal(&wirepb.Signal{Kind: wirepb.Signal_DELIVERED, Conv: "d:a:b", Seq: 4}))
	f.Add(marshal(&wirepb.Signal{Kind: 77, Conv: "x"}))
	f.Add([]byte{0x12, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSignal(b)
		if err != nil {
			return
		}
		if s.Kind != wirepb.Signal_TYPING && s.Kind != wirepb.Signal_STOP_TYPING {
			t.Fatalf("accepted signal kind %v from a client", s.Kind)
		}
	})
}

// TestFuzzSeeds checks that the committed seed corpus is what the seed
// requests encode to today (a protocol change must refresh it), and
// rewrites it with SWITCHBOARD_WRITE_FUZZ_SEEDS=1.
func TestFuzzSeeds(t *testing.T) {
	rewrite := os.Getenv("SWITCHBOARD_WRITE_FUZZ_SEEDS") != ""
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		path := filepath.Join(dir, name)
		if !rewrite {
			got, err := os.ReadFile(path)
			if err != nil || string(got) != data {
				t.Errorf("seed %s is stale or missing (%v): rerun with SWITCHBOARD_WRITE_FUZZ_SEEDS=1", path, err)
			}
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range seedRequests() {
		name := fmt.Sprintf("%02d-%s", r.Id, opName(r))
		write("FuzzRequest", name, marshal(r))
		write("FuzzFrame", name, wirepb.AppendFrame(nil, marshal(r)))
	}
	two := append(wirepb.AppendFrame(nil, marshal(seedRequests()[0])), wirepb.AppendFrame(nil, marshal(seedRequests()[1]))...)
	write("FuzzFrame", "two-frames", two)
	// A session stream as a client writes it: Hello, then pipelined requests.
	session := wirepb.AppendFrame(nil, marshal(&wirepb.Hello{Token: "t", Client: "switchboard-go/3"}))
	for _, r := range seedRequests()[:4] {
		session = wirepb.AppendFrame(session, marshal(r))
	}
	write("FuzzFrame", "session-stream", session)
	write("FuzzServerFrame", "response-sync", marshal(&wirepb.Response{Id: 3, Result: &wirepb.Response_Sync{Sync: &wirepb.SyncResult{Cursor: 4, More: true}}}))
	write("FuzzServerFrame", "push-receipt", marshal(&wirepb.Push{Event: &wirepb.Push_Receipt{Receipt: &wirepb.ReadReceipt{Conv: "d:a:b", Reader: "b", Seq: 3}}}))
	write("FuzzFrame", "overlong-prefix", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	write("FuzzFrame", "cut-short", []byte{0x0a, 1, 2})
	write("FuzzRequest", "unknown-field", []byte{0x08, 0x07, 0x9a, 0x06, 0x00})
	write("FuzzHello", "no-token", marshal(&wirepb.Hello{Client: "x"}))
	write("FuzzHello", "alg-none", marshal(&wirepb.Hello{Token: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZGV2IjoiYiJ9."}))
	write("FuzzSignal", "typing", marshal(&wirepb.Signal{Kind: wirepb.Signal_TYPING, Conv: "g:x"}))
	write("FuzzSignal", "delivered-from-client", marshal(&wirepb.Signal{Kind: wirepb.Signal_DELIVERED, Conv: "g:x", Seq: 1}))
}
