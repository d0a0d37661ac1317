package actors_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A conversation's meta: the operator's backend puts a listing's title
// and price beside the chat about it; both members' lists carry it (and a
// member who joins a group later), it survives a restart, an empty one
// takes it away, and it is held to a message's meta's bounds. A service
// conversation's is the desk's.
func TestConversationMeta(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxMetaBytes: 32}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Topic: "listing-7", Body: []byte("still there?")}); err != nil {
		t.Fatal(err)
	}
	conv := "d:buyer:seller:listing-7"
	listed := func(user, conv string) (map[string]string, error) {
		c, err := summaryOf(ctx, node, user, conv)
		return c.GetMeta(), err
	}
	if got, err := node.ConversationMetaAsOperator(ctx, conv); err != nil || got != nil {
		t.Fatalf("before any: %v %v", got, err)
	}
	lamp := map[string]string{"title": "Lamp", "price": "40 EUR"}
	if got, err := node.SetConversationMetaAsOperator(ctx, conv, lamp); err != nil || !maps.Equal(got, lamp) {
		t.Fatalf("set: %v %v", got, err)
	}
	for _, user := range []string{"buyer", "seller"} {
		eventually(t, func() error {
			if got, err := listed(user, conv); err != nil || !maps.Equal(got, lamp) {
				return fmt.Errorf("%s's list: %v %v", user, got, err)
			}
			return nil
		})
	}
	edge := map[string]string{"k": strings.Repeat("v", 31)}
	if got, err := node.SetConversationMetaAsOperator(ctx, conv, edge); err != nil || !maps.Equal(got, edge) {
		t.Fatalf("a meta of exactly the bound: %v %v", got, err)
	}
	if _, err := node.SetConversationMetaAsOperator(ctx, conv, lamp); err != nil {
		t.Fatal(err)
	}
	_, err := node.SetConversationMetaAsOperator(ctx, conv, map[string]string{"k": strings.Repeat("v", 32)})
	wantCode(t, err, pb.Code_TOO_LARGE, "one byte past the bound")
	_, err = node.SetConversationMetaAsOperator(ctx, conv, map[string]string{"a b": "c"})
	wantCode(t, err, pb.Code_INVALID, "a key with a space")
	_, err = node.SetConversationMetaAsOperator(ctx, "d:buyer:nobody", lamp)
	wantCode(t, err, pb.Code_NOT_FOUND, "a conversation never written")

	// A restart keeps it; a later member of a group gets the group's.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if got, err := listed("seller", conv); err != nil || !maps.Equal(got, lamp) {
		t.Fatalf("the list after a restart: %v %v", got, err)
	}
	mustCreateGroup(t, node, "g:bio", "teacher", "pupil")
	course := map[string]string{"course": "BIO-7"}
	if _, err := node.SetConversationMetaAsOperator(ctx, "g:bio", course); err != nil {
		t.Fatal(err)
	}
	if _, err := membership(node, t, "g:bio", "teacher", pb.MembershipChange_ADD, pb.Role_MEMBER, "late"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if got, err := listed("late", "g:bio"); err != nil || !maps.Equal(got, course) {
			return fmt.Errorf("the later member's list: %v %v", got, err)
		}
		return nil
	})
	if info, err := node.ConversationAsOperator(ctx, "g:bio"); err != nil || !maps.Equal(info.Settings.Meta, course) {
		t.Fatalf("the group's record: %v %v", info.Settings, err)
	}

	// Empty takes it away, everywhere.
	if got, err := node.SetConversationMetaAsOperator(ctx, conv, map[string]string{}); err != nil || got != nil {
		t.Fatalf("cleared: %v %v", got, err)
	}
	eventually(t, func() error {
		if got, err := listed("buyer", conv); err != nil || got != nil {
			return fmt.Errorf("the buyer's list after the clear: %v %v", got, err)
		}
		return nil
	})
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "s:cars:c1:1", Kind: pb.ConvKind_SERVICE,
		Members: []*pb.Member{{User: "c1", Role: pb.Role_CUSTOMER}}}); err != nil {
		t.Fatal(err)
	}
	_, err = node.SetConversationMetaAsOperator(ctx, "s:cars:c1:1", course)
	wantCode(t, err, pb.Code_FORBIDDEN, "a service conversation's meta")
}
