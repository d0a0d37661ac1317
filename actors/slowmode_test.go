package actors_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"google.golang.org/protobuf/proto"
)

// Slow mode: a plain member of a group posts a new message at most once
// per interval. A send sooner is SLOW_MODE with the wait; owners and
// admins post freely; reactions and edits do not count; a resend of an
// accepted message is answered with it, and a message refused for another
// reason keeps the member's turn. The setting is a system message, its
// limits are checked at their edges, and it outlives the grain.
func TestSlowMode(t *testing.T) {
	clock, setNow := testenv.SettableClock()
	start := time.Now()
	setNow(start)
	store := openStore(t)
	cfg := actors.Config{Now: clock, MaxSlowMode: 10 * time.Minute}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:lecture"
	mustCreateGroup(t, node, g, "teacher", "aide", "pupil", "pupil2")
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "aide"); err != nil {
		t.Fatal(err)
	}
	post := func(user, id, text string, refSeq uint64, kind pb.MessageKind) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, ClientMsgId: id, Body: []byte(text), RefSeq: refSeq, Kind: kind})
	}
	set := func(actor string, ms uint32) (*pb.GroupSettingsResponse, error) {
		return node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: actor, SlowModeMs: proto.Uint32(ms)})
	}
	wantSlow := func(err error, what string, minMs, maxMs uint32) {
		t.Helper()
		var ae *actors.Error
		if !errors.As(err, &ae) || ae.Code != pb.Code_SLOW_MODE || ae.RetryAfterMs < minMs || ae.RetryAfterMs > maxMs {
			t.Fatalf("%s: %v, want SLOW_MODE with a wait of %d–%d ms", what, err, minMs, maxMs)
		}
	}

	// The limits, at their edges, and who may set it.
	for _, ms := range []uint32{999, 600_001} {
		if _, err := set("teacher", ms); actors.CodeOf(err) != pb.Code_INVALID {
			t.Fatalf("slow mode %d ms: %v, want INVALID", ms, err)
		}
	}
	if _, err := set("pupil", 30_000); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a plain member sets slow mode: %v, want FORBIDDEN", err)
	}
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: actors.DirectConvID("a", "b"), Actor: "a", SlowModeMs: proto.Uint32(30_000)}); err == nil {
		t.Fatal("slow mode set in a direct conversation")
	}
	if r, err := set("aide", 600_000); err != nil || r.SlowModeMs != 600_000 {
		t.Fatalf("slow mode at the bound: %v, %v", r, err)
	}
	r, err := set("aide", 1000)
	if err != nil || r.SlowModeMs != 1000 || r.Seq == 0 {
		t.Fatalf("slow mode of 1 s: %v, %v; want it, with the seq of its system message", r, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "pupil", FromSeq: r.Seq, ToSeq: r.Seq})
	var body struct {
		Op         string `json:"op"`
		Actor      string `json:"actor"`
		SlowModeMs uint32 `json:"slow_mode_ms"`
	}
	if err != nil || len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_SYSTEM || json.Unmarshal(msgs[0].Body, &body) != nil ||
		body.Op != "settings" || body.Actor != "aide" || body.SlowModeMs != 1000 {
		t.Fatalf("the change's system message: %v, %v", msgs, err)
	}
	if r, err := set("teacher", 1000); err != nil || r.Seq != 0 {
		t.Fatalf("setting what is set: %v, %v; want no system message", r, err)
	}
	r, err = set("teacher", 30_000)
	if err != nil || r.Seq == 0 {
		t.Fatalf("slow mode of 30 s: %v, %v", r, err)
	}

	// A plain member: one new message, then a wait.
	first, err := post("pupil", "p-1", "a question", 0, pb.MessageKind_NORMAL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = post("pupil", "p-2", "another question", 0, pb.MessageKind_NORMAL)
	wantSlow(err, "a second message at once", 30_000, 30_000)
	if again, err := post("pupil", "p-1", "a question", 0, pb.MessageKind_NORMAL); err != nil || again.Seq != first.Seq {
		t.Fatalf("a resend of the accepted message: %v, %v; want seq %d", again, err, first.Seq)
	}
	if _, err := post("pupil", "", "👍", first.Seq, pb.MessageKind_REACTION); err != nil {
		t.Fatalf("a reaction in the wait: %v", err)
	}
	if _, err := post("pupil", "", "a better question", first.Seq, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("an edit of one's own message in the wait: %v", err)
	}
	for _, who := range []string{"teacher", "aide"} {
		for i := range 2 {
			if _, err := post(who, "", "answer", 0, pb.MessageKind_NORMAL); err != nil {
				t.Fatalf("%s posts message %d: %v", who, i+1, err)
			}
		}
	}
	// A message refused for something else does not take the turn.
	if _, err := post("pupil2", "", "a reply to nothing", 0, pb.MessageKind_CARD); err == nil {
		t.Fatal("a card without a card's body was accepted")
	}
	if _, err := post("pupil2", "q-1", "my question", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("pupil2's first message after a refused one: %v", err)
	}

	setNow(start.Add(20 * time.Second))
	_, err = post("pupil", "p-2", "another question", 0, pb.MessageKind_NORMAL)
	wantSlow(err, "20 s later", 10_000, 10_000)
	setNow(start.Add(30 * time.Second))
	if _, err := post("pupil", "p-2", "another question", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("30 s later: %v", err)
	}

	// The setting outlives the grain, and so does when each member last
	// posted: a new activation (here: after a restart) reads it from the
	// recent log it loads.
	node.Stop(true)
	setNow(time.Now()) // the log's times are the real clock's
	node = startCluster(t, 1, store, cfg)[0]
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "pupil"}); err != nil || r.SlowModeMs != 30_000 {
		t.Fatalf("read after a restart: %v, %v; want 30 s", r, err)
	}
	_, err = post("pupil", "p-3", "after a pause", 0, pb.MessageKind_NORMAL)
	wantSlow(err, "the first post of a new activation, within the interval of the last one", 15_000, 30_000)
	if _, err := post("aide", "", "admins still post", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("an admin after the new activation: %v", err)
	}
	setNow(time.Now().Add(31 * time.Second))
	if _, err := post("pupil", "p-3", "after a pause", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("the member's post once the interval passed: %v", err)
	}
	_, err = post("pupil", "p-4", "and again", 0, pb.MessageKind_NORMAL)
	wantSlow(err, "the next post", 30_000, 30_000)

	// Off: every member posts freely; on again, it counts from then.
	if r, err := set("teacher", 0); err != nil || r.SlowModeMs != 0 || r.Seq == 0 {
		t.Fatalf("slow mode off: %v, %v", r, err)
	}
	if _, err := post("pupil", "p-4", "and again", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("with slow mode off: %v", err)
	}
	if _, err := set("teacher", 30_000); err != nil {
		t.Fatal(err)
	}
	if _, err := post("pupil", "p-5", "first under the new rule", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("the first post once slow mode is on again: %v", err)
	}
}

// The node's bound on slow mode is checked when it starts.
func TestSlowModeConfig(t *testing.T) {
	store := openStore(t)
	for _, tc := range []struct {
		max time.Duration
		ok  bool
	}{
		{0, true}, // the default
		{actors.MinSlowMode, true},
		{actors.MinSlowMode - time.Millisecond, false},
		{-time.Second, false},
		{24 * time.Hour, true},
		{math.MaxUint32 * time.Millisecond, true}, // the most the wire's slow_mode_ms holds
		{math.MaxUint32*time.Millisecond + time.Millisecond, false},
	} {
		if _, err := actors.NewRuntime(actors.Config{MaxSlowMode: tc.max}, store); (err == nil) != tc.ok {
			t.Errorf("max slow mode %v: %v", tc.max, err)
		}
	}
}

// A member's message that the store then fails (a full disk) gives the
// member's turn back: its retries are refused for the disk, never for
// slow mode, and it goes once space is back.
func TestSlowModeTurnBackOnFailure(t *testing.T) {
	store, fs := storeOnSettableDisk(t, "", -1)
	clock, setNow := testenv.SettableClock()
	setNow(time.Now())
	node := startCluster(t, 1, store, actors.Config{SeqReserve: 4, Now: clock})[0]
	ctx := tctx(t)
	const g = "g:slow-full"
	mustCreateGroup(t, node, g, "teacher", "pupil")
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "teacher", SlowModeMs: proto.Uint32(60_000)}); err != nil {
		t.Fatal(err)
	}
	fillDisk(t, fs, store)
	send := func() error {
		_, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "pupil", ClientMsgId: "q-1", Body: []byte("a question")})
		return err
	}
	for i := range 6 {
		if err := send(); actors.CodeOf(err) != pb.Code_STORAGE_UNAVAILABLE {
			t.Fatalf("try %d on a full disk: %v, want STORAGE_UNAVAILABLE", i+1, err)
		}
	}
	fs.free.Store(-1)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := send()
		if err == nil {
			break
		}
		if actors.CodeOf(err) != pb.Code_STORAGE_UNAVAILABLE || time.Now().After(deadline) {
			t.Fatalf("the send once space is back: %v", err)
		}
	}
	_, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "pupil", ClientMsgId: "q-2", Body: []byte("another")})
	if actors.CodeOf(err) != pb.Code_SLOW_MODE {
		t.Fatalf("the next message: %v, want SLOW_MODE", err)
	}
}
