package transport_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestVoiceNoteLength: a voice note's length goes with the upload, is
// pushed with the message and read back in history; a day is the most
// a file plays, a millisecond more is INVALID.
func TestVoiceNoteLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer, seller := e.dial("buyer", "phone"), e.dial("seller", "phone")
	first, err := buyer.SendText(ctx, client.ToUser("seller"), "hi")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.Conv
	sent, err := buyer.SendFile(ctx, conv, "note.ogg", "audio/ogg", []byte("OggS voice"), "", client.WithDuration(42*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the seller gets the note with its length", func() bool {
		m, ok := held(seller, conv, sent.Seq)
		return ok && m.Media != nil && m.Media.DurationMs == 42_000
	})
	hist, err := seller.History(ctx, conv, client.HistoryOptions{Limit: 1})
	if err != nil || len(hist) != 1 || hist[0].Media.GetDurationMs() != 42_000 {
		t.Fatalf("the note in the history: %+v %v", hist, err)
	}
	if _, err := buyer.Upload(ctx, conv, "day.ogg", "audio/ogg", []byte("x"), client.WithDuration(24*time.Hour)); err != nil {
		t.Fatalf("a file of a day: %v", err)
	}
	var we *wirepb.Error
	if _, err := buyer.Upload(ctx, conv, "long.ogg", "audio/ogg", []byte("x"), client.WithDuration(24*time.Hour+time.Millisecond)); !errors.As(err, &we) || we.Code != wirepb.Code_INVALID {
		t.Fatalf("a file of a day and a millisecond: %v, want INVALID", err)
	}
}
