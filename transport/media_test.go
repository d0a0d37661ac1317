package transport_test

import (
	"bytes"
	"crypto/rand"
	"image"
	"image/color"
	"image/png"
	"io"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestMediaOverTheWire: a buyer sends a seller a photo over QUIC: uploaded
// in chunks, attached with a caption, pushed with its name, type and size,
// and read back whole by the seller. Who may do what: a stranger neither
// uploads into the conversation nor reads the file; another member cannot
// attach the buyer's upload; an upload not complete is not attached; a file
// at the size limit goes, one byte more is TOO_LARGE; a recalled message's
// file is gone.
func TestMediaOverTheWire(t *testing.T) {
	t.Parallel()
	const limit = 2*client.MediaChunkBytes + 5
	e := newEnv(t, envOptions{actors: actors.Config{MaxMediaBytes: limit}})
	ctx := tctx(t)
	buyer, seller, stranger := e.dial("buyer", "phone"), e.dial("seller", "phone"), e.dial("stranger", "phone")
	first, err := buyer.SendText(ctx, client.ToUser("seller"), "is it still for sale?")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.Conv
	photo := make([]byte, limit)
	_, _ = rand.Read(photo)

	sent, err := buyer.SendFile(ctx, conv, "scratch on the door.jpg", "image/jpeg", photo, "this scratch?")
	if err != nil {
		t.Fatal(err)
	}
	var got client.Message
	eventually(t, "the seller gets the photo", func() bool {
		for _, m := range seller.Messages(conv) {
			if m.Seq == sent.Seq {
				got = m
				return true
			}
		}
		return false
	})
	if m := got.Media; m.GetName() != "scratch on the door.jpg" || m.GetMime() != "image/jpeg" || m.GetSize() != limit || m.GetChunks() != 3 || string(got.Body) != "this scratch?" {
		t.Fatalf("the seller's message: %+v (media %v)", got, got.Media)
	}
	ref, data, err := seller.Download(ctx, conv, sent.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, photo) || ref.GetId() != got.Media.GetId() {
		t.Fatalf("downloaded %d bytes (equal: %v)", len(data), bytes.Equal(data, photo))
	}
	// A caption is optional.
	if _, err := buyer.SendFile(ctx, conv, "receipt.pdf", "application/pdf", []byte("%PDF-1.7"), ""); err != nil {
		t.Fatalf("a file without a caption: %v", err)
	}

	// A picture goes with its preview, which the message carries: the
	// seller's phone draws it before downloading anything.
	var door bytes.Buffer
	if err := pngEncode(&door, 400, 300); err != nil {
		t.Fatal(err)
	}
	pic, err := buyer.SendFile(ctx, conv, "door.png", "image/png", door.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the seller gets the picture's preview", func() bool {
		for _, m := range seller.Messages(conv) {
			if m.Seq == pic.Seq {
				got = m
				return true
			}
		}
		return false
	})
	if m := got.Media; m.GetWidth() != 400 || m.GetHeight() != 300 || len(m.GetThumb()) == 0 {
		t.Fatalf("the picture's message: %v, want its preview", m)
	}
	// The caller's own preview is the one sent.
	own, err := buyer.SendFile(ctx, conv, "door2.png", "image/png", door.Bytes(), "", client.WithPreview(40, 30, []byte{0xff, 0xd8, 0xff, 0xd9}))
	if err != nil {
		t.Fatal(err)
	}
	if m := own.Media; m.GetWidth() != 40 || m.GetHeight() != 30 || len(m.GetThumb()) != 4 {
		t.Fatalf("a file sent with the caller's preview: %v", m)
	}
	thumb := bytes.Repeat([]byte{1}, storage.MaxPreviewBytes+1)
	if _, err := buyer.Upload(ctx, conv, "x.jpg", "image/jpeg", []byte("x"), client.WithPreview(1, 1, thumb)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a preview image over any node's limit: %v, want INVALID", err)
	}
	if _, err := buyer.Upload(ctx, conv, "x.jpg", "image/jpeg", []byte("x"), client.WithPreview(1, 1, thumb[:4097])); codeOf(err) != wirepb.Code_TOO_LARGE {
		t.Fatalf("a preview image over this node's limit (4 KiB): %v, want TOO_LARGE", err)
	}

	// Who may do what.
	if _, _, err := stranger.Download(ctx, conv, sent.Seq); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a stranger's download: %v, want NOT_MEMBER", err)
	}
	if _, err := stranger.Upload(ctx, conv, "spam.jpg", "image/jpeg", []byte("x")); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a stranger's upload: %v, want NOT_MEMBER", err)
	}
	mine, err := buyer.Upload(ctx, conv, "another.jpg", "image/jpeg", []byte("jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := seller.SendMedia(conv, mine, "not mine"); err != nil {
		t.Fatal(err)
	} else if _, err := p.Wait(ctx); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("attaching another's upload: %v, want NOT_FOUND", err)
	}
	if _, _, err := seller.Download(ctx, conv, first.Seq); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("the file of a message without one: %v, want NOT_FOUND", err)
	}

	// The size limit, at its edge: the photo above was exactly at it.
	if _, err := buyer.Upload(ctx, conv, "big.jpg", "image/jpeg", make([]byte, limit+1)); codeOf(err) != wirepb.Code_TOO_LARGE {
		t.Fatalf("a file one byte over the limit: %v, want TOO_LARGE", err)
	}
	if _, err := buyer.Upload(ctx, conv, "../../etc/passwd", "image/jpeg", []byte("x")); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a name with a path: %v, want INVALID", err)
	}

	// The recall takes the file.
	if _, err := buyer.Recall(ctx, conv, sent.Seq); err != nil {
		t.Fatal(err)
	}
	if _, _, err := seller.Download(ctx, conv, sent.Seq); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("the file of a recalled message: %v, want NOT_FOUND", err)
	}
	if _, err := e.store.ReadMediaChunk(ctx, conv, ref.GetId(), 0); err == nil {
		t.Fatal("the recalled message's file is still stored")
	}
}

// TestLargeFileIsPaced: a file of more chunks than the connection's
// request burst goes up and comes down whole, at the rate the node allows:
// the SDK sends a chunk refused RATE_LIMITED again after a pause instead of
// failing the file.
func TestLargeFileIsPaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{ConnRate: 40, ConnBurst: 4, UserRate: 40, UserBurst: 4}})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	first, err := alice.SendText(ctx, client.ToUser("bob"), "the manual follows")
	if err != nil {
		t.Fatal(err)
	}
	manual := make([]byte, 12*client.MediaChunkBytes)
	_, _ = rand.Read(manual)
	sent, err := alice.SendFile(ctx, first.Conv, "manual.pdf", "application/pdf", manual, "")
	if err != nil {
		t.Fatalf("a file of 12 chunks through a burst of 4: %v", err)
	}
	_, got, err := bob.Download(ctx, first.Conv, sent.Seq)
	if err != nil || !bytes.Equal(got, manual) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
}

// pngEncode writes a w×h PNG of a gradient.
func pngEncode(out io.Writer, w, h int) error {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return png.Encode(out, img)
}
