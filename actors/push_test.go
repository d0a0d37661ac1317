package actors

import (
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// The preview keeps whole UTF-8 characters within PreviewBytes.
func TestPreviewText(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int
		want string
	}{
		{"hello", 5, "hello"},  // at the limit
		{"hello!", 5, "hello"}, // one over
		{"héllo", 2, "h"},      // é is 2 bytes: not cut in half
		{"héllo", 3, "hé"},
		{"secret", -1, ""}, // previews off
		{"", 10, ""},
		{"\xff\xfe", 10, ""}, // not text
	} {
		if got := previewText([]byte(tc.body), tc.n); got != tc.want {
			t.Errorf("previewText(%q, %d) = %q, want %q", tc.body, tc.n, got, tc.want)
		}
	}
}

// A file sent without a caption is previewed by its name; with one, by the
// caption; with previews off, not at all.
func TestMessagePreviewOfAFile(t *testing.T) {
	file := &pb.MediaRef{Id: "x", Name: "bike.jpg", Mime: "image/jpeg", Size: 9}
	for _, tc := range []struct {
		m    *pb.Message
		n    int
		want string
	}{
		{&pb.Message{Media: file}, 120, "📎 bike.jpg"},
		{&pb.Message{Media: file, Body: []byte("the bike")}, 120, "the bike"},
		{&pb.Message{Media: file}, -1, ""},
		{&pb.Message{Media: file}, 6, "📎 b"}, // the clip: 📎 is 4 bytes
	} {
		if got := messagePreview(tc.m, tc.n); got != tc.want {
			t.Errorf("messagePreview(%v, %d) = %q, want %q", tc.m, tc.n, got, tc.want)
		}
	}
}

// A poll is previewed by its question, marked as a poll; a card by
// nothing (its JSON is no text to show).
func TestMessagePreviewOfAPollAndACard(t *testing.T) {
	poll := &pb.Message{Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"Trip on Friday?","options":["yes","no"]}`)}
	for _, tc := range []struct {
		m    *pb.Message
		n    int
		want string
	}{
		{poll, 120, "📊 Trip on Friday?"},
		{poll, -1, ""},
		{&pb.Message{Kind: pb.MessageKind_POLL, Body: []byte("not a poll")}, 120, ""},
		{&pb.Message{Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"Order 1"}`)}, 120, ""},
	} {
		if got := messagePreview(tc.m, tc.n); got != tc.want {
			t.Errorf("messagePreview(%v, %d) = %q, want %q", tc.m, tc.n, got, tc.want)
		}
	}
}

// A location sent without a caption is previewed by its name, or as a
// location; with one, by the caption.
func TestMessagePreviewOfALocation(t *testing.T) {
	for _, tc := range []struct {
		m    *pb.Message
		want string
	}{
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4, Name: "Café am Markt"}}, "📍 Café am Markt"},
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4}}, "📍 location"},
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4}, Body: []byte("here")}, "here"},
	} {
		if got := messagePreview(tc.m, 120); got != tc.want {
			t.Errorf("messagePreview(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
