package actors_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// draftsOf is user's drafts as "conv=text", the latest changed first.
func draftsOf(t *testing.T, node *boot.Node, user string) string {
	t.Helper()
	ds, err := node.Drafts(tctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Conv+"="+d.Text)
	}
	return strings.Join(out, " ")
}

// TestDrafts: a user keeps drafts of conversations they read, the latest
// changed first, one per conversation; clearing one takes it out; the
// bounds (3 drafts, 16 bytes) at their edges; a stranger's conversation
// is NOT_MEMBER; the devices hear of each change; the drafts outlive the
// node and an erasure clears them.
func TestDrafts(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxDrafts: 3, MaxDraftBytes: 16}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	mustCreateGroup(t, node, "g:a", "ann", "bob")
	mustCreateGroup(t, node, "g:b", "ann")
	mustCreateGroup(t, node, "g:c", "ann")
	mustCreateGroup(t, node, "g:d", "ann")
	phone, _ := connect(t, node, "ann", "phone")
	set := func(conv, text string) (int, error) { return node.SetDraft(ctx, "ann", conv, text) }
	for _, d := range [][2]string{{"g:a", "Dear all,"}, {"g:b", "the refund"}, {"g:a", "Dear all,\ntrip"}} {
		if _, err := set(d[0], d[1]); err != nil {
			t.Fatalf("draft %v: %v", d, err)
		}
	}
	if got, want := draftsOf(t, node, "ann"), "g:a=Dear all,\ntrip g:b=the refund"; got != want {
		t.Fatalf("ann's drafts: %q, want %q", got, want)
	}
	eventually(t, func() error {
		for _, p := range phone.pushesNow() {
			if l := p.GetLists(); l != nil && l.List == pb.ListsUpdate_DRAFTS {
				return nil
			}
		}
		return errors.New("no drafts push on ann's phone")
	})
	if n, err := set("g:c", strings.Repeat("x", 16)); err != nil || n != 3 {
		t.Fatalf("a third draft of 16 bytes: %d, %v", n, err)
	}
	if _, err := set("g:d", "x"); actors.CodeOf(err) != pb.Code_TOO_MANY {
		t.Fatalf("a fourth draft: %v, want TOO_MANY", err)
	}
	if _, err := set("g:d", strings.Repeat("x", 17)); actors.CodeOf(err) != pb.Code_TOO_LARGE {
		t.Fatalf("a draft of 17 bytes: %v, want TOO_LARGE", err)
	}
	if _, err := set("g:a", "a\x07"); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a draft with a control character: %v, want INVALID", err)
	}
	if _, err := node.SetDraft(ctx, "eve", "g:a", "hi"); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger's draft: %v, want NOT_MEMBER", err)
	}
	if n, err := set("g:c", ""); err != nil || n != 2 {
		t.Fatalf("clearing g:c: %d, %v; want 2 left", n, err)
	}
	if n, err := set("g:d", "later"); err != nil || n != 3 {
		t.Fatalf("a draft once one was cleared: %d, %v", n, err)
	}

	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if got, want := draftsOf(t, node, "ann"), "g:d=later g:a=Dear all,\ntrip g:b=the refund"; got != want {
		t.Fatalf("after a restart: %q, want %q", got, want)
	}
	if _, err := node.EraseUser(tctx(t), "ann", actors.SentCursor{}); err != nil {
		t.Fatal(err)
	}
	if got := draftsOf(t, node, "ann"); got != "" {
		t.Fatalf("after the erasure: %q, want none", got)
	}
}
