package actors_test

import (
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestSearchFilters: a search by filters alone lists a class's shared
// files, one member's messages and the replies to one message (a thread),
// each message with its newest text and never an edit itself; words and
// filters combine; a thread stops at its message; bad filters are refused.
func TestSearchFilters(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "ann", "bob")
	send := func(sender, text string, replyTo uint64, media string) uint64 {
		t.Helper()
		r, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: sender, Body: []byte(text), ReplyTo: replyTo, MediaId: media})
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	up, err := node.CreateMedia(ctx, "teacher", g, "homework.pdf", "application/pdf", 2, storage.Preview{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.PutMediaChunk(ctx, "teacher", g, up.ID, 0, []byte("hw")); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "teacher", g, up.ID); err != nil {
		t.Fatal(err)
	}
	question := send("teacher", "Who has read chapter 3?", 0, "")
	file := send("teacher", "this week's homework", 0, up.ID)
	annReply := send("ann", "I have", question, "")
	bobReply := send("bob", "not yet", question, "")
	send("bob", "when is it due?", 0, "")
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "bob", RefSeq: bobReply, Body: []byte("half of it")}); err != nil {
		t.Fatal(err)
	}
	find := func(q actors.SearchQuery, before uint64) ([]uint64, []string, uint64) {
		t.Helper()
		found, next, err := node.Search(ctx, "ann", g, q, before, 0)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		var seqs []uint64
		var texts []string
		for _, m := range found {
			seqs, texts = append(seqs, m.Seq), append(texts, string(m.Body))
		}
		return seqs, texts, next
	}

	if seqs, _, _ := find(actors.SearchQuery{Files: true}, 0); !slices.Equal(seqs, []uint64{file}) {
		t.Fatalf("the class's files: %v, want [%d]", seqs, file)
	}
	seqs, texts, next := find(actors.SearchQuery{ReplyTo: question}, 0)
	if !slices.Equal(seqs, []uint64{bobReply, annReply}) || texts[0] != "half of it" || next != 0 {
		t.Fatalf("the thread of %d: %v %q (next %d), want [%d %d] with bob's edited text, to its end", question, seqs, texts, next, bobReply, annReply)
	}
	if seqs, _, _ := find(actors.SearchQuery{Sender: "bob"}, 0); len(seqs) != 2 || seqs[1] != bobReply {
		t.Fatalf("bob's messages: %v, want two, not his edit", seqs)
	}
	if seqs, _, _ := find(actors.SearchQuery{Text: "HALF", Sender: "bob"}, 0); len(seqs) != 1 || seqs[0] == bobReply {
		t.Fatalf("bob's words 'half': %v, want his edit alone (words match edits as themselves)", seqs)
	}
	if seqs, _, _ := find(actors.SearchQuery{Text: "homework", Sender: "ann"}, 0); len(seqs) != 0 {
		t.Fatalf("ann's 'homework': %v, want none", seqs)
	}
	if seqs, _, _ := find(actors.SearchQuery{ReplyTo: question}, bobReply); !slices.Equal(seqs, []uint64{annReply}) {
		t.Fatalf("the thread before %d: %v, want [%d]", bobReply, seqs, annReply)
	}

	for _, c := range []struct {
		q    actors.SearchQuery
		conv string
	}{
		{actors.SearchQuery{}, g},
		{actors.SearchQuery{Sender: "bad\x00id"}, g},
		{actors.SearchQuery{ReplyTo: question}, ""},
	} {
		var err error
		if c.conv == "" {
			_, _, err = node.SearchEverywhere(ctx, "ann", c.q, actors.SearchCursor{}, 0)
		} else {
			_, _, err = node.Search(ctx, "ann", c.conv, c.q, 0, 0)
		}
		if actors.CodeOf(err) != pb.Code_INVALID {
			t.Fatalf("search %+v in %q: %v, want INVALID", c.q, c.conv, err)
		}
	}
	found, _, err := node.SearchEverywhere(ctx, "ann", actors.SearchQuery{Files: true}, actors.SearchCursor{}, 0)
	if err != nil || len(found) != 1 || found[0].Seq != file {
		t.Fatalf("ann's files everywhere: %d found, %v; want the homework", len(found), err)
	}

	// Mentions: by name, as the author a group reply answers, or everyone;
	// never one's own "@all".
	named, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "teacher", Body: []byte("@ann see me"), Mentions: []string{"ann"}})
	if err != nil {
		t.Fatal(err)
	}
	answered := send("teacher", "good", annReply, "")
	all, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "teacher", Body: []byte("@all no class"), Mentions: []string{storage.MentionAll}})
	if err != nil {
		t.Fatal(err)
	}
	if seqs, _, _ := find(actors.SearchQuery{Mentions: true}, 0); !slices.Equal(seqs, []uint64{all.Seq, answered, named.Seq}) {
		t.Fatalf("ann's mentions: %v, want [%d %d %d]", seqs, all.Seq, answered, named.Seq)
	}
	mine, _, err := node.SearchEverywhere(ctx, "teacher", actors.SearchQuery{Mentions: true}, actors.SearchCursor{}, 0)
	if err != nil || len(mine) != 2 || mine[0].Seq != bobReply || mine[1].Seq != annReply {
		t.Fatalf("the teacher's mentions everywhere: %v %v, want the two replies to the question (not the teacher's own @all)", mine, err)
	}
}
