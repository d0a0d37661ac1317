package desk_test

import (
	"strings"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// An anonymous visitor enters only the scenes the node opens to visitors
// (Config.VisitorScenes); a known customer enters any. Nobody merges an
// account into a visitor.
func TestVisitorScenes(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{VisitorScenes: []string{"listing"}})
	ctx := tctx(t)
	d := n.Desk
	for _, sc := range []desk.Scene{{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}, {Name: "billing", Line: "accounts", Route: []string{"queue:care"}}} {
		if _, err := d.SetScene(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	const visitor = "visitor-7f3a9q"
	s, err := d.Enter(ctx, visitor, "listing/123")
	if err != nil || !strings.HasPrefix(s.Conv, "s:cars:"+visitor+":") {
		t.Fatalf("a visitor enters a scene open to visitors: %+v %v", s, err)
	}
	if _, err := d.Enter(ctx, visitor, "billing/9"); code(err) != pb.Code_FORBIDDEN || !strings.Contains(err.Error(), "takes no anonymous visitors") {
		t.Fatalf("a visitor enters a scene closed to visitors: %v", err)
	}
	if _, err := d.Enter(ctx, "c1", "billing/9"); err != nil {
		t.Fatalf("a known customer enters it: %v", err)
	}
	if _, err := d.Merge(ctx, "c1", visitor); code(err) != pb.Code_INVALID {
		t.Fatalf("an account merged into a visitor: %v", err)
	}
}
