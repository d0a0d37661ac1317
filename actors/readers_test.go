package actors_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Readers: only a message's sender asks; the answer covers the active
// members who could see the message (not those who joined after it, nor
// the sender), page by page, and says who read it.
func TestReaders(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := "g:class"
	var pupils []string
	for i := range 5 {
		pupils = append(pupils, fmt.Sprintf("p%d", i))
	}
	mustCreateGroup(t, node, conv, "teacher", pupils...)
	hw, err := send(ctx, node, conv, "teacher", "homework: page 12")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"p1", "p3"} {
		if _, err := node.MarkRead(ctx, p, "phone", conv, hw.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: "teacher", Op: pb.MembershipChange_ADD, Users: []string{"late"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: "p4", Op: pb.MembershipChange_LEAVE}); err != nil {
		t.Fatal(err)
	}

	var read, unread []string
	after, calls := "", 0
	for {
		rs, next, err := node.Readers(ctx, "teacher", conv, hw.Seq, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		for _, r := range rs {
			if r.Read {
				read = append(read, r.User)
			} else {
				unread = append(unread, r.User)
			}
		}
		if after = next; after == "" {
			break
		}
	}
	if !slices.Equal(read, []string{"p1", "p3"}) || !slices.Equal(unread, []string{"p0", "p2"}) {
		t.Fatalf("read %v, unread %v; want p1 p3 read, p0 p2 not (late joined after, p4 left, the teacher is the sender)", read, unread)
	}
	if calls < 3 {
		t.Fatalf("%d calls of 2 members each for 7 members", calls)
	}

	for name, c := range map[string]struct {
		user string
		seq  uint64
		want pb.Code
	}{
		"a pupil asks":         {"p1", hw.Seq, pb.Code_FORBIDDEN},
		"a stranger asks":      {"eve", hw.Seq, pb.Code_NOT_MEMBER},
		"a seq not written":    {"teacher", hw.Seq + 100, pb.Code_NOT_FOUND},
		"a membership message": {"teacher", hw.Seq + 1, pb.Code_NOT_FOUND},
		"one joined after it":  {"late", hw.Seq, pb.Code_NOT_FOUND},
		"no seq":               {"teacher", 0, pb.Code_NOT_FOUND},
	} {
		if _, _, err := node.Readers(ctx, c.user, conv, c.seq, "", 0); actors.CodeOf(err) != c.want {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// A page looks at most at MaxReadersPage members (the sender, "head",
// first by id, among them and left out): a limit of 0 or past it is taken
// as it, and next says there is more.
func TestReadersPageBound(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := "g:hall"
	var members []string
	for i := range actors.MaxReadersPage + 1 {
		members = append(members, fmt.Sprintf("m%03d", i))
	}
	mustCreateGroup(t, node, conv, "head", members...)
	m, err := send(ctx, node, conv, "head", "assembly at 9")
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, actors.MaxReadersPage, actors.MaxReadersPage + 1} {
		rs, next, err := node.Readers(ctx, "head", conv, m.Seq, "", limit)
		if err != nil || len(rs) != actors.MaxReadersPage-1 || next != members[actors.MaxReadersPage-2] {
			t.Fatalf("limit %d: %d readers, next %q, %v; want %d and more", limit, len(rs), next, err, actors.MaxReadersPage-1)
		}
		rest, next, err := node.Readers(ctx, "head", conv, m.Seq, next, limit)
		if err != nil || len(rest) != 2 || next != "" || rest[1].User != members[len(members)-1] {
			t.Fatalf("limit %d, the second page: %+v, next %q, %v; want the last two members, no more", limit, rest, next, err)
		}
	}
}
