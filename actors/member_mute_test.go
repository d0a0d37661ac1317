package actors_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A group's managers mute a member for a while ("for a day"): the member
// cannot post until the end, which the clock decides (nothing is written
// then); the members list and the system message say when it ends; it
// survives a restart; muting again sets the end anew, and a mute without
// one lasts until unmuted. The duration is bounded (MaxMemberMuteFor) and
// belongs to MUTE alone.
func TestTimedMemberMute(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxMemberMuteFor: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "kid", "other")
	mute := func(forMs int64, op pb.MembershipChange_Op) (uint64, error) {
		return node.ChangeMembership(ctx, &pb.MembershipChange{Conv: g, Actor: "teacher", Op: op, Users: []string{"kid"}, ForMs: forMs})
	}
	kidRow := func() *pb.Member {
		t.Helper()
		ms, _, err := node.Members(ctx, g, "other", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.User == "kid" {
				return m
			}
		}
		t.Fatal("kid is not listed")
		return nil
	}

	// The bounds: a duration past the limit, with another op, negative,
	// or an end given directly.
	_, err := mute(time.Hour.Milliseconds()+1, pb.MembershipChange_MUTE)
	wantCode(t, err, pb.Code_INVALID, "a mute one ms past the limit")
	_, err = mute(1000, pb.MembershipChange_UNMUTE)
	wantCode(t, err, pb.Code_INVALID, "an unmute with a duration")
	_, err = mute(-1, pb.MembershipChange_MUTE)
	wantCode(t, err, pb.Code_INVALID, "a negative duration")
	_, err = mute(math.MaxInt64, pb.MembershipChange_MUTE)
	wantCode(t, err, pb.Code_INVALID, "a duration whose Duration would wrap")
	_, err = node.ChangeMembership(ctx, &pb.MembershipChange{Conv: g, Actor: "teacher", Op: pb.MembershipChange_MUTE, Users: []string{"kid"}, UntilMs: time.Now().Add(time.Minute).UnixMilli()})
	wantCode(t, err, pb.Code_INVALID, "an end given by the caller")

	// At the limit: muted for an hour, listed with its end, kept across
	// a restart.
	before := time.Now().Truncate(time.Millisecond)
	seq, err := mute(time.Hour.Milliseconds(), pb.MembershipChange_MUTE)
	if err != nil {
		t.Fatalf("a mute at the limit: %v", err)
	}
	_, err = send(ctx, node, g, "kid", "hi")
	wantCode(t, err, pb.Code_MUTED, "a member muted for an hour posts")
	row := kidRow()
	if end := time.UnixMilli(row.MutedUntilMs); !row.Muted || end.Before(before.Add(time.Hour)) || end.After(time.Now().Add(time.Hour)) {
		t.Fatalf("listed %+v, want muted for an hour from %v", row, before)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "other", FromSeq: seq, ToSeq: seq})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the mute's system message: %v %v", msgs, err)
	}
	var body struct {
		Op      string   `json:"op"`
		Users   []string `json:"users"`
		UntilMs int64    `json:"until_ms"`
	}
	if err := json.Unmarshal(msgs[0].Body, &body); err != nil || body.Op != "mute" || body.UntilMs != row.MutedUntilMs || len(body.Users) != 1 {
		t.Fatalf("system message %s (%v), want a mute of kid until %d", msgs[0].Body, err, row.MutedUntilMs)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	_, err = send(ctx, node, g, "kid", "hi")
	wantCode(t, err, pb.Code_MUTED, "muted for an hour, after a restart")
	if again := kidRow(); again.MutedUntilMs != row.MutedUntilMs {
		t.Fatalf("after a restart the mute ends at %d, want %d", again.MutedUntilMs, row.MutedUntilMs)
	}

	// Muting again without a duration: until unmuted.
	if _, err := mute(0, pb.MembershipChange_MUTE); err != nil {
		t.Fatal(err)
	}
	if r := kidRow(); !r.Muted || r.MutedUntilMs != 0 {
		t.Fatalf("muted without a duration: %+v, want no end", r)
	}

	// Muting again for a short while: it ends by itself, and the member
	// posts without anyone unmuting them.
	if _, err := mute(1500, pb.MembershipChange_MUTE); err != nil {
		t.Fatal(err)
	}
	_, err = send(ctx, node, g, "kid", "hi")
	wantCode(t, err, pb.Code_MUTED, "a member muted for 1.5 s posts at once")
	end := time.UnixMilli(kidRow().MutedUntilMs)
	time.Sleep(time.Until(end) + 50*time.Millisecond)
	mustSend(t, node, g, "kid", "back")
	if r := kidRow(); r.Muted || r.MutedUntilMs != 0 {
		t.Fatalf("after the mute's end: %+v, want not muted", r)
	}
	r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "kid"})
	if err != nil || len(r.Managers) != 1 || r.Managers[0].Muted {
		t.Fatalf("managers %v %v", r.GetManagers(), err)
	}
}
