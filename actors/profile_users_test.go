package actors_test

import (
	"maps"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// namesSeen reads users' profiles as viewer in conv and answers them as
// "user=name" in the order answered.
func namesSeen(t *testing.T, node *boot.Node, viewer, conv string, users ...string) string {
	t.Helper()
	ps, err := node.Profiles(tctx(t), viewer, conv, users)
	if err != nil {
		t.Fatalf("%s reads profiles in %q: %v", viewer, conv, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.User+"="+p.Name)
	}
	return strings.Join(out, " ")
}

// TestUserProfiles: a user sets a display name and an avatar (one field
// at a time, neither lost), the node trims and bounds them at their
// edges; members of a group, present or past, see each other's, the
// other member of a direct conversation too unless one blocks the other,
// and a stranger sees nothing; the profile outlives the node.
func TestUserProfiles(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxProfileNameBytes: 8, MaxAvatarURLBytes: 40, MaxProfileUsers: 4}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	set := func(user string, name, avatar *string) (*pb.UserProfile, error) {
		return node.SetProfile(ctx, user, &pb.SetProfile{Name: name, AvatarUrl: avatar})
	}

	if p, err := set("ann", nil, nil); err != nil || p.Name != "" || p.UpdatedMs != 0 || p.User != "ann" {
		t.Fatalf("ann's profile before she set one: %v, %v", p, err)
	}
	if _, err := set("ann", proto.String("  Ann K.\t"), nil); err != nil {
		t.Fatal(err)
	}
	p, err := set("ann", nil, proto.String("https://img.example/ann.png"))
	if err != nil || p.Name != "Ann K." || p.AvatarUrl != "https://img.example/ann.png" || p.UpdatedMs == 0 {
		t.Fatalf("ann's profile after a name, then an avatar: %v, %v; want both, the name trimmed", p, err)
	}

	// The limits at their edges: 8 bytes of name, 40 of URL.
	if _, err := set("bob", proto.String("12345678"), proto.String("https://img.example/"+strings.Repeat("b", 20))); err != nil {
		t.Fatalf("a name and an avatar at their limits: %v", err)
	}
	for what, change := range map[string]*pb.SetProfile{
		"a name a byte over":        {Name: proto.String("123456789")},
		"a name with a line break":  {Name: proto.String("Bo\nb")},
		"a name not UTF-8":          {Name: proto.String("Bo\xffb")},
		"an avatar a byte over":     {AvatarUrl: proto.String("https://img.example/" + strings.Repeat("b", 21))},
		"an avatar that is no URL":  {AvatarUrl: proto.String("bob.png")},
		"an avatar in javascript:":  {AvatarUrl: proto.String("javascript:alert(1)")},
		"an avatar without a host:": {AvatarUrl: proto.String("https:///x.png")},
	} {
		if _, err := node.SetProfile(ctx, "bob", change); actors.CodeOf(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", what, err)
		}
	}
	if p, _ := set("bob", nil, nil); p.Name != "12345678" {
		t.Fatalf("bob's name after refused changes: %q", p.Name)
	}
	if p, err := set("bob", nil, proto.String("")); err != nil || p.AvatarUrl != "" || p.Name != "12345678" {
		t.Fatalf("bob clears his avatar: %v, %v", p, err)
	}

	// Who sees whom.
	const g = "g:class"
	mustCreateGroup(t, node, g, "ann", "bob", "cid")
	if _, err := set("cid", proto.String("Cid"), nil); err != nil {
		t.Fatal(err)
	}
	if got, want := namesSeen(t, node, "bob", g, "cid", "ann", "eve", "cid"), "cid=Cid ann=Ann K."; got != want {
		t.Fatalf("bob reads the class's profiles: %q, want %q (eve is in no conversation with him; each once)", got, want)
	}
	if _, err := node.Profiles(ctx, "eve", g, []string{"ann"}); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger reads profiles in the class: %v, want NOT_MEMBER", err)
	}
	if _, err := node.Profiles(ctx, "bob", g, []string{"a", "b", "c", "d", "e"}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("five users past a bound of four: %v, want INVALID", err)
	}
	if _, err := membership(node, t, g, "cid", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := namesSeen(t, node, "cid", g, "ann"), "ann=Ann K."; got != want {
		t.Fatalf("cid, who left, reads the class's profiles: %q, want %q", got, want)
	}
	if got, want := namesSeen(t, node, "ann", g, "cid"), "cid=Cid"; got != want {
		t.Fatalf("ann reads cid's, who left: %q, want %q", got, want)
	}

	// Direct conversations: without one nothing; with one the other's;
	// not while either blocks the other.
	if got := namesSeen(t, node, "bob", "", "ann", "bob"); got != "bob=12345678" {
		t.Fatalf("bob reads ann's before they talk: %q, want his own only", got)
	}
	if _, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "bob", ClientMsgId: "hi", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if got := namesSeen(t, node, "ann", "", "bob"); got != "bob=12345678" {
		t.Fatalf("ann reads bob's after he wrote to her: %q", got)
	}
	if err := node.Block(ctx, "ann", "bob", true); err != nil {
		t.Fatal(err)
	}
	if a, b := namesSeen(t, node, "ann", "", "bob"), namesSeen(t, node, "bob", "", "ann"); a != "" || b != "" {
		t.Fatalf("while ann blocks bob: ann sees %q, bob %q; want nothing either way", a, b)
	}
	pair := actors.DirectConvID("ann", "bob")
	if a, b := namesSeen(t, node, "ann", pair, "bob"), namesSeen(t, node, "bob", pair, "ann"); a != "" || b != "" {
		t.Fatalf("while ann blocks bob, through their conversation named: ann sees %q, bob %q; want nothing either way", a, b)
	}
	if err := node.Block(ctx, "eve", "cid", true); err != nil {
		t.Fatal(err)
	}
	if got := namesSeen(t, node, "eve", "", "cid"); got != "" {
		t.Fatalf("eve blocked a stranger to read her profile: %q, want nothing", got)
	}

	// The desk's views read names through a cache, which a change on
	// this node refreshes at once.
	if got := node.DisplayNames(ctx, "ann", "cid", "eve", "bad id"); len(got) != 2 || got["ann"] != "Ann K." || got["cid"] != "Cid" {
		t.Fatalf("display names: %v, want ann's and cid's", got)
	}
	if _, err := set("ann", proto.String("Ann"), nil); err != nil {
		t.Fatal(err)
	}
	if got := node.DisplayNames(ctx, "ann"); got["ann"] != "Ann" {
		t.Fatalf("ann's display name once she changed it: %v", got)
	}
	if _, err := set("ann", proto.String("Ann K."), nil); err != nil {
		t.Fatal(err)
	}

	// It outlives the node.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if p, err := node.Profile(tctx(t), "ann"); err != nil || p.Name != "Ann K." || p.AvatarUrl != "https://img.example/ann.png" {
		t.Fatalf("ann's profile after a restart: %v, %v", p, err)
	}
}

// TestProfileMeta: the operator marks a seller verified; a buyer who
// shares a conversation with them reads it with their profile, and the
// seller's own changes keep it. Its bound holds at its edge; an empty one
// takes it away; erasing the account takes it too.
func TestProfileMeta(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxMetaBytes: 16})[0]
	ctx := tctx(t)
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	verified := map[string]string{"verified": "true"}
	if p, err := node.SetProfileMeta(ctx, "seller", verified); err != nil || !maps.Equal(p.Meta, verified) {
		t.Fatalf("the operator marks the seller verified: %v %v", p, err)
	}
	if _, err := node.SetProfile(ctx, "seller", &pb.SetProfile{Name: proto.String("Sam")}); err != nil {
		t.Fatal(err)
	}
	ps, err := node.Profiles(ctx, "buyer", "", []string{"seller"})
	if err != nil || len(ps) != 1 || ps[0].Name != "Sam" || !maps.Equal(ps[0].Meta, verified) {
		t.Fatalf("the buyer reads the seller's profile: %v %v", ps, err)
	}
	if _, err := node.SetProfileMeta(ctx, "seller", map[string]string{"verified": "12345678"}); err != nil {
		t.Fatalf("at the bound: %v", err)
	}
	_, err = node.SetProfileMeta(ctx, "seller", map[string]string{"verified": "123456789"})
	wantCode(t, err, pb.Code_TOO_LARGE, "one byte past the bound")
	_, err = node.SetProfileMeta(ctx, "seller", map[string]string{"ver ified": "1"})
	wantCode(t, err, pb.Code_INVALID, "a key with a space")
	if p, err := node.SetProfileMeta(ctx, "seller", map[string]string{}); err != nil || p.Meta != nil || p.Name != "Sam" {
		t.Fatalf("an empty meta takes it away, the name stays: %v %v", p, err)
	}
	if _, err := node.SetProfileMeta(ctx, "seller", verified); err != nil {
		t.Fatal(err)
	}
	if _, err := node.EraseUser(ctx, "seller", actors.SentCursor{}); err != nil {
		t.Fatal(err)
	}
	if p, err := node.Profile(ctx, "seller"); err != nil || p.Meta != nil || p.Name != "" {
		t.Fatalf("the erased seller's profile: %v %v", p, err)
	}
}
