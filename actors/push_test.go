package actors

import (
	"reflect"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/push"
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
		m     *pb.Message
		n     int
		want  string
		words push.Words
	}{
		{&pb.Message{Media: file}, 120, "📎 bike.jpg", push.Say(push.KeyFile, "bike.jpg")},
		{&pb.Message{Media: file, Body: []byte("the bike")}, 120, "the bike", push.Words{}}, // the user's words
		{&pb.Message{Media: file}, -1, "", push.Words{}},
		{&pb.Message{Media: file}, 6, "📎 b", push.Say(push.KeyFile, "b")}, // the clip: 📎 is 4 bytes, the name cut to fit
		{&pb.Message{Media: file}, 5, "📎 ", push.Say(push.KeyFile, "")},
		{&pb.Message{Media: file}, 4, "", push.Words{}}, // the words do not fit
	} {
		if got, words := messagePreview(tc.m, tc.n); got != tc.want || !reflect.DeepEqual(words, tc.words) {
			t.Errorf("messagePreview(%v, %d) = %q, %v; want %q, %v", tc.m, tc.n, got, words, tc.want, tc.words)
		}
	}
}

// A system message is previewed by nothing (its JSON is no text to
// show), but a missed call by the node's words: the unread reminder's
// e-mail says "Missed call", never the record.
func TestMessagePreviewOfASystemMessage(t *testing.T) {
	sys := func(body string) *pb.Message { return &pb.Message{Kind: pb.MessageKind_SYSTEM, Body: []byte(body)} }
	for _, tc := range []struct {
		m     *pb.Message
		want  string
		words push.Words
	}{
		{sys(`{"actor":"a","callee":"b","op":"call","outcome":"missed"}`), "Missed call", push.Say(push.KeyMissedCall)},
		{sys(`{"actor":"a","callee":"b","op":"call","outcome":"cancelled","video":true}`), "Missed video call", push.Say(push.KeyMissedVideoCall)},
		{sys(`{"actor":"a","callee":"b","op":"call","outcome":"ended","duration_ms":5}`), "", push.Words{}},
		{sys(`{"op":"add","actor":"a","users":["b"]}`), "", push.Words{}},
		// A user's text that quotes a record is the user's words.
		{&pb.Message{Body: []byte(`{"callee":"b","op":"call","outcome":"missed"}`)}, `{"callee":"b","op":"call","outcome":"missed"}`, push.Words{}},
	} {
		if got, words := messagePreview(tc.m, 120); got != tc.want || !reflect.DeepEqual(words, tc.words) {
			t.Errorf("messagePreview(%s) = %q, %v; want %q, %v", tc.m.Body, got, words, tc.want, tc.words)
		}
		if missed := missedCall(tc.m, "b"); missed.Key != tc.words.Key {
			t.Errorf("missedCall(%s) = %v, want %v", tc.m.Body, missed, tc.words)
		}
	}
}

// A poll is previewed by its question, marked as a poll; a card by
// nothing (its JSON is no text to show).
func TestMessagePreviewOfAPollAndACard(t *testing.T) {
	poll := &pb.Message{Kind: pb.MessageKind_POLL, Body: []byte(`{"question":"Trip on Friday?","options":["yes","no"]}`)}
	for _, tc := range []struct {
		m     *pb.Message
		n     int
		want  string
		words push.Words
	}{
		{poll, 120, "📊 Trip on Friday?", push.Say(push.KeyPoll, "Trip on Friday?")},
		{poll, -1, "", push.Words{}},
		{&pb.Message{Kind: pb.MessageKind_POLL, Body: []byte("not a poll")}, 120, "", push.Words{}},
		{&pb.Message{Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"Order 1"}`)}, 120, "", push.Words{}},
	} {
		if got, words := messagePreview(tc.m, tc.n); got != tc.want || !reflect.DeepEqual(words, tc.words) {
			t.Errorf("messagePreview(%v, %d) = %q, %v; want %q, %v", tc.m, tc.n, got, words, tc.want, tc.words)
		}
	}
}

// A location sent without a caption is previewed by its name, or as a
// location; with one, by the caption.
func TestMessagePreviewOfALocation(t *testing.T) {
	for _, tc := range []struct {
		m     *pb.Message
		n     int
		want  string
		words push.Words
	}{
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4, Name: "Café am Markt"}}, 120, "📍 Café am Markt", push.Say(push.KeyLocationNamed, "Café am Markt")},
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4}}, 120, "📍 Location", push.Say(push.KeyLocation)},
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4}}, 13, "📍 Location", push.Say(push.KeyLocation)}, // 4 + 1 + 8 bytes
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4}}, 12, "", push.Words{}},
		{&pb.Message{Location: &pb.Location{Lat: 52.5, Lng: 13.4}, Body: []byte("here")}, 120, "here", push.Words{}},
	} {
		if got, words := messagePreview(tc.m, tc.n); got != tc.want || !reflect.DeepEqual(words, tc.words) {
			t.Errorf("messagePreview(%v, %d) = %q, %v; want %q, %v", tc.m, tc.n, got, words, tc.want, tc.words)
		}
	}
}
