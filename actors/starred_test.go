package actors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// starredOf lists all of user's starred messages, page by page, as
// "conv#seq:text", newest first.
func starredOf(t *testing.T, node *boot.Node, user string, page int) string {
	t.Helper()
	var out []string
	var before time.Time
	for {
		msgs, next, err := node.Starred(tctx(t), user, before, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range msgs {
			out = append(out, fmt.Sprintf("%s#%d:%s", s.Message.Conv, s.Message.Seq, s.Message.Body))
		}
		if next.IsZero() {
			return strings.Join(out, " ")
		}
		before = next
	}
}

// TestStarredMessages: a user stars messages they read across
// conversations and finds them newest first, page by page, an edited text
// with its newest text; what they cannot read, and what is no message of
// its own, is refused; a second star changes nothing; a recalled message,
// and one cleared from the user's view, leaves the list; the list
// outlives the node; its bound is TOO_MANY at the edge.
func TestStarredMessages(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxStarredMessages: 4}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "ann")
	homework := mustSend(t, node, g, "teacher", "homework: page 12")
	if _, err := edit(t, node, g, "teacher", homework.Seq, "homework: page 14"); err != nil {
		t.Fatal(err)
	}
	trip := mustSend(t, node, g, "teacher", "trip on Friday")
	d, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "seller", Body: []byte("pick up at 5 Main St")})
	if err != nil {
		t.Fatal(err)
	}
	direct := actors.DirectConvID("ann", "seller")
	star := func(conv string, seq uint64, on bool) (int, error) { return node.Star(ctx, "ann", conv, seq, on) }
	for _, s := range []struct {
		conv string
		seq  uint64
	}{{g, homework.Seq}, {direct, d.Seq}, {g, trip.Seq}} {
		if _, err := star(s.conv, s.seq, true); err != nil {
			t.Fatalf("star %s#%d: %v", s.conv, s.seq, err)
		}
	}
	if n, err := star(direct, d.Seq, true); err != nil || n != 3 {
		t.Fatalf("starring a starred message again: %d, %v; want 3 and no change", n, err)
	}
	want := fmt.Sprintf("%s#%d:trip on Friday %s#%d:pick up at 5 Main St %s#%d:homework: page 14", g, trip.Seq, direct, d.Seq, g, homework.Seq)
	for _, page := range []int{1, 2, 50} {
		if got := starredOf(t, node, "ann", page); got != want {
			t.Fatalf("ann's starred in pages of %d:\n%s\nwant\n%s", page, got, want)
		}
	}
	if got := starredOf(t, node, "teacher", 0); got != "" {
		t.Fatalf("the teacher's starred: %q, want none (stars are the user's own)", got)
	}

	mustCreateGroup(t, node, "g:other", "x", "y")
	other := mustSend(t, node, "g:other", "x", "secret")
	for what, c := range map[string]struct {
		conv string
		seq  uint64
		want pb.Code
	}{
		"another conversation's message": {"g:other", other.Seq, pb.Code_NOT_MEMBER},
		"a message not there":            {g, 999, pb.Code_NOT_FOUND},
		"an edit":                        {g, homework.Seq + 1, pb.Code_INVALID},
		"no seq":                         {g, 0, pb.Code_INVALID},
		"a malformed conversation":       {"nowhere", 1, pb.Code_INVALID},
	} {
		if _, err := star(c.conv, c.seq, true); actors.CodeOf(err) != c.want {
			t.Errorf("starring %s: %v, want %v", what, err, c.want)
		}
	}

	// The bound, at its edge.
	fourth := mustSend(t, node, g, "teacher", "bring lunch")
	if n, err := star(g, fourth.Seq, true); err != nil || n != 4 {
		t.Fatalf("the 4th star of 4: %d, %v", n, err)
	}
	fifth := mustSend(t, node, g, "teacher", "and water")
	if _, err := star(g, fifth.Seq, true); actors.CodeOf(err) != pb.Code_TOO_MANY {
		t.Fatalf("the 5th star of 4: %v, want TOO_MANY", err)
	}
	if n, err := star(g, fourth.Seq, false); err != nil || n != 3 {
		t.Fatalf("unstar: %d, %v", n, err)
	}

	// A recalled message and a cleared conversation leave the list; the
	// rest outlives the node.
	if _, err := node.Recall(ctx, g, "teacher", trip.Seq); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.ClearHistory(ctx, "ann", "phone", direct, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := starredOf(t, node, "ann", 0), fmt.Sprintf("%s#%d:homework: page 14", g, homework.Seq); got != want {
		t.Fatalf("after the recall and the clear: %q, want %q", got, want)
	}
	if n, err := star(g, fifth.Seq, true); err != nil || n != 2 {
		t.Fatalf("a star after the list dropped two: %d, %v; want 2", n, err)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if got, want := starredOf(t, node, "ann", 0), fmt.Sprintf("%s#%d:and water %s#%d:homework: page 14", g, fifth.Seq, g, homework.Seq); got != want {
		t.Fatalf("after a restart: %q, want %q", got, want)
	}
}
