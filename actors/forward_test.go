package actors_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// TestForward: a member forwards a text (as its sender last edited it)
// to a user not written to yet and a file (several chunks, its preview)
// into another group; each copy is the forwarder's message labelled
// forwarded and naming nothing of where it came from, the file a new
// upload its readers read byte for byte. A resend is answered with the
// first copy and leaves no second file. What may not be forwarded, or
// not by whom, is refused with its code, and nobody labels a message
// forwarded by sending it.
func TestForward(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	const g, h = "g:market", "g:friends"
	mustCreateGroup(t, node, g, "seller", "buyer")
	mustCreateGroup(t, node, h, "buyer", "partner")

	// A text, edited by its sender, forwarded to a user not written to yet.
	offer := mustSend(t, node, g, "seller", "bike, 100")
	if _, err := edit(t, node, g, "seller", offer.Seq, "bike, 90"); err != nil {
		t.Fatal(err)
	}
	r, err := node.SendDirect(ctx, "partner", &pb.SendMessage{Sender: "buyer", ClientMsgId: "f1", ForwardConv: g, ForwardSeq: offer.Seq})
	if err != nil || string(r.StoredBody) != "bike, 90" || r.Media != nil {
		t.Fatalf("forwarding the edited text: %v, %v", r, err)
	}
	direct := actors.DirectConvID("buyer", "partner")
	got := readOne(t, node, direct, "partner", r.Seq)
	if got.Sender != "buyer" || !got.Forwarded || got.ForwardHops != 1 || string(got.Body) != "bike, 90" || got.ReplyTo != 0 || got.Kind != pb.MessageKind_NORMAL {
		t.Fatalf("the partner reads %v", got)
	}
	// The partner forwards the copy on: a copy of a copy counts two.
	onward, err := node.Send(ctx, &pb.SendMessage{Conv: h, Sender: "partner", ClientMsgId: "onward", ForwardConv: direct, ForwardSeq: r.Seq})
	if err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, node, h, "buyer", onward.Seq); !got.Forwarded || got.ForwardHops != 2 {
		t.Fatalf("a copy of a copy: %v", got)
	}

	// A file of three chunks with its preview, forwarded into h.
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*storage.MediaChunkBytes+100)/16)
	m, err := node.CreateMedia(ctx, "seller", g, "bike.jpg", "image/jpeg", int64(len(data)), storage.Preview{Width: 640, Height: 480, Thumb: []byte("thumb")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i*storage.MediaChunkBytes < len(data); i++ {
		if err := node.PutMediaChunk(ctx, "seller", g, m.ID, i, data[i*storage.MediaChunkBytes:min(len(data), (i+1)*storage.MediaChunkBytes)]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.CompleteMedia(ctx, "seller", g, m.ID); err != nil {
		t.Fatal(err)
	}
	photo, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "seller", Body: []byte("the bike"), MediaId: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	fwd := func(id string) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: h, Sender: "buyer", ClientMsgId: id, ForwardConv: g, ForwardSeq: photo.Seq})
	}
	r, err = fwd("f2")
	if err != nil || string(r.StoredBody) != "the bike" || r.Media.GetId() == "" || r.Media.Id == m.ID || r.Media.Size != int64(len(data)) ||
		r.Media.Name != "bike.jpg" || r.Media.Width != 640 || string(r.Media.Thumb) != "thumb" {
		t.Fatalf("forwarding the file: %v, %v", r, err)
	}
	got = readOne(t, node, h, "partner", r.Seq)
	if !got.Forwarded || got.Media.GetId() != r.Media.Id {
		t.Fatalf("the partner reads %v", got)
	}
	var read []byte
	for i := 0; i*storage.MediaChunkBytes < len(data); i++ {
		_, chunk, err := node.ReadMedia(ctx, "partner", h, r.Seq, i)
		if err != nil {
			t.Fatalf("the partner reads chunk %d: %v", i, err)
		}
		read = append(read, chunk...)
	}
	if !bytes.Equal(read, data) {
		t.Fatalf("the copy holds %d bytes unlike the file's %d", len(read), len(data))
	}

	// A resend: the first copy's answer, and no second copy kept.
	again, err := fwd("f2")
	if err != nil || !again.Duplicate || again.Seq != r.Seq || again.Media.GetId() != r.Media.Id {
		t.Fatalf("the resend: %v, %v; want the first copy %v", again, err, r)
	}
	for _, hour := range []time.Time{time.Now(), time.Now().Add(-time.Hour)} {
		ms, err := store.UnsettledMedia(ctx, hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ms {
			if u.ConvID == h && u.ID != r.Media.Id {
				t.Fatalf("the resend left a second copy %s in %s", u.ID, h)
			}
		}
	}

	// What is not forwarded.
	poll, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "seller", Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"When?","options":["today","tomorrow"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	gone := mustSend(t, node, g, "seller", "oops")
	recallEvent, err := node.Recall(ctx, g, "seller", gone.Seq)
	if err != nil {
		t.Fatal(err)
	}
	edits := readOne(t, node, g, "buyer", offer.Seq+1)
	mustCreateGroup(t, node, "g:other", "stranger", "seller")
	added, err := membership(node, t, g, "seller", pb.MembershipChange_ADD, pb.Role_MEMBER, "friend")
	if err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct {
		req  *pb.SendMessage
		want pb.Code
	}{
		"a stranger's forward":              {&pb.SendMessage{Conv: h, Sender: "partner", ForwardConv: g, ForwardSeq: offer.Seq}, pb.Code_NOT_MEMBER},
		"into a conversation one is not in": {&pb.SendMessage{Conv: "g:other", Sender: "buyer", ForwardConv: g, ForwardSeq: offer.Seq}, pb.Code_NOT_MEMBER},
		"a recalled message":                {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: gone.Seq}, pb.Code_NOT_FOUND},
		"a message not there":               {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: 9999}, pb.Code_NOT_FOUND},
		"a poll":                            {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: poll.Seq}, pb.Code_INVALID},
		"an edit":                           {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: edits.Seq}, pb.Code_INVALID},
		"a recall event":                    {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: recallEvent}, pb.Code_INVALID},
		"a system message":                  {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: added}, pb.Code_INVALID},
		"no seq":                            {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g}, pb.Code_INVALID},
		"no conversation":                   {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardSeq: offer.Seq}, pb.Code_INVALID},
		"a body of its own":                 {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: offer.Seq, Body: []byte("look")}, pb.Code_INVALID},
		"a reply":                           {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: g, ForwardSeq: offer.Seq, ReplyTo: 1}, pb.Code_INVALID},
		"a malformed source":                {&pb.SendMessage{Conv: h, Sender: "buyer", ForwardConv: "nowhere", ForwardSeq: offer.Seq}, pb.Code_INVALID},
	} {
		if _, err := node.Send(ctx, c.req); actors.CodeOf(err) != c.want {
			t.Errorf("%s: %v, want %v", what, err, c.want)
		}
	}
	if edits.RefSeq != offer.Seq {
		t.Fatalf("seq %d is %v, not the edit", offer.Seq+1, edits)
	}

	// A plain send does not get the label.
	plain, err := node.Send(ctx, &pb.SendMessage{Conv: h, Sender: "buyer", Body: []byte("mine"), Forwarded: true})
	if err != nil {
		t.Fatal(err)
	}
	if m := readOne(t, node, h, "partner", plain.Seq); m.Forwarded {
		t.Fatalf("a send that says forwarded is stored forwarded: %v", m)
	}
}

// TestForwardCountsAgainstUploads: a forwarded file is a new upload of
// the forwarder's, within their hourly allowance.
func TestForwardCountsAgainstUploads(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxMediaBytes: 1000, MediaBytesPerHour: 1000})[0]
	ctx := tctx(t)
	const g = "g:uploads"
	mustCreateGroup(t, node, g, "a", "b")
	data := bytes.Repeat([]byte{1}, 600)
	m, err := node.CreateMedia(ctx, "a", g, "f.bin", "application/octet-stream", int64(len(data)), storage.Preview{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.PutMediaChunk(ctx, "a", g, m.ID, 0, data); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "a", g, m.ID); err != nil {
		t.Fatal(err)
	}
	f, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "a", MediaId: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "b", ForwardConv: g, ForwardSeq: f.Seq}); err != nil {
		t.Fatalf("b's first forward of 600 bytes within 1000: %v", err)
	}
	_, err = node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "b", ForwardConv: g, ForwardSeq: f.Seq})
	if code := actors.CodeOf(err); code != pb.Code_RATE_LIMITED {
		t.Fatalf("b's second forward, 1200 bytes within the hour: %v, want RATE_LIMITED", err)
	}
}

// readOne reads message seq of conv as user.
func readOne(t testing.TB, node *boot.Node, conv, user string, seq uint64) *pb.Message {
	t.Helper()
	msgs, err := node.History(tctx(t), &pb.GetHistory{Conv: conv, User: user, FromSeq: seq, ToSeq: seq, Limit: 1})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%s reads %d of %s: %v, %v", user, seq, conv, msgs, err)
	}
	return msgs[0]
}

// A node's bound on chain letters: a copy that many forwards from its
// original goes no further; the copies before it still go.
func TestForwardHopsBound(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxForwardHops: 2})[0]
	ctx := tctx(t)
	for _, g := range []string{"g:a", "g:b", "g:c", "g:d"} {
		mustCreateGroup(t, node, g, "relay")
	}
	from, seq := "g:a", mustSend(t, node, "g:a", "relay", "send this to ten friends").Seq
	for i, to := range []string{"g:b", "g:c"} {
		r, err := node.Send(ctx, &pb.SendMessage{Conv: to, Sender: "relay", ClientMsgId: to, ForwardConv: from, ForwardSeq: seq})
		if err != nil {
			t.Fatalf("forward %d, within the bound: %v", i+1, err)
		}
		from, seq = to, r.Seq
	}
	_, err := node.Send(ctx, &pb.SendMessage{Conv: "g:d", Sender: "relay", ClientMsgId: "g:d", ForwardConv: from, ForwardSeq: seq})
	wantCode(t, err, pb.Code_FORBIDDEN, "a third forward, past a bound of 2")
}
