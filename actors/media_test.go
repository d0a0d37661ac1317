package actors_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

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

	up, err := node.CreateMedia(ctx, "olga", conv, "homework.pdf", "application/pdf", size, storage.Preview{})
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
	_, err = attach("olga", conv, up.ID, pb.MessageKind_NORMAL, 0)
	wantCode(t, err, pb.Code_INVALID, "a file attached to a second message (a recall of one would take it from both)")
	// Two sends of one upload at once (the first not yet stored when the
	// second is read): one message takes it.
	twice, err := node.CreateMedia(ctx, "olga", conv, "twice.pdf", "application/pdf", 1, storage.Preview{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.PutMediaChunk(ctx, "olga", conv, twice.ID, 0, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "olga", conv, twice.ID); err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 2)
	for range 2 {
		go func() { _, err := attach("olga", conv, twice.ID, pb.MessageKind_NORMAL, 0); results <- err }()
	}
	if ok := countNil(<-results, <-results); ok != 1 {
		t.Fatalf("two sends of one upload at once: %d stored, want 1", ok)
	}

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
	later, err := node.CreateMedia(ctx, "olga", conv, "answers.pdf", "application/pdf", 1, storage.Preview{})
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
	_, err = node.CreateMedia(ctx, "max", conv, "late.pdf", "application/pdf", 1, storage.Preview{})
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
		if _, err := node.CreateMedia(ctx, "olga", "g:up", "a.bin", "application/octet-stream", size, storage.Preview{}); err != nil {
			t.Fatalf("an upload of %d within the budget: %v", size, err)
		}
	}
	// Bad input is refused before it could touch the budget.
	_, err := node.CreateMedia(ctx, "olga", "g:up", "a.bin", "application/octet-stream", -250, storage.Preview{})
	wantCode(t, err, pb.Code_INVALID, "a negative size")
	_, err = node.CreateMedia(ctx, "olga", "g:up", "a/b.bin", "application/octet-stream", 1, storage.Preview{})
	wantCode(t, err, pb.Code_INVALID, "a name with a path")
	_, err = node.CreateMedia(ctx, "olga", "g:up", "a.bin", "application/octet-stream", 1, storage.Preview{})
	wantCode(t, err, pb.Code_RATE_LIMITED, "one byte past the hourly budget")
	var e *actors.Error
	if !errors.As(err, &e) || e.RetryAfterMs == 0 {
		t.Fatalf("the refusal says no wait: %#v", err)
	}
	if _, err := node.CreateMedia(ctx, "mia", "g:up", "b.bin", "application/octet-stream", 100, storage.Preview{}); err != nil {
		t.Fatalf("another user's upload: %v", err)
	}
}

// TestFirstMessageIsAFile: a buyer's first message to a seller may be a
// photo: the upload goes into their direct conversation before it exists,
// and send{to} starts it. Nobody else uploads there, and an upload into a
// group that does not exist is refused as before.
func TestFirstMessageIsAFile(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	_, err := node.CreateMedia(ctx, "stranger", conv, "x.jpg", "image/jpeg", 1, storage.Preview{})
	wantCode(t, err, pb.Code_NOT_MEMBER, "an upload into two others' direct conversation")
	_, err = node.CreateMedia(ctx, "buyer", "g:nosuch", "x.jpg", "image/jpeg", 1, storage.Preview{})
	wantCode(t, err, pb.Code_NOT_MEMBER, "an upload into a group that does not exist")
	up, err := node.CreateMedia(ctx, "buyer", conv, "bike.jpg", "image/jpeg", 4, storage.Preview{})
	if err != nil {
		t.Fatalf("an upload into a direct conversation not started: %v", err)
	}
	if err := node.PutMediaChunk(ctx, "buyer", conv, up.ID, 0, []byte("bike")); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "buyer", conv, up.ID); err != nil {
		t.Fatal(err)
	}
	sent, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", MediaId: up.ID, Body: []byte("still for sale?")})
	if err != nil {
		t.Fatalf("a first message carrying the file: %v", err)
	}
	if _, data, err := node.ReadMedia(ctx, "seller", conv, sent.Seq, 0); err != nil || string(data) != "bike" {
		t.Fatalf("the seller reads %q (%v)", data, err)
	}
}

// TestAbandonedUploadsAreSwept: an upload no message took within
// MediaUploadTTL is deleted by the sweep (complete or not), one a message
// carries is kept (and taken off the sweep's list), an expired one cannot
// be sent, and an upload claimed by a send whose message was never stored
// can still be sent, or, given up, is swept.
func TestAbandonedUploadsAreSwept(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{MediaUploadTTL: time.Hour})[0]
	ctx := tctx(t)
	conv := "g:sweep"
	mustCreateGroup(t, node, conv, "olga", "mia")
	upload := func(complete bool) string {
		t.Helper()
		m, err := node.CreateMedia(ctx, "olga", conv, "photo.jpg", "image/jpeg", 3, storage.Preview{})
		if err != nil {
			t.Fatal(err)
		}
		if complete {
			if err := node.PutMediaChunk(ctx, "olga", conv, m.ID, 0, []byte("jpg")); err != nil {
				t.Fatal(err)
			}
			if _, err := node.CompleteMedia(ctx, "olga", conv, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		return m.ID
	}
	send := func(id string) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", MediaId: id})
	}
	sentID, abandoned, unfinished, claimed, givenUp := upload(true), upload(true), upload(false), upload(true), upload(true)
	sent, err := send(sentID)
	if err != nil {
		t.Fatal(err)
	}
	// A send that claimed it but whose message never got stored (its seq
	// holds nothing): the upload can be sent still.
	if err := store.AttachMedia(ctx, conv, claimed, 999); err != nil {
		t.Fatal(err)
	}
	if _, err := send(claimed); err != nil {
		t.Fatalf("an upload claimed by a message never stored: %v", err)
	}
	// The same, but the user gave up: nobody sends it again, and its seq
	// holds another message (with another file).
	if err := store.AttachMedia(ctx, conv, givenUp, sent.Seq); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	if n, err := actors.SweepUploadsForTest(ctx, node.Runtime, now); err != nil || n != 0 {
		t.Fatalf("a sweep before the TTL deleted %d (%v)", n, err)
	}
	if n, err := actors.SweepUploadsForTest(ctx, node.Runtime, now.Add(3*time.Hour)); err != nil || n != 3 {
		t.Fatalf("a sweep past the TTL deleted %d, want the 3 abandoned (%v)", n, err)
	}
	for _, id := range []string{abandoned, unfinished, givenUp} {
		if _, err := store.GetMedia(ctx, conv, id); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("abandoned upload %s: %v, want it deleted", id, err)
		}
	}
	for _, id := range []string{sentID, claimed} {
		if _, err := store.GetMedia(ctx, conv, id); err != nil {
			t.Fatalf("sent upload %s: %v, want it kept", id, err)
		}
	}
	for _, hour := range []time.Time{now.Add(-time.Hour), now} { // the uploads' hour, were one to end during the test
		if listed, err := store.UnsettledMedia(ctx, storage.MediaHour(hour), 100); err != nil || len(listed) != 0 {
			t.Fatalf("after the sweep %v still lists %+v (%v), want the sent uploads settled", storage.MediaHour(hour), listed, err)
		}
	}
	if _, data, err := node.ReadMedia(ctx, "mia", conv, sent.Seq, 0); err != nil || string(data) != "jpg" {
		t.Fatalf("the sent file after the sweep: %q %v", data, err)
	}
	_, err = send(abandoned)
	wantCode(t, err, pb.Code_NOT_FOUND, "sending a swept upload")
	if n, err := actors.SweepUploadsForTest(ctx, node.Runtime, now.Add(3*time.Hour)); err != nil || n != 0 {
		t.Fatalf("the same sweep again deleted %d (%v)", n, err)
	}

	// Made just over the TTL ago but not swept yet: not sent; just under
	// it: sent.
	stored := func(id string, age time.Duration) string {
		t.Helper()
		m := storage.Media{ConvID: conv, ID: id, Uploader: "olga", Name: "old.jpg", MIME: "image/jpeg", Size: 1, CreatedAt: time.Now().Add(-age)}
		if err := store.CreateMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := store.PutMediaChunk(ctx, conv, m.ID, 0, []byte{1}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CompleteMedia(ctx, conv, m.ID); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	_, err = send(stored("0123456789abcdef0123456789abcdef", time.Hour+time.Second))
	wantCode(t, err, pb.Code_INVALID, "sending an upload older than the TTL")
	if _, err := send(stored("0123456789abcdef0123456789abcde0", time.Hour-time.Minute)); err != nil {
		t.Fatalf("sending an upload just younger than the TTL: %v", err)
	}
}

func countNil(errs ...error) (n int) {
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// TestMediaPreview: an upload's preview (its size in pixels, a tiny image)
// travels with the message that carries it, in history and in the file's
// reference; the preview image's limit holds at its edge.
func TestMediaPreview(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxMediaThumbBytes: 100})[0]
	ctx := tctx(t)
	conv := "g:photos"
	mustCreateGroup(t, node, conv, "olga", "mia")
	thumb := bytes.Repeat([]byte{0xd8}, 100) // the limit exactly
	_, err := node.CreateMedia(ctx, "olga", conv, "bike.jpg", "image/jpeg", 1, storage.Preview{Thumb: append(thumb, 0)})
	wantCode(t, err, pb.Code_TOO_LARGE, "a preview image one byte over the limit")
	_, err = node.CreateMedia(ctx, "olga", conv, "bike.jpg", "image/jpeg", 1, storage.Preview{Width: storage.MaxPreviewPixels + 1, Height: 1})
	wantCode(t, err, pb.Code_INVALID, "a picture wider than any")
	if _, err := node.CreateMedia(ctx, "olga", conv, "wide.jpg", "image/jpeg", 1, storage.Preview{Width: storage.MaxPreviewPixels, Height: storage.MaxPreviewPixels}); err != nil {
		t.Fatalf("a picture at the widest and tallest: %v", err)
	}
	preview := storage.Preview{Width: 4032, Height: 3024, Thumb: thumb}
	up, err := node.CreateMedia(ctx, "olga", conv, "bike.jpg", "image/jpeg", 1, preview)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.PutMediaChunk(ctx, "olga", conv, up.ID, 0, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "olga", conv, up.ID); err != nil {
		t.Fatal(err)
	}
	sent, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", MediaId: up.ID})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "mia", FromSeq: sent.Seq, ToSeq: sent.Seq, Limit: 1})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("history: %v %v", msgs, err)
	}
	if m := msgs[0].Media; m.GetWidth() != 4032 || m.GetHeight() != 3024 || !bytes.Equal(m.GetThumb(), thumb) {
		t.Fatalf("the message's file %+v, want the preview", m)
	}
	ref, _, err := node.ReadMedia(ctx, "mia", conv, sent.Seq, 0)
	if err != nil || ref.Preview.Width != 4032 || !bytes.Equal(ref.Preview.Thumb, thumb) {
		t.Fatalf("the file's reference %+v (%v)", ref, err)
	}
	// A conversation list (sync, list_conversations) names the file and
	// its size, not its preview image: a sync page of photos stays small.
	eventually(t, func() error { // the delivery reaches mia's grain after the send's answer
		list, err := node.ListConversations(ctx, "mia", "", 10)
		if err != nil || len(list.Conversations) != 1 {
			return fmt.Errorf("mia's conversations: %v (%v)", list, err)
		}
		if last := list.Conversations[0].LastMessage; last.GetSeq() != sent.Seq || last.GetMedia().GetWidth() != 4032 || len(last.GetMedia().GetThumb()) != 0 {
			return fmt.Errorf("the list's last message %v, want the file without its preview image", last)
		}
		return nil
	})
}
