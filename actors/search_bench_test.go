package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// BenchmarkSearchEverywhere: one page of a search of all of a user's
// conversations (100 groups of 50 messages each, one match in every
// tenth), on Pebble: what a request costs the node when it reads its
// whole scan bound (5,000 messages across the 100 conversations).
func BenchmarkSearchEverywhere(b *testing.B) {
	node := startCluster(b, 1, openStore(b), actors.Config{SendRate: 1e9, SendBurst: 1 << 30})[0]
	ctx := tctx(b)
	const convs, perConv = 100, 50
	for i := range convs {
		g := fmt.Sprintf("g:search-%d", i)
		if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "ann", Members: []*pb.Member{{User: "bob"}}}); err != nil && actors.CodeOf(err) != pb.Code_EXISTS {
			b.Fatal(err)
		}
		for j := range perConv {
			text := fmt.Sprintf("message %d of conversation %d about the weekend", j, i)
			if i%10 == 0 && j == perConv/2 {
				text = "the bike is still for sale"
			}
			if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "bob", Body: []byte(text)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		found, next, err := node.SearchEverywhere(ctx, "ann", actors.SearchQuery{Text: "BIKE"}, actors.SearchCursor{}, 0)
		if err != nil || len(found) != convs/10 || next != (actors.SearchCursor{}) {
			b.Fatalf("found %d, next %v, %v", len(found), next, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(convs*perConv), "µs/message-read")
}

// BenchmarkSearchEverywhereManyConversations: a user in 2,000
// conversations searches for a word of their latest one, one match a
// page: what walking the user's lists costs a page that reads little.
func BenchmarkSearchEverywhereManyConversations(b *testing.B) {
	node := startCluster(b, 1, openStore(b), actors.Config{SendRate: 1e9, SendBurst: 1 << 30})[0]
	ctx := tctx(b)
	const convs = 2000
	for i := range convs {
		g := fmt.Sprintf("g:many-%d", i)
		if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "ann", Members: []*pb.Member{{User: "bob"}}}); err != nil && actors.CodeOf(err) != pb.Code_EXISTS {
			b.Fatal(err)
		}
		text := fmt.Sprintf("conversation %d", i)
		if i == convs-1 {
			text = "the bike is still for sale"
		}
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "bob", Body: []byte(text)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		found, _, err := node.SearchEverywhere(ctx, "ann", actors.SearchQuery{Text: "BIKE"}, actors.SearchCursor{}, 1)
		if err != nil || len(found) != 1 {
			b.Fatalf("found %d, %v", len(found), err)
		}
	}
}
