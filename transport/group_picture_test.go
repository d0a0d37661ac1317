package transport_test

import (
	"bytes"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A group's picture over the wire: the owner uploads an image into the
// group and sets it; every member's client learns its id by itself, the
// settings carry its preview, and a member added later downloads it.
func TestGroupPictureOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	owner, member := e.dial("owner", "phone"), e.dial("member", "phone")
	conv, err := owner.CreateGroup(ctx, "g:bikes", "Bikes", []string{"member"})
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Repeat([]byte("png!"), 50_000) // two chunks
	ref, err := owner.Upload(ctx, conv, "bikes.png", "image/png", img, client.WithPreview(32, 32, []byte("thumb")))
	if err != nil {
		t.Fatal(err)
	}
	s, seq, err := owner.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Picture: &ref.Id})
	if err != nil || seq == 0 || s.Picture.GetId() != ref.Id || string(s.Picture.GetThumb()) != "thumb" {
		t.Fatalf("set the picture: %+v, seq %d, %v", s, seq, err)
	}
	eventually(t, "the member's client has the picture's id", func() bool {
		c, ok := member.Conversation(conv)
		return ok && c.PictureID == ref.Id
	})
	if _, _, err := owner.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Picture: new(string)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the member's client knows the picture went", func() bool {
		c, _ := member.Conversation(conv)
		return c.PictureID == ""
	})
	if _, _, err := member.GroupPicture(ctx, conv); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("a picture taken away: %v, want NOT_FOUND", err)
	}
	if _, _, err := owner.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Picture: &ref.Id}); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("an upload a message carries already, set again: %v, want INVALID", err)
	}
	again, err := owner.Upload(ctx, conv, "bikes.png", "image/png", img)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := owner.ChangeGroupSettings(ctx, conv, client.GroupSettingsChange{Picture: &again.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.AddMembers(ctx, conv, "late"); err != nil {
		t.Fatal(err)
	}
	late := e.dial("late", "phone")
	got, data, err := late.GroupPicture(ctx, conv)
	if err != nil || got.Id != again.Id || !bytes.Equal(data, img) {
		t.Fatalf("a member added later reads the picture: %v, %d bytes, %v", got, len(data), err)
	}
}
