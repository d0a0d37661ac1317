package actors_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"google.golang.org/protobuf/proto"
)

// titleIn is the title user's conversation list shows for conv.
func titleIn(t *testing.T, node *boot.Node, user, conv string) (string, error) {
	t.Helper()
	res, err := node.ListConversations(tctx(t), user, "", 0)
	if err != nil {
		return "", err
	}
	for _, c := range res.Conversations {
		if c.Conv == conv {
			return c.Title, nil
		}
	}
	return "", fmt.Errorf("%s not in %s's list", conv, user)
}

// wantTitle waits until user's list shows title for conv (a rename
// reaches the lists by a notice, after its answer).
func wantTitle(t *testing.T, node *boot.Node, user, conv, title string) {
	t.Helper()
	eventually(t, func() error {
		got, err := titleIn(t, node, user, conv)
		if err == nil && got != title {
			err = fmt.Errorf("%s's list names %s %q, want %q", user, conv, got, title)
		}
		return err
	})
}

// TestGroupProfile: a group's name shows in every member's list, from its
// creation and after a rename (also in a read fan-out group, and after
// a restart); owners and admins rename it and describe it,
// plain members read both; each change is a system message and a
// membership push with the name; the limits hold at their edges.
func TestGroupProfile(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{FanoutThreshold: 3}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:class"
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "teacher", Title: "7B",
		Members: []*pb.Member{{User: "aide", Role: pb.Role_ADMIN}, {User: "pupil"}}}); err != nil {
		t.Fatal(err)
	}
	wantTitle(t, node, "pupil", g, "7B")
	// A notification's subtitle reads the same name (a direct
	// conversation has none).
	if title, err := node.GroupTitle(ctx, g); err != nil || title != "7B" {
		t.Fatalf("the group's title for a notification: %q, %v", title, err)
	}
	if title, err := node.GroupTitle(ctx, actors.DirectConvID("a", "b")); err != nil || title != "" {
		t.Fatalf("a direct conversation's title for a notification: %q, %v", title, err)
	}
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "pupil"}); err != nil || r.Title != "7B" || r.Description != "" {
		t.Fatalf("read by a member: %v, %v", r, err)
	}
	set := func(actor string, title, description *string) (*pb.GroupSettingsResponse, error) {
		return node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: actor, Title: title, Description: description})
	}
	if _, err := set("pupil", proto.String("best class"), nil); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a plain member renames: %v, want FORBIDDEN", err)
	}

	pupil, _ := connect(t, node, "pupil", "phone")
	const renamed, about = "7B — Biology", "Homework and questions.\nNo spam, please."
	r, err := set("aide", proto.String(renamed), proto.String(about))
	if err != nil || r.Title != renamed || r.Description != about || r.Seq == 0 {
		t.Fatalf("rename: %v, %v", r, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "pupil", FromSeq: r.Seq, ToSeq: r.Seq})
	var body struct{ Op, Actor, Title, Description string }
	if err != nil || len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_SYSTEM || json.Unmarshal(msgs[0].Body, &body) != nil ||
		body.Op != "profile" || body.Actor != "aide" || body.Title != renamed || body.Description != about {
		t.Fatalf("the rename's system message: %v, %v", msgs, err)
	}
	wantTitle(t, node, "pupil", g, renamed)
	wantTitle(t, node, "teacher", g, renamed)
	if title, err := node.GroupTitle(ctx, g); err != nil || title != renamed {
		t.Fatalf("the renamed group's title for a notification: %q, %v", title, err)
	}
	eventually(t, func() error {
		for _, p := range pupil.pushesNow() {
			if m := p.GetMembership(); m != nil && m.Conv == g && m.Title == renamed {
				return nil
			}
		}
		return errors.New("no membership push with the new name")
	})
	if r, err := set("teacher", proto.String(renamed), proto.String(about)); err != nil || r.Seq != 0 {
		t.Fatalf("setting the same name: %v, %v; want no system message", r, err)
	}

	// The limits, at their edges.
	for _, c := range []struct {
		title, description *string
		ok                 bool
	}{
		{proto.String(strings.Repeat("x", 256)), nil, true},
		{proto.String(strings.Repeat("x", 257)), nil, false},
		{proto.String("two\nlines"), nil, false},
		{nil, proto.String(strings.Repeat("y", 1024)), true},
		{nil, proto.String(strings.Repeat("y", 1025)), false},
		{nil, proto.String("a bell \a"), false},
		{proto.String(""), nil, true}, // no name: clients show the members
	} {
		_, err := set("teacher", c.title, c.description)
		if (err == nil) != c.ok || err != nil && actors.CodeOf(err) != pb.Code_INVALID {
			t.Errorf("title %q, description %q: %v, want ok %v (else INVALID)", deref(c.title), deref(c.description), err, c.ok)
		}
	}
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:long", Kind: pb.ConvKind_GROUP, Creator: "teacher",
		Title: strings.Repeat("x", 257)}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a group created with a 257-byte name: %v, want INVALID", err)
	}
	if _, err := set("teacher", proto.String(renamed), proto.String(about)); err != nil {
		t.Fatal(err)
	}

	// A read fan-out group (above FanoutThreshold 3): the rename still
	// reaches every member's list.
	const big = "g:school"
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: big, Kind: pb.ConvKind_GROUP, Creator: "head", Title: "School",
		Members: []*pb.Member{{User: "t1"}, {User: "t2"}, {User: "t3"}, {User: "t4"}}}); err != nil {
		t.Fatal(err)
	}
	wantTitle(t, node, "t4", big, "School")
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: big, Actor: "head", Title: proto.String("Our school")}); err != nil {
		t.Fatal(err)
	}
	wantTitle(t, node, "t4", big, "Our school")

	// Direct conversations have no name or description of their own.
	if _, err := node.SendDirect(ctx, "pupil", &pb.SendMessage{Sender: "teacher", Body: []byte("see me")}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: actors.DirectConvID("pupil", "teacher"), Actor: "teacher", Title: proto.String("us")}); err == nil {
		t.Fatal("a direct conversation renamed")
	}

	// After a restart, the lists read the name again.
	pupil.sess.Close()
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	wantTitle(t, node, "pupil", g, renamed)
	wantTitle(t, node, "t3", big, "Our school")
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "pupil"}); err != nil || r.Title != renamed || r.Description != about {
		t.Fatalf("read after a restart: %v, %v", r, err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "(unset)"
	}
	return *s
}
