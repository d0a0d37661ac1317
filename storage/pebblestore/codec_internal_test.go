package pebblestore

import (
	"bytes"
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
	got, err = decodeMessage("c", 9, encodeMessage(&m))
	if err != nil || got.ReplyTo != 300 || string(got.Body) != "hi" || !got.ServerTS.Equal(m.ServerTS) {
		t.Fatalf("a reply: %+v %v", got, err)
	}
}
