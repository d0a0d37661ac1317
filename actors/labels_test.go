package actors_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestLabels: a seller labels their chats; the labels are theirs alone,
// bounded at the edge (count and bytes), trimmed, checked, carried in
// summaries, a filter of the list, and outlive the grain.
func TestLabels(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxConvLabels: 2, MaxLabelBytes: 8}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	convs := map[string]string{}
	for _, buyer := range []string{"ann", "bob", "cai"} {
		if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: buyer, Body: []byte("is it still for sale?")}); err != nil {
			t.Fatal(err)
		}
		convs[buyer] = actors.DirectConvID(buyer, "seller")
	}
	set := func(buyer string, add, remove []string) ([]string, error) {
		return node.SetLabels(ctx, "seller", convs[buyer], add, remove)
	}
	if got, err := set("ann", []string{" paid ", "vip"}, nil); err != nil || !slices.Equal(got, []string{"paid", "vip"}) {
		t.Fatalf("label ann's chat: %v, %v", got, err)
	}
	if _, err := set("ann", []string{"to ship"}, nil); actors.CodeOf(err) != pb.Code_TOO_MANY {
		t.Fatalf("a third label with a bound of 2: %v, want TOO_MANY", err)
	}
	if got, err := set("ann", []string{"to ship"}, []string{"vip", "never"}); err != nil || !slices.Equal(got, []string{"paid", "to ship"}) {
		t.Fatalf("swap a label: %v, %v", got, err)
	}
	if _, err := set("bob", []string{strings.Repeat("x", 8)}, nil); err != nil {
		t.Fatalf("a label at the byte bound: %v", err)
	}
	for _, bad := range [][]string{{strings.Repeat("x", 9)}, {"  "}, {"a\tb"}, nil} {
		if _, err := set("cai", bad, nil); actors.CodeOf(err) != pb.Code_INVALID {
			t.Fatalf("labels %q: %v, want INVALID", bad, err)
		}
	}
	if _, err := node.SetLabels(ctx, "eve", convs["ann"], []string{"x"}, nil); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger labels: %v, want NOT_MEMBER", err)
	}
	if _, err := set("bob", []string{"paid"}, []string{strings.Repeat("x", 8)}); err != nil {
		t.Fatal(err)
	}

	listed := func(label string) ([]string, map[string][]string) {
		t.Helper()
		r, err := node.ListLabelled(ctx, "seller", label, "", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		labels := map[string][]string{}
		for _, c := range r.Conversations {
			ids = append(ids, c.Conv)
			labels[c.Conv] = c.Labels
		}
		slices.Sort(ids)
		return ids, labels
	}
	check := func(when string) {
		t.Helper()
		paid, labels := listed("paid")
		want := []string{convs["ann"], convs["bob"]}
		slices.Sort(want)
		if !slices.Equal(paid, want) || !slices.Equal(labels[convs["ann"]], []string{"paid", "to ship"}) {
			t.Fatalf("%s: the chats labelled paid %v (%v), want ann's and bob's", when, paid, labels)
		}
		if ship, _ := listed("to ship"); len(ship) != 1 || ship[0] != convs["ann"] {
			t.Fatalf("%s: the chats to ship: %v", when, ship)
		}
		r, err := node.ListConversations(ctx, "ann", "", 0)
		if err != nil || len(r.Conversations) != 1 || len(r.Conversations[0].Labels) != 0 {
			t.Fatalf("%s: ann sees the seller's labels: %v, %v", when, r.GetConversations(), err)
		}
	}
	check("labelled")
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	check("after a restart")
	if _, err := node.ListLabelled(ctx, "seller", " ", "", 0, false); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a list by an empty label: %v, want INVALID", err)
	}

	// An erasure takes the seller's labels away: they are the seller's words.
	if _, err := node.EraseUser(ctx, "seller", actors.SentCursor{}); err != nil {
		t.Fatal(err)
	}
	for _, buyer := range []string{"ann", "bob"} {
		if uc, err := store.GetUserConv(ctx, "seller", convs[buyer]); err != nil || len(uc.Labels) != 0 {
			t.Fatalf("the seller's labels of %s's chat after the erasure: %v, %v", buyer, uc.Labels, err)
		}
	}
}
