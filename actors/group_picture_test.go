package actors_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"google.golang.org/protobuf/proto"
)

// TestGroupPicture: a group's manager sets its picture from an image they
// uploaded into it; a plain member may not, nor may anyone use another's
// upload or a file that is no image. Every member's list names the
// picture, a member who joins later reads it (the system message that
// carries it stays before their join), a stranger does not; no sweep of
// abandoned uploads deletes it; taking it away clears the lists.
func TestGroupPicture(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:7b"
	mustCreateGroup(t, node, g, "teacher", "pupil")
	img := bytes.Repeat([]byte{0xff, 0xd8, 0x42}, 100)
	upload := func(user, mime string) string {
		t.Helper()
		m, err := node.CreateMedia(ctx, user, g, "class.jpg", mime, int64(len(img)), storage.Preview{Width: 64, Height: 64, Thumb: []byte("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		if err := node.PutMediaChunk(ctx, user, g, m.ID, 0, img); err != nil {
			t.Fatal(err)
		}
		if _, err := node.CompleteMedia(ctx, user, g, m.ID); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	set := func(actor, id string) (*pb.GroupSettingsResponse, error) {
		return node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: actor, Picture: proto.String(id)})
	}
	pic, text, pupils := upload("teacher", "image/jpeg"), upload("teacher", "text/plain"), upload("pupil", "image/png")
	for what, c := range map[string]struct {
		actor, id string
		want      pb.Code
	}{
		"a plain member":  {"pupil", pupils, pb.Code_FORBIDDEN},
		"no image":        {"teacher", text, pb.Code_INVALID},
		"another's image": {"teacher", pupils, pb.Code_NOT_FOUND},
		"no upload":       {"teacher", "0123456789abcdef0123456789abcdef", pb.Code_NOT_FOUND},
	} {
		if _, err := set(c.actor, c.id); actors.CodeOf(err) != c.want {
			t.Fatalf("%s sets the picture: %v, want %v", what, err, c.want)
		}
	}
	r, err := set("teacher", pic)
	if err != nil || r.Picture.GetId() != pic || r.Picture.Mime != "image/jpeg" || string(r.Picture.Thumb) != "tiny" || r.Seq == 0 {
		t.Fatalf("the picture: %v, %v", r, err)
	}
	if r, err := set("teacher", pic); err != nil || r.Seq != 0 {
		t.Fatalf("setting the same picture again: %v, %v; want no system message", r, err)
	}
	pictureOf := func(user string) string {
		t.Helper()
		l, err := node.ListConversations(ctx, user, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(l.Conversations, func(c *pb.ConvSummary) bool { return c.Conv == g })
		if i < 0 {
			t.Fatalf("%s's list has no %s", user, g)
		}
		return l.Conversations[i].PictureId
	}
	eventually(t, func() error {
		if got := pictureOf("pupil"); got != pic {
			return fmt.Errorf("the pupil's list names picture %q, want %q", got, pic)
		}
		return nil
	})

	// A member added later reads it, though not the message carrying it.
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_ADD, pb.Role_MEMBER, "newbie"); err != nil {
		t.Fatal(err)
	}
	ref, data, err := node.ReadGroupPicture(ctx, "newbie", g, 0)
	if err != nil || ref.ID != pic || !bytes.Equal(data, img) {
		t.Fatalf("the newcomer reads the picture: %+v, %d bytes, %v", ref, len(data), err)
	}
	if _, _, err := node.ReadMedia(ctx, "newbie", g, r.Seq, 0); err == nil {
		t.Fatal("the newcomer read the system message that set the picture, from before their join")
	}
	if _, _, err := node.ReadGroupPicture(ctx, "stranger", g, 0); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger reads the picture: %v, want NOT_MEMBER", err)
	}
	if _, _, err := node.ReadGroupPicture(ctx, "newbie", g, 1); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a chunk past the picture: %v, want INVALID", err)
	}

	// The sweep of abandoned uploads keeps it (its message carries it).
	if _, err := actors.SweepUploadsForTest(ctx, node.Runtime, time.Now().Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.ReadGroupPicture(ctx, "pupil", g, 0); err != nil {
		t.Fatalf("the picture after a sweep: %v", err)
	}
	if _, err := store.GetMedia(ctx, g, text); err == nil {
		t.Fatal("the sweep kept an abandoned upload: it swept nothing")
	}

	if r, err := set("teacher", ""); err != nil || r.Picture != nil || r.Seq == 0 {
		t.Fatalf("taking the picture away: %v, %v", r, err)
	}
	eventually(t, func() error {
		if got := pictureOf("pupil"); got != "" {
			return fmt.Errorf("the pupil's list names picture %q after it was taken away", got)
		}
		return nil
	})
	if _, _, err := node.ReadGroupPicture(ctx, "pupil", g, 0); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("reading a picture taken away: %v, want NOT_FOUND", err)
	}
}
