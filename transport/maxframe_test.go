package transport_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestMaxFrameAtItsFloor: a server set to the smallest frame tells it in
// Welcome, reads a request of exactly that size, still carries a file's
// fixed-size chunks both ways, and closes a connection whose frame is one
// byte over with FRAME_TOO_LARGE.
func TestMaxFrameAtItsFloor(t *testing.T) {
	t.Parallel()
	const max = transport.MinMaxFrame
	e := newEnv(t, envOptions{transport: transport.Config{MaxFrame: max}, actors: actors.Config{MaxMediaBytes: 3 * client.MediaChunkBytes}})
	ctx := tctx(t)

	r := rawDial(t, e, nil)
	if w := r.login(e.token("mallory", "phone")); w.GetMaxFrame() != max {
		t.Fatalf("Welcome.max_frame %d, want %d", w.GetMaxFrame(), max)
	}
	if res, err := r.request(sendOfPayloadSize(max, 3)); err != nil || res.GetError().GetCode() != wirepb.Code_NOT_FOUND {
		t.Fatalf("a frame of exactly %d bytes: %v %v, want it read (NOT_FOUND from the grain)", max, res, err)
	}

	buyer, seller := e.dial("buyer", "phone"), e.dial("seller", "phone")
	first, err := buyer.SendText(ctx, client.ToUser("seller"), "the photo")
	if err != nil {
		t.Fatal(err)
	}
	photo := make([]byte, 2*client.MediaChunkBytes+5)
	_, _ = rand.Read(photo)
	sent, err := buyer.SendFile(ctx, first.Conv, "door.jpg", "image/jpeg", photo, "")
	if err != nil {
		t.Fatalf("upload at the smallest frame: %v", err)
	}
	if _, data, err := seller.Download(ctx, first.Conv, sent.Seq); err != nil || !bytes.Equal(data, photo) {
		t.Fatalf("download at the smallest frame: %d bytes, %v", len(data), err)
	}

	r = rawDial(t, e, nil)
	r.login(e.token("mallory", "tablet"))
	_, _ = r.st.Write(sendOfPayloadSize(max+1, 4))
	if code := r.closeCode(); code != wirepb.Code_FRAME_TOO_LARGE {
		t.Fatalf("a frame of %d bytes closed the connection with %v, want FRAME_TOO_LARGE", max+1, code)
	}
}

// TestMaxFrameAboveTheDefault: with a frame four times the default and a
// body limit to match, a client on the SDK's default frame receives a
// message larger than its own frame (it reads up to the server's, from
// Welcome) by push and by history, and sends one at the limit.
func TestMaxFrameAboveTheDefault(t *testing.T) {
	t.Parallel()
	const max = 4 * wirepb.DefaultMaxFrame
	const body = max - transport.FrameEnvelope
	e := newEnv(t, envOptions{transport: transport.Config{MaxFrame: max}, actors: actors.Config{MaxBodyBytes: body}})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	big := bytes.Repeat([]byte{'x'}, body)
	m, err := alice.Send(client.ToUser("bob"), big, "")
	if err != nil {
		t.Fatal(err)
	}
	sent, err := m.Wait(ctx)
	if err != nil {
		t.Fatalf("a %d-byte body under a %d-byte frame: %v", body, max, err)
	}
	eventually(t, "bob's push of the large message", func() bool {
		for _, got := range bob.Messages(sent.Conv) {
			if got.Seq == sent.Seq {
				return len(got.Body) == body
			}
		}
		return false
	})
	hist, err := bob.History(ctx, sent.Conv, client.HistoryOptions{})
	if err != nil || len(hist) != 1 || len(hist[0].Body) != body {
		t.Fatalf("bob's history: %d messages, %v", len(hist), err)
	}
	// Over the frame: TOO_LARGE from the SDK, which does not send it (the
	// node would end the connection); the next send goes on the same one.
	welcome := alice.Welcome()
	m, err = alice.Send(client.ToUser("bob"), bytes.Repeat([]byte{'y'}, max+1), "")
	if err == nil {
		_, err = m.Wait(ctx)
	}
	if code := wirepb.CodeOf(err); code != wirepb.Code_TOO_LARGE {
		t.Fatalf("a body over the frame: %v (code %v), want TOO_LARGE", err, code)
	}
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "after the big one"); err != nil {
		t.Fatalf("the send after it: %v", err)
	}
	if alice.Welcome() != welcome {
		t.Fatal("alice connected again: the body over the frame ended her connection")
	}
}

// A frame size outside MinMaxFrame…MaxMaxFrame is refused at Listen, with
// an error naming the range.
func TestMaxFrameOutOfRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	tlsConf := selfSignedTLS(t)
	auth, err := transport.NewAuthenticator(e.auth)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{transport.MinMaxFrame - 1, wirepb.MaxMaxFrame + 1} {
		srv, err := transport.Listen(e.nodes[0].Runtime, transport.Config{Addr: "127.0.0.1:0", MaxFrame: size, Auth: auth,
			TLS: tlsConf, Logger: testLogger()})
		if err == nil {
			_ = srv.Close()
			t.Fatalf("MaxFrame %d accepted", size)
		}
		if !strings.Contains(err.Error(), "MaxFrame") {
			t.Fatalf("MaxFrame %d: %v, want it named", size, err)
		}
	}
}
