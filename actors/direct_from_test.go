package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// Who may start a direct conversation with a user (privacy direct_from):
// nobody, only users sharing a group (one who left it no longer does),
// or everyone; a conversation that exists goes on, one the user starts
// is theirs; the node's default holds for a user who never chose; the
// operator's post is not held; the group scan is bounded at its edge.
func TestDirectFrom(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{DirectFromScan: 4}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	first := func(node *boot.Node, from, to string) error {
		_, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, Body: []byte("hi")})
		return err
	}
	set := func(user string, d pb.DirectFrom) {
		t.Helper()
		r, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: user, DirectFrom: d.Enum()})
		if err != nil || r.DirectFrom != d {
			t.Fatalf("%s sets direct_from %v: %v %v", user, d, r, err)
		}
	}

	// Nobody: a stranger is refused; the pupil writes first and both go on.
	set("pupil", pb.DirectFrom_DIRECT_FROM_NOBODY)
	wantCode(t, first(node, "stranger", "pupil"), pb.Code_FORBIDDEN, "a stranger's first message to a pupil who takes none")
	if err := first(node, "pupil", "friend"); err != nil {
		t.Fatalf("the pupil starts a chat: %v", err)
	}
	if err := first(node, "friend", "pupil"); err != nil {
		t.Fatalf("the friend answers in the chat the pupil started: %v", err)
	}
	if _, err := node.SendDirectAsOperator(ctx, "pupil", &pb.SendMessage{Sender: "school", Body: []byte("term starts Monday")}); err != nil {
		t.Fatalf("the operator's post to a pupil who takes no chats: %v", err)
	}

	// Groups: a classmate in, a stranger out, one who left out. The
	// classmate is in three groups whose ids sort before the shared one:
	// with a scan of 4 memberships the shared group is found.
	set("pupil", pb.DirectFrom_DIRECT_FROM_GROUPS)
	for _, g := range []string{"g:a1", "g:a2", "g:a3"} {
		mustCreateGroup(t, node, g, "mate", "someone")
	}
	mustCreateGroup(t, node, "g:class", "teacher", "pupil", "mate", "leaver")
	if _, err := membership(node, t, "g:class", "leaver", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if err := first(node, "mate", "pupil"); err != nil {
		t.Fatalf("a classmate's first message, the group at the scan's edge: %v", err)
	}
	wantCode(t, first(node, "stranger", "pupil"), pb.Code_FORBIDDEN, "a stranger's, to a pupil who takes chats from their groups")
	wantCode(t, first(node, "leaver", "pupil"), pb.Code_FORBIDDEN, "one who left the group")
	wantCode(t, first(node, "someone", "teacher"), pb.Code_OK, "the teacher never chose: everyone")

	// One past the scan: a user in four groups before the shared one is
	// not found to share it.
	for _, g := range []string{"g:b1", "g:b2", "g:b3", "g:b4"} {
		mustCreateGroup(t, node, g, "busy", "someone")
	}
	if _, err := membership(node, t, "g:class", "teacher", pb.MembershipChange_ADD, 0, "busy"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, first(node, "busy", "pupil"), pb.Code_FORBIDDEN, "a classmate whose shared group is past the scan of 4")

	// The node's default, for a user who never chose, and back to it.
	node.Stop(true)
	cfg.DirectFrom = pb.DirectFrom_DIRECT_FROM_GROUPS
	node = startCluster(t, 1, store, cfg)[0]
	wantCode(t, first(node, "stranger", "teacher"), pb.Code_FORBIDDEN, "a stranger's, to a teacher on a node whose default is groups")
	set("teacher", pb.DirectFrom_DIRECT_FROM_EVERYONE)
	if err := first(node, "stranger", "teacher"); err != nil {
		t.Fatalf("to a teacher who takes chats from everyone: %v", err)
	}
	set("pupil", pb.DirectFrom_DIRECT_FROM_DEFAULT)
	wantCode(t, first(node, "stranger", "pupil"), pb.Code_FORBIDDEN, "back to the node's default, groups")
	if _, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: "pupil", DirectFrom: pb.DirectFrom(7).Enum()}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("direct_from 7: %v, want INVALID", err)
	}
}
