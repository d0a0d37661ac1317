package actors_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"google.golang.org/protobuf/proto"
)

// authzCell is one cell of the authorization table: a user of standing s in
// a conversation of kind asks for action.
type authzCell struct {
	kind     storage.ConvKind
	standing actors.Standing
	action   actors.Action
}

func (c authzCell) String() string {
	return fmt.Sprintf("%s/%s/%s", c.kind, c.standing, c.action)
}

// standings lists every standing a user can have in a conversation of kind.
func standings(kind storage.ConvKind) []actors.Standing {
	out := []actors.Standing{{}}
	if kind != storage.KindDirect {
		out = append(out, actors.Standing{Member: true, Left: true})
	}
	for _, r := range actors.RolesOf(kind) {
		out = append(out, actors.Standing{Member: true, Role: r})
	}
	return out
}

// TestAuthorizationTable walks every action × kind × standing through the
// real API of a running node and checks each answer against the table:
// allowed cells succeed, refused ones say NOT_MEMBER (not or no longer a
// member) or FORBIDDEN (the role does not allow it).
func TestAuthorizationTable(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	n := 0
	for _, kind := range []storage.ConvKind{storage.KindDirect, storage.KindGroup, storage.KindService} {
		for _, s := range standings(kind) {
			for _, a := range actors.Actions() {
				cell := authzCell{kind, s, a}
				n++
				t.Run(cell.String(), func(t *testing.T) {
					err := runCell(t, node, fmt.Sprintf("c%d", n), cell)
					allowed := actors.Allowed(kind, s, a)
					switch {
					case allowed && err != nil:
						t.Fatalf("table allows it, node refused: %v", err)
					case !allowed:
						want := pb.Code_FORBIDDEN
						if (!s.Member || s.Left) && a != actors.ActSeePresence {
							want = pb.Code_NOT_MEMBER
						}
						wantCode(t, err, want, cell.String())
					}
				})
			}
		}
	}
	// Every action × (2 direct + 5 group + 5 service standings).
	if want := len(actors.Actions()) * 12; n != want {
		t.Fatalf("walked %d cells, want %d", n, want)
	}
}

// runCell builds a fresh conversation in which user "u" has the cell's
// standing, another member "x" and a message from each, then performs the
// action as u and returns the node's answer.
func runCell(t *testing.T, node *boot.Node, tag string, c authzCell) error {
	t.Helper()
	ctx := tctx(t)
	u, x := "u-"+tag, "x-"+tag
	var conv string
	var uSeq uint64 // a message u sent while a member (0: none)
	switch c.kind {
	case storage.KindDirect:
		peer := u
		if !c.standing.Member {
			peer = "y-" + tag // a direct conversation of two others
		}
		if _, err := node.SendDirect(ctx, peer, &pb.SendMessage{Sender: x, Body: []byte("hello")}); err != nil {
			t.Fatal(err)
		}
		conv = actors.DirectConvID(x, peer)
		if c.standing.Member {
			uSeq = mustSend(t, node, conv, u, "from u").Seq
		}
	case storage.KindGroup:
		conv = "g:" + tag
		mustCreateGroup(t, node, conv, "o-"+tag, x)
		if c.standing.Member {
			role := pb.Role_MEMBER
			if c.standing.Role == storage.RoleAdmin {
				role = pb.Role_ADMIN
			}
			if _, err := membership(node, t, conv, "o-"+tag, pb.MembershipChange_ADD, role, u); err != nil {
				t.Fatal(err)
			}
			if c.standing.Role == storage.RoleOwner && !c.standing.Left {
				if _, err := membership(node, t, conv, "o-"+tag, pb.MembershipChange_SET_ROLE, pb.Role_OWNER, u); err != nil {
					t.Fatal(err)
				}
			}
		}
	case storage.KindService:
		conv = "s:" + tag
		xRole := pb.Role_CUSTOMER
		if c.standing.Role == storage.RoleCustomer {
			xRole = pb.Role_MEMBER // u is the one customer: whom the agent calls
		}
		members := []*pb.Member{{User: x, Role: xRole}, {User: "a-" + tag, Role: pb.Role_AGENT}}
		if c.standing.Member {
			role := pb.Role(c.standing.Role)
			if c.standing.Left {
				role = pb.Role_MEMBER
			}
			members = append(members, &pb.Member{User: u, Role: role})
		}
		if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: conv, Kind: pb.ConvKind_SERVICE, Members: members}); err != nil {
			t.Fatal(err)
		}
	}
	xSeq := mustSend(t, node, conv, x, "from x").Seq
	if c.kind != storage.KindDirect && c.standing.Member {
		uSeq = mustSend(t, node, conv, u, "from u").Seq
		if c.standing.Left {
			if _, err := membership(node, t, conv, u, pb.MembershipChange_LEAVE, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if uSeq == 0 {
		uSeq = xSeq
	}
	return doAction(ctx, node, conv, u, x, uSeq, xSeq, c)
}

func doAction(ctx context.Context, node *boot.Node, conv, u, x string, uSeq, xSeq uint64, c authzCell) error {
	change := func(op pb.MembershipChange_Op, role pb.Role, users ...string) error {
		_, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: u, Op: op, Role: role, Users: users})
		return err
	}
	switch c.action {
	case actors.ActSend:
		_, err := send(ctx, node, conv, u, "hi")
		return err
	case actors.ActHistory:
		_, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: u})
		return err
	case actors.ActMembers:
		_, _, err := node.Members(ctx, conv, u, "", 10)
		return err
	case actors.ActMarkRead:
		_, err := node.MarkRead(ctx, u, "phone", conv, xSeq)
		return err
	case actors.ActPin:
		return node.SetPinned(ctx, u, conv, true)
	case actors.ActRecallOwn:
		_, err := node.Recall(ctx, conv, u, uSeq)
		return err
	case actors.ActRecallAny:
		_, err := node.Recall(ctx, conv, u, xSeq)
		return err
	case actors.ActAdd:
		return change(pb.MembershipChange_ADD, pb.Role_MEMBER, "new-"+u)
	case actors.ActRemove:
		return change(pb.MembershipChange_REMOVE, 0, x)
	case actors.ActLeave:
		return change(pb.MembershipChange_LEAVE, 0)
	case actors.ActSetRole:
		role := pb.Role_ADMIN
		if c.kind == storage.KindService {
			role = pb.Role_AGENT
		}
		return change(pb.MembershipChange_SET_ROLE, role, x)
	case actors.ActMute:
		return change(pb.MembershipChange_MUTE, 0, x)
	case actors.ActSeePresence:
		_, err := node.Presence(ctx, u, x, conv)
		return err
	case actors.ActBlock:
		return change(pb.MembershipChange_BLOCK, 0, x)
	case actors.ActReport:
		_, _, err := node.Report(ctx, u, conv, xSeq, "spam")
		return err
	case actors.ActSettings:
		_, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: u, AdminsOnly: proto.Bool(true)})
		return err
	case actors.ActPinMessage:
		_, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: u, PinSeq: xSeq})
		return err
	case actors.ActInvite:
		_, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: u, Create: true})
		return err
	case actors.ActDisband:
		return change(pb.MembershipChange_DISBAND, 0)
	case actors.ActDisappearing:
		_, _, err := node.Disappearing(ctx, conv, u, proto.Int64(3_600_000))
		return err
	case actors.ActFreeze:
		_, _, err := node.Freeze(ctx, conv, u, proto.Bool(true), "", time.Time{})
		return err
	case actors.ActCall:
		if c.standing.Role == storage.RoleCustomer && !c.standing.Left {
			// The agent calls the customer, who answers.
			if _, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "a-" + strings.TrimPrefix(u, "u-"), Device: "desk", Op: pb.CallOp_START, CallId: "c1"}); err != nil {
				return fmt.Errorf("the agent's call: %w", err)
			}
			_, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: u, Device: "phone", Op: pb.CallOp_ACCEPT, CallId: "c1"})
			return err
		}
		_, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: u, Device: "phone", Op: pb.CallOp_START, CallId: "c1"})
		return err
	}
	return fmt.Errorf("no way to perform %s", c.action)
}

// TestConversationIDNamespaces: ids that belong to a kind cannot be taken
// by another — the direct-id squatting attack and its variants.
func TestConversationIDNamespaces(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	direct := actors.DirectConvID("alice", "bob")
	create := func(conv string, kind pb.ConvKind, creator string, members ...string) error {
		req := &pb.CreateConversation{Conv: conv, Kind: kind, Creator: creator}
		for _, m := range members {
			req.Members = append(req.Members, &pb.Member{User: m})
		}
		_, err := node.CreateConversation(ctx, req)
		return err
	}
	// Mallory squats alice and bob's direct id as a group, a service, or
	// as a "direct" conversation she is in.
	wantCode(t, create(direct, pb.ConvKind_GROUP, "mallory", "alice", "bob"), pb.Code_FORBIDDEN, "group on a direct id")
	wantCode(t, create(direct, pb.ConvKind_SERVICE, "mallory", "alice"), pb.Code_FORBIDDEN, "service on a direct id")
	wantCode(t, create(direct, pb.ConvKind_SERVICE, "", "alice", "mallory"), pb.Code_FORBIDDEN, "system service on a direct id")
	wantCode(t, create(direct, pb.ConvKind_DIRECT, "", "alice", "bob"), pb.Code_FORBIDDEN, "direct through create")
	// Even past the API, the grain keeps a direct id to the two users it names.
	err := actors.CreateUncheckedForTest(ctx, node.Runtime, &pb.CreateConversation{Conv: direct, Kind: pb.ConvKind_DIRECT,
		Members: []*pb.Member{{User: "alice"}, {User: "mallory"}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "direct id with a stranger")
	err = actors.CreateUncheckedForTest(ctx, node.Runtime, &pb.CreateConversation{Conv: direct, Kind: pb.ConvKind_GROUP,
		Creator: "mallory", Members: []*pb.Member{{User: "alice"}, {User: "bob"}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "group kind on a direct id, past the API")
	// Service ids are the node's: a user cannot name one, or put a group there.
	wantCode(t, create("s:desk-1", pb.ConvKind_SERVICE, "mallory", "alice"), pb.Code_FORBIDDEN, "user-named service id")
	wantCode(t, create("s:desk-1", pb.ConvKind_GROUP, "mallory", "alice"), pb.Code_FORBIDDEN, "group on a service id")
	wantCode(t, create("g:x", pb.ConvKind_SERVICE, "", "alice"), pb.Code_FORBIDDEN, "service on a group id")
	wantCode(t, create("team", pb.ConvKind_GROUP, "mallory", "alice"), pb.Code_INVALID, "id in no namespace")

	// Nothing was created: alice and bob's first message makes the real
	// direct conversation, which mallory cannot read or see presence through.
	res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq != 1 {
		t.Fatalf("first direct message got seq %d, want 1 (the id was not fresh)", res.Seq)
	}
	_, err = node.History(ctx, &pb.GetHistory{Conv: direct, User: "mallory"})
	wantCode(t, err, pb.Code_NOT_MEMBER, "mallory reads the direct conversation")
	_, err = node.Presence(ctx, "mallory", "bob", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "mallory sees bob's presence")
	_, err = node.Presence(ctx, "mallory", "bob", direct)
	wantCode(t, err, pb.Code_FORBIDDEN, "mallory sees bob's presence through their conversation")
	if _, err := node.Presence(ctx, "alice", "bob", ""); err != nil {
		t.Fatalf("alice cannot see bob's presence: %v", err)
	}

	// Generated ids land in the kind's namespace.
	g, err := node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_GROUP, Creator: "alice", Members: []*pb.Member{{User: "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_SERVICE, Creator: "alice", Members: []*pb.Member{{User: "agent", Role: pb.Role_AGENT}}})
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := actors.KindOfID(g.Conv); k != storage.KindGroup {
		t.Fatalf("generated group id %q", g.Conv)
	}
	if k, _ := actors.KindOfID(s.Conv); k != storage.KindService {
		t.Fatalf("generated service id %q", s.Conv)
	}
	// A group role does not exist in a service conversation, nor the reverse.
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_SERVICE, Creator: "alice", Members: []*pb.Member{{User: "bob", Role: pb.Role_ADMIN}}})
	wantCode(t, err, pb.Code_INVALID, "admin in a service conversation")
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_GROUP, Creator: "alice", Members: []*pb.Member{{User: "bob", Role: pb.Role_AGENT}}})
	wantCode(t, err, pb.Code_INVALID, "agent in a group")
}

// TestLastOwner: a group never loses its last owner while it has members.
func TestLastOwner(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	const g = "g:owned"
	mustCreateGroup(t, node, g, "olga", "mia", "max")
	_, err := membership(node, t, g, "olga", pb.MembershipChange_LEAVE, 0)
	wantCode(t, err, pb.Code_FORBIDDEN, "the only owner leaves")
	_, err = membership(node, t, g, "olga", pb.MembershipChange_REMOVE, 0, "olga")
	wantCode(t, err, pb.Code_FORBIDDEN, "the only owner removes herself")
	_, err = membership(node, t, g, "olga", pb.MembershipChange_SET_ROLE, pb.Role_MEMBER, "olga")
	wantCode(t, err, pb.Code_FORBIDDEN, "the only owner demotes herself")
	// Hand over, then leave.
	if _, err := membership(node, t, g, "olga", pb.MembershipChange_SET_ROLE, pb.Role_OWNER, "mia"); err != nil {
		t.Fatal(err)
	}
	if _, err := membership(node, t, g, "olga", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatalf("owner leaves after handing over: %v", err)
	}
	// The new owner alone with max still cannot go; once max left, she can.
	_, err = membership(node, t, g, "mia", pb.MembershipChange_LEAVE, 0)
	wantCode(t, err, pb.Code_FORBIDDEN, "the new only owner leaves")
	if _, err := membership(node, t, g, "max", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := membership(node, t, g, "mia", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatalf("the last member leaves: %v", err)
	}
}

// TestAuthorizationTablePinned pins the table itself: a change of policy
// must change this picture too (docs/ARCHITECTURE.md shows the same).
// Y: allowed; -: refused.
func TestAuthorizationTablePinned(t *testing.T) {
	const want = `
                    send hist memb read pin  rcl  rcl* add  rem  leav role mute pres blck rprt set  pinm inv  disb disp frz  call
direct  non-member  -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -
direct  member      Y    Y    Y    Y    Y    Y    -    -    -    -    -    -    Y    Y    Y    -    Y    -    -    Y    -    Y
group   non-member  -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -
group   left        -    Y    -    Y    Y    -    -    -    -    -    -    -    -    -    Y    -    -    -    -    -    -    -
group   member      Y    Y    Y    Y    Y    Y    -    -    -    Y    -    -    Y    -    Y    -    -    -    -    -    -    -
group   admin       Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    -    Y    Y    -    Y    Y    Y    Y    -    Y    Y    -
group   owner       Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    -    Y    Y    Y    Y    Y    Y    Y    -
service non-member  -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -    -
service left        -    Y    -    Y    Y    -    -    -    -    -    -    -    -    -    Y    -    -    -    -    -    -    -
service member      Y    Y    Y    Y    Y    Y    -    -    -    Y    -    -    Y    -    Y    -    -    -    -    -    -    -
service customer    Y    Y    Y    Y    Y    Y    -    -    -    Y    -    -    Y    -    Y    -    -    -    -    -    -    Y
service agent       Y    Y    Y    Y    Y    Y    -    Y    Y    Y    -    Y    Y    -    Y    -    Y    -    -    -    -    Y
`
	got := "\n" + fmt.Sprintf("%-20s", "")
	for _, h := range []string{"send", "hist", "memb", "read", "pin", "rcl", "rcl*", "add", "rem", "leav", "role", "mute", "pres", "blck", "rprt", "set", "pinm", "inv", "disb", "disp", "frz", "call"} {
		got += fmt.Sprintf("%-5s", h)
	}
	got = strings.TrimRight(got, " ") + "\n"
	for _, kind := range []storage.ConvKind{storage.KindDirect, storage.KindGroup, storage.KindService} {
		for _, s := range standings(kind) {
			got += fmt.Sprintf("%-8s%-12s", kind, s)
			for _, a := range actors.Actions() {
				mark := "-"
				if actors.Allowed(kind, s, a) {
					mark = "Y"
				}
				got += fmt.Sprintf("%-5s", mark)
			}
			got += "\n"
		}
	}
	trim := func(s string) string {
		lines := strings.Split(s, "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], " ")
		}
		return strings.Join(lines, "\n")
	}
	if trim(got) != trim(want) {
		t.Fatalf("authorization table changed:\n%s\nwant:%s", got, want)
	}
}
