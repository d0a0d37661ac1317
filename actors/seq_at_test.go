package actors_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Jump to a date: the first message at or after a time, within what the
// caller sees (not before their join, not after they left); none when
// every message is older; a stranger is not a member.
func TestSeqAt(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "ann")
	var sent []*pb.SendResponse
	for i := range 40 {
		sent = append(sent, mustSend(t, node, g, "teacher", "lesson"))
		if i%10 == 9 {
			time.Sleep(5 * time.Millisecond) // four days, in a test's time
		}
	}
	at := func(user string, ms int64) (uint64, int64) {
		t.Helper()
		seq, ts, err := node.SeqAt(ctx, user, g, time.UnixMilli(ms))
		if err != nil {
			t.Fatalf("%s jumps to %d: %v", user, ms, err)
		}
		if seq == 0 {
			return 0, 0
		}
		return seq, ts.UnixMilli()
	}
	// Every time from before the first message to after the last finds
	// the first message sent at or after it, as the log says.
	log, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "ann", OldestFirst: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	first, last := log[0].ServerTsMs, log[len(log)-1].ServerTsMs
	for ms := first - 1; ms <= last+1; ms++ {
		var want uint64
		for _, m := range log {
			if m.ServerTsMs >= ms {
				want = m.Seq
				break
			}
		}
		if seq, _ := at("ann", ms); seq != want {
			t.Fatalf("at %d: found %d, want %d", ms, seq, want)
		}
	}
	if seq, _ := at("ann", 0); seq != 1 {
		t.Fatalf("the epoch: %d, want the first seq", seq)
	}
	if seq, _ := at("ann", sent[len(sent)-1].ServerTsMs+1); seq != 0 {
		t.Fatalf("after the last message: %d, want none", seq)
	}
	// A member who joined late sees from their join; one who left, up to it.
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_ADD, pb.Role_MEMBER, "late"); err != nil {
		t.Fatal(err)
	}
	if seq, _ := at("late", 0); seq <= sent[len(sent)-1].Seq {
		t.Fatalf("a late member jumps to %d, before their join", seq)
	}
	left, err := membership(node, t, g, "ann", pb.MembershipChange_LEAVE, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, node, g, "teacher", "after ann left")
	if seq, _ := at("ann", time.Now().Add(-time.Millisecond).UnixMilli()); seq > left {
		t.Fatalf("ann, who left at %d, found %d", left, seq)
	}
	_, _, err = node.SeqAt(ctx, "stranger", g, time.Now())
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger jumps to a date")
}
