package actors_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestMediaRules walks an upload through the actors API, as a Go caller
// would: only its uploader writes its chunks and completes it, an upload
// is attached only once complete, only by its uploader, in its
// conversation, to a new text; a member who left reads no file sent after
// they left; a file is read through its message, chunk by chunk.
func TestMediaRules(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv, other := "g:media", "g:elsewhere"
	mustCreateGroup(t, node, conv, "olga", "mia", "max")
	mustCreateGroup(t, node, other, "olga", "mia")
	size := int64(storage.MediaChunkBytes + 3)
	data := bytes.Repeat([]byte{7}, int(size))

	up, err := node.CreateMedia(ctx, "olga", conv, "homework.pdf", "application/pdf", size)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, node.PutMediaChunk(ctx, "mia", conv, up.ID, 0, data[:storage.MediaChunkBytes]), pb.Code_NOT_FOUND, "another's chunk")
	if err := node.PutMediaChunk(ctx, "olga", conv, up.ID, 0, data[:storage.MediaChunkBytes]); err != nil {
		t.Fatal(err)
	}
	attach := func(sender, conv, id string, kind pb.MessageKind, refSeq uint64) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: sender, MediaId: id, Kind: kind, RefSeq: refSeq, Body: []byte("see")})
	}
	_, err = attach("olga", conv, up.ID, pb.MessageKind_NORMAL, 0)
	wantCode(t, err, pb.Code_INVALID, "attaching an upload not complete")
	_, err = node.CompleteMedia(ctx, "olga", conv, up.ID)
	wantCode(t, err, pb.Code_INVALID, "completing with a chunk missing")
	wantCode(t, node.PutMediaChunk(ctx, "olga", conv, up.ID, 1, data[:2]), pb.Code_INVALID, "a last chunk one byte short")
	if err := node.PutMediaChunk(ctx, "olga", conv, up.ID, 1, data[storage.MediaChunkBytes:]); err != nil {
		t.Fatal(err)
	}
	_, err = node.CompleteMedia(ctx, "mia", conv, up.ID)
	wantCode(t, err, pb.Code_NOT_FOUND, "completing another's upload")
	if _, err := node.CompleteMedia(ctx, "olga", conv, up.ID); err != nil {
		t.Fatal(err)
	}
	_, err = attach("mia", conv, up.ID, pb.MessageKind_NORMAL, 0)
	wantCode(t, err, pb.Code_NOT_FOUND, "attaching another's upload")
	_, err = attach("olga", other, up.ID, pb.MessageKind_NORMAL, 0)
	wantCode(t, err, pb.Code_NOT_FOUND, "attaching an upload in another conversation")
	_, err = attach("olga", conv, up.ID, pb.MessageKind_REACTION, 1)
	wantCode(t, err, pb.Code_INVALID, "a file on a reaction")
	sent, err := attach("olga", conv, up.ID, pb.MessageKind_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = attach("olga", conv, up.ID, pb.MessageKind_NORMAL, sent.Seq)
	wantCode(t, err, pb.Code_INVALID, "a file on an edit")

	var read []byte
	for i := range 2 {
		ref, part, err := node.ReadMedia(ctx, "mia", conv, sent.Seq, i)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Name != "homework.pdf" || ref.Size != size {
			t.Fatalf("ref %+v", ref)
		}
		read = append(read, part...)
	}
	if !bytes.Equal(read, data) {
		t.Fatal("read back other bytes")
	}
	_, _, err = node.ReadMedia(ctx, "mia", conv, sent.Seq, 2)
	wantCode(t, err, pb.Code_INVALID, "a chunk past the file")
	_, _, err = node.ReadMedia(ctx, "mia", other, sent.Seq, 0)
	wantCode(t, err, pb.Code_NOT_FOUND, "the file through another conversation's seq")

	// Max leaves; a file sent after that is not his to read.
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: "max", Op: pb.MembershipChange_LEAVE, Users: []string{"max"}}); err != nil {
		t.Fatal(err)
	}
	later, err := node.CreateMedia(ctx, "olga", conv, "answers.pdf", "application/pdf", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.PutMediaChunk(ctx, "olga", conv, later.ID, 0, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "olga", conv, later.ID); err != nil {
		t.Fatal(err)
	}
	after, err := attach("olga", conv, later.ID, pb.MessageKind_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.ReadMedia(ctx, "max", conv, sent.Seq, 0); err != nil {
		t.Fatalf("a file sent while he was a member: %v", err)
	}
	_, _, err = node.ReadMedia(ctx, "max", conv, after.Seq, 0)
	wantCode(t, err, pb.Code_NOT_FOUND, "a file sent after he left")
	_, err = node.CreateMedia(ctx, "max", conv, "late.pdf", "application/pdf", 1)
	wantCode(t, err, pb.Code_NOT_MEMBER, "an upload by a member who left")
}

// TestUploadBudget: a user's uploads within an hour are bounded
// (MediaBytesPerHour), at its edge: the budget exactly is spent, one byte
// more waits (RATE_LIMITED with a retry-after); another user is not held
// back. (A budget below the file limit is raised to it:
// TestUploadBudgetFitsAFile, beside the config, since two nodes of one
// process race inside protoactor under -race.)
func TestUploadBudget(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxMediaBytes: 100, MediaBytesPerHour: 250})[0]
	ctx := tctx(t)
	mustCreateGroup(t, node, "g:up", "olga", "mia")
	for _, size := range []int64{100, 100, 50} {
		if _, err := node.CreateMedia(ctx, "olga", "g:up", "a.bin", "application/octet-stream", size); err != nil {
			t.Fatalf("an upload of %d within the budget: %v", size, err)
		}
	}
	// Bad input is refused before it could touch the budget.
	_, err := node.CreateMedia(ctx, "olga", "g:up", "a.bin", "application/octet-stream", -250)
	wantCode(t, err, pb.Code_INVALID, "a negative size")
	_, err = node.CreateMedia(ctx, "olga", "g:up", "a/b.bin", "application/octet-stream", 1)
	wantCode(t, err, pb.Code_INVALID, "a name with a path")
	_, err = node.CreateMedia(ctx, "olga", "g:up", "a.bin", "application/octet-stream", 1)
	wantCode(t, err, pb.Code_RATE_LIMITED, "one byte past the hourly budget")
	var e *actors.Error
	if !errors.As(err, &e) || e.RetryAfterMs == 0 {
		t.Fatalf("the refusal says no wait: %#v", err)
	}
	if _, err := node.CreateMedia(ctx, "mia", "g:up", "b.bin", "application/octet-stream", 100); err != nil {
		t.Fatalf("another user's upload: %v", err)
	}
}
