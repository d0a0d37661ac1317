package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"google.golang.org/protobuf/proto"
)

// A group's pre-join history: members added later see the last N seqs
// before their join; the default is today's (from the join on); only owners
// and admins change it; the limit holds at its edge; the setting survives a
// restart of the grain.
func TestPreJoinHistory(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{MaxPreJoinHistory: 5})[0]
	ctx := tctx(t)
	const g = "g:prejoin"
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "o",
		Members: []*pb.Member{{User: "m", Role: pb.Role_MEMBER}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ { // seqs 1..10
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "o", ClientMsgId: fmt.Sprint("m", i), Body: []byte(fmt.Sprint("hello ", i))}); err != nil {
			t.Fatal(err)
		}
	}
	add := func(u string) uint64 {
		t.Helper()
		seq, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: g, Actor: "o", Op: pb.MembershipChange_ADD, Users: []string{u}})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// seqs returns the seqs u sees, oldest first.
	seqs := func(u string) []uint64 {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: u, OldestFirst: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, m := range msgs {
			out = append(out, m.Seq)
		}
		return out
	}
	set := func(actor string, n uint32) (uint32, error) {
		r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: actor, PrejoinHistory: &n})
		if err != nil {
			return 0, err
		}
		return r.PrejoinHistory, nil
	}

	// Default: a new member sees from the message recording its join.
	j1 := add("u1")
	if fmt.Sprint(seqs("u1")) != fmt.Sprint([]uint64{j1}) {
		t.Fatalf("default: u1 sees %v, want only its join %d", seqs("u1"), j1)
	}
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "m"}); err != nil || r.PrejoinHistory != 0 {
		t.Fatalf("read by a member: %v, %v", r, err)
	}
	// A plain member may not change it; over the limit is refused; at it is fine.
	if _, err := set("m", 3); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("member sets the history: %v", err)
	}
	if _, err := set("o", 6); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("6 over the limit of 5: %v", err)
	}
	if n, err := set("o", 5); err != nil || n != 5 {
		t.Fatalf("5 at the limit: %d, %v", n, err)
	}
	if n, err := set("o", 3); err != nil || n != 3 {
		t.Fatal(n, err)
	}
	j := add("u2")
	want := []uint64{j - 3, j - 2, j - 1, j}
	if got := seqs("u2"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("N=3: u2 sees %v, want %v", got, want)
	}
	// Earlier members are not changed by the setting.
	if got := seqs("u1"); len(got) == 0 || got[0] != j1 {
		t.Fatalf("u1 starts at %v, want its own join %d", got, j1)
	}

	// The setting is stored: a new activation of the grain keeps it.
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{MaxPreJoinHistory: 5})[0]
	ctx = tctx(t)
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "u2"}); err != nil || r.PrejoinHistory != 3 {
		t.Fatalf("after restart: %v, %v", r, err)
	}
	j = add("u3")
	if got := seqs("u3"); len(got) != 4 || got[0] != j-3 {
		t.Fatalf("after restart u3 sees %v, want %d..%d", got, j-3, j)
	}
	// More history than the group has: from seq 1.
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:short", Kind: pb.ConvKind_GROUP, Creator: "o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: "g:short", Actor: "o", PrejoinHistory: proto.Uint32(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:short", Sender: "o", ClientMsgId: "s1", Body: []byte("first")}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: "g:short", Actor: "o", Op: pb.MembershipChange_ADD, Users: []string{"u1"}}); err != nil {
		t.Fatal(err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: "g:short", User: "u1", OldestFirst: true})
	if err != nil || len(msgs) != 2 || msgs[0].Seq != 1 {
		t.Fatalf("short group: %v, %v", msgs, err)
	}
	// Not a group: refused.
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: actors.DirectConvID("a", "b"), Actor: "a"}); err == nil {
		t.Fatal("settings of a direct conversation accepted")
	}
}
