package actors_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestSearch: a member finds, newest first and ignoring case, the
// messages they can read whose text holds the words: an edit as itself
// (the text it replaced no longer matches), never a recalled message, a
// membership step or what was said before they joined; pages go on from
// where the last stopped, also when the scan bound cuts them short; the
// query's limits hold at their edge.
func TestSearch(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxSearchScan: 4})[0]
	ctx := tctx(t)
	conv := "g:shop"
	mustCreateGroup(t, node, conv, "olga", "mia")
	say := func(who, text string) uint64 {
		t.Helper()
		r, err := send(ctx, node, conv, who, text)
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	first := say("olga", "Order 1234 is packed")
	say("mia", "thanks")
	typo := say("olga", "your ordr ships today")
	edit, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Kind: pb.MessageKind_NORMAL, RefSeq: typo, Body: []byte("your order ships today")})
	if err != nil {
		t.Fatal(err)
	}
	gone := say("mia", "order the blue one?")
	if _, err := node.Recall(ctx, conv, "mia", gone); err != nil {
		t.Fatal(err)
	}
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: "olga", Op: pb.MembershipChange_ADD, Users: []string{"zed"}}); err != nil {
		t.Fatal(err)
	}
	late := say("olga", "ORDER 77 for zed")

	// searchAll pages through the whole conversation (the scan bound is
	// 4 rows a request).
	searchAll := func(user, query string) (seqs []uint64, pages int) {
		t.Helper()
		for before := uint64(0); ; {
			found, next, err := node.Search(ctx, user, conv, actors.SearchQuery{Text: query}, before, 0)
			if err != nil {
				t.Fatal(err)
			}
			seqs, pages = append(seqs, seqsOf(found)...), pages+1
			if next == 0 {
				return seqs, pages
			}
			if before != 0 && next >= before || pages > 10 {
				t.Fatalf("next %d after before %d: no progress", next, before)
			}
			before = next
		}
	}
	got, pages := searchAll("mia", "order")
	if want := []uint64{late, edit.Seq, first}; !slicesEqual(got, want) || pages != 2 {
		t.Fatalf("mia's search for order: %v in %d pages, want %v (newest first, the edit not its original, the recalled one left out) in 2 (8 rows, 4 a page)", got, pages, want)
	}
	if got, _ := searchAll("mia", "ordr"); len(got) != 0 {
		t.Fatalf("the text an edit replaced: %v", got)
	}
	if got, _ := searchAll("zed", "order"); !slicesEqual(got, []uint64{late}) {
		t.Fatalf("zed's search: %v, want only what came after he joined", got)
	}
	// A limit of one: the newest match, then on from it.
	found, next, err := node.Search(ctx, "olga", conv, actors.SearchQuery{Text: "ORDER"}, 0, 1)
	if err != nil || len(found) != 1 || found[0].Seq != late || next != late {
		t.Fatalf("limit 1: %v next %d %v", seqsOf(found), next, err)
	}
	_, _, err = node.Search(ctx, "eve", conv, actors.SearchQuery{Text: "order"}, 0, 0)
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger's search")
	_, _, err = node.Search(ctx, "mia", conv, actors.SearchQuery{Text: "  "}, 0, 0)
	wantCode(t, err, pb.Code_INVALID, "an empty search")
	_, _, err = node.Search(ctx, "mia", conv, actors.SearchQuery{Text: strings.Repeat("o", actors.MaxSearchQueryBytes+1)}, 0, 0)
	wantCode(t, err, pb.Code_TOO_LARGE, "a search one byte over")
	if _, _, err := node.Search(ctx, "mia", conv, actors.SearchQuery{Text: strings.Repeat("o", actors.MaxSearchQueryBytes)}, 0, 0); err != nil {
		t.Fatalf("a search at the limit: %v", err)
	}
}

func seqsOf(ms []*pb.Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSearchEverywhere: a search of all of a user's conversations finds
// the matches of each, in the order of their conversation list (pinned,
// then by last activity, then the archived ones) and newest first within
// each, never in a conversation they are not in; pages go on across
// conversations, also when the scan bound cuts one short, and the pages
// together hold every match once.
func TestSearchEverywhere(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxSearchScan: 5})[0]
	ctx := tctx(t)
	for _, g := range []string{"g:a", "g:b", "g:c", "g:pin"} {
		mustCreateGroup(t, node, g, "olga", "mia")
	}
	mustCreateGroup(t, node, "g:other", "mia", "ivan")
	type hit struct {
		conv string
		seq  uint64
	}
	say := func(conv, text string) hit {
		t.Helper()
		return hit{conv, mustSend(t, node, conv, "mia", text).Seq}
	}
	pin1 := say("g:pin", "the bike is blue")
	c1 := say("g:c", "a BIKE for sale")
	a1 := say("g:a", "bike?")
	say("g:a", "no match here")
	a2 := say("g:a", "yes, the bike")
	say("g:other", "bike bike bike")
	b1 := say("g:b", "bikes and more bikes")
	for i := 0; i < 6; i++ {
		say("g:b", "filler") // past the scan bound of one page
	}
	d, err := node.SendDirect(ctx, "olga", &pb.SendMessage{Sender: "mia", Body: []byte("my bike is red")})
	if err != nil {
		t.Fatal(err)
	}
	d1 := hit{actors.DirectConvID("mia", "olga"), d.Seq}
	if err := node.SetPinned(ctx, "olga", "g:pin", true); err != nil {
		t.Fatal(err)
	}
	if err := node.SetArchived(ctx, "olga", "g:c", true); err != nil {
		t.Fatal(err)
	}
	want := []hit{pin1, d1, b1, a2, a1, c1}

	for _, limit := range []int{50, 1, 2} {
		var got []hit
		var cur actors.SearchCursor
		for page := 0; ; page++ {
			if page > 30 {
				t.Fatalf("limit %d: the pages never end (%v)", limit, cur)
			}
			found, next, err := node.SearchEverywhere(ctx, "olga", actors.SearchQuery{Text: "Bike"}, cur, limit)
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			if len(found) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(found))
			}
			for _, m := range found {
				got = append(got, hit{m.Conv, m.Seq})
			}
			if next == (actors.SearchCursor{}) {
				break
			}
			cur = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: found %v, want %v", limit, got, want)
		}
	}

	// A cursor in a conversation that is not olga's ends the search.
	found, next, err := node.SearchEverywhere(ctx, "olga", actors.SearchQuery{Text: "bike"}, actors.SearchCursor{Conv: "g:other"}, 0)
	if err != nil || len(found) != 0 || next != (actors.SearchCursor{}) {
		t.Fatalf("a cursor outside her lists: %v %v %v", found, next, err)
	}
	_, _, err = node.SearchEverywhere(ctx, "olga", actors.SearchQuery{Text: " "}, actors.SearchCursor{}, 0)
	wantCode(t, err, pb.Code_INVALID, "an empty search")
	_, _, err = node.SearchEverywhere(ctx, "olga", actors.SearchQuery{Text: "bike"}, actors.SearchCursor{Conv: "bad id\x00"}, 0)
	wantCode(t, err, pb.Code_INVALID, "a malformed cursor")
}

// TestSearchEverywhereConversationBound: a request reads at most
// MaxSearchConversations conversations and goes on at the next one.
func TestSearchEverywhereConversationBound(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxSearchConversations: 2})[0]
	ctx := tctx(t)
	for _, g := range []string{"g:one", "g:two", "g:three"} { // the list: three, two, one
		mustCreateGroup(t, node, g, "olga", "mia")
		mustSend(t, node, g, "mia", "a bike in "+g)
	}
	found, next, err := node.SearchEverywhere(ctx, "olga", actors.SearchQuery{Text: "bike"}, actors.SearchCursor{}, 0)
	if err != nil || len(found) != 2 || found[0].Conv != "g:three" || found[1].Conv != "g:two" || next != (actors.SearchCursor{Conv: "g:one"}) {
		t.Fatalf("the first page: %v next %v %v; want g:three and g:two, then g:one", found, next, err)
	}
	found, next, err = node.SearchEverywhere(ctx, "olga", actors.SearchQuery{Text: "bike"}, next, 0)
	if err != nil || len(found) != 1 || found[0].Conv != "g:one" || next != (actors.SearchCursor{}) {
		t.Fatalf("the second page: %v next %v %v; want g:one, and the end", found, next, err)
	}
}
