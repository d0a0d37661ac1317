package pebblestore

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// A message that replies to nothing is stored exactly as before replies
// existed, so rows of either age decode, and a reply's seq round-trips.
func TestMessageCodecReplyTo(t *testing.T) {
	m := storage.Message{ConvID: "c", Seq: 9, MsgID: 7, ClientMsgID: "k", Sender: "alice", Kind: storage.MsgNormal,
		Body: []byte("hi"), ServerTS: time.UnixMilli(1700000000000).UTC()}
	plain := encodeMessage(&m)
	old := newEncoder(16)
	old.uint(m.MsgID)
	old.string(m.ClientMsgID)
	old.string(m.Sender)
	old.uint(uint64(m.SenderRole))
	old.uint(uint64(m.Kind))
	old.uint(m.RefSeq)
	old.bytes(m.Body)
	old.uint(uint64(m.Flags))
	old.time(m.ClientTS)
	old.time(m.ServerTS)
	if !bytes.Equal(plain, old.b) {
		t.Fatalf("a message without a reply encodes as %x, the older rows as %x", plain, old.b)
	}
	got, err := decodeMessage("c", 9, old.b)
	if err != nil || got.ReplyTo != 0 || string(got.Body) != "hi" {
		t.Fatalf("an older row: %+v %v", got, err)
	}
	m.ReplyTo = 300
	withReply := encodeMessage(&m)
	got, err = decodeMessage("c", 9, withReply)
	if err != nil || got.ReplyTo != 300 || got.Mentions != nil || string(got.Body) != "hi" || !got.ServerTS.Equal(m.ServerTS) {
		t.Fatalf("a reply: %+v %v", got, err)
	}
	// Mentions follow; a reply written before them decodes without any.
	for _, tc := range []struct {
		reply    uint64
		mentions []string
	}{{0, []string{"bob"}}, {300, []string{"bob", "carol"}}} {
		m.ReplyTo, m.Mentions = tc.reply, tc.mentions
		b := encodeMessage(&m)
		if !bytes.HasPrefix(b, plain) {
			t.Fatalf("mentions change the fields before them: %x, %x", b, plain)
		}
		got, err = decodeMessage("c", 9, b)
		if err != nil || got.ReplyTo != tc.reply || strings.Join(got.Mentions, ",") != strings.Join(tc.mentions, ",") {
			t.Fatalf("mentions %v, reply %d: %+v %v", tc.mentions, tc.reply, got, err)
		}
	}
	// A count that cannot fit in the bytes left is damage, not a panic.
	bad := append(bytes.Clone(withReply), 0xff, 0x01)
	if _, err := decodeMessage("c", 9, bad); err == nil {
		t.Fatal("a mention count larger than the row decoded")
	}
}

// A user's conversation state that was never archived (nor marked unread) is stored exactly
// as before archiving existed, so rows of either age decode; an archived
// one round-trips its seq.
func TestUserConvCodecArchived(t *testing.T) {
	u := storage.UserConv{UserID: "u", ConvID: "c", ReadSeq: 4, Pinned: true, LastActivity: time.UnixMilli(1700000000000).UTC()}
	old := newEncoder(24)
	old.uint(u.ReadSeq)
	old.bool(u.Pinned)
	old.bool(u.Muted)
	old.time(u.LastActivity)
	if plain := encodeUserConv(u); !bytes.Equal(plain, old.b) {
		t.Fatalf("a state never archived encodes as %x, the older rows as %x", plain, old.b)
	}
	if got, err := decodeUserConv("u", "c", old.b); err != nil || !got.Equal(u) {
		t.Fatalf("an older row: %+v %v", got, err)
	}
	u.ArchivedSeq = 1 << 40
	if got, err := decodeUserConv("u", "c", encodeUserConv(u)); err != nil || !got.Equal(u) {
		t.Fatalf("archived: %+v %v, want %+v", got, err, u)
	}
	// Marked unread, archived or not; a row written while archived,
	// before marking existed, decodes as not marked.
	withArchived := encodeUserConv(u)
	if got, err := decodeUserConv("u", "c", withArchived); err != nil || got.MarkedUnread {
		t.Fatalf("an archived row without the mark: %+v %v", got, err)
	}
	for _, archived := range []uint64{0, 9} {
		u.ArchivedSeq, u.MarkedUnread = archived, true
		if got, err := decodeUserConv("u", "c", encodeUserConv(u)); err != nil || !got.Equal(u) {
			t.Fatalf("marked unread: %+v %v, want %+v", got, err, u)
		}
	}
}

// A push token stored before VoIP tokens decodes, with none.
func TestPushTokenCodecBeforeVoIP(t *testing.T) {
	e := newEncoder(32)
	e.string("apns")
	e.string("tok")
	e.time(time.UnixMilli(1000))
	got, err := decodePushToken("u", "d", e.b)
	if err != nil || got.Token != "tok" || got.VoIPToken != "" || got.UpdatedAt.UnixMilli() != 1000 {
		t.Fatalf("old row: %+v %v", got, err)
	}
	got, err = decodePushToken("u", "d", encodePushToken(storage.PushToken{Platform: "apns", Token: "tok", VoIPToken: "voip"}))
	if err != nil || got.VoIPToken != "voip" {
		t.Fatalf("new row: %+v %v", got, err)
	}
}
