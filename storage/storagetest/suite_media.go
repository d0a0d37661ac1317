package storagetest

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Conformance: media — an upload in chunks (any order, rewritten), its
// completion only once every chunk is there at its length, reads, and
// deletion.
func testMedia(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	conv := id("c")
	const size = 2*storage.MediaChunkBytes + 10
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	chunk := func(i int) []byte {
		end := min((i+1)*storage.MediaChunkBytes, size)
		return data[i*storage.MediaChunkBytes : end]
	}
	m := storage.Media{ConvID: conv, ID: "0123456789abcdef0123456789abcdef", Uploader: "alice", Name: "listing photo.jpg",
		MIME: "image/jpeg", Size: size, CreatedAt: time.UnixMilli(1_700_000_000_000),
		Preview: storage.Preview{Width: 640, Height: 480, Thumb: []byte{0xff, 0xd8, 7, 0xff, 0xd9}}}
	if m.Chunks() != 3 || m.ChunkLen(2) != 10 {
		t.Fatalf("chunks %d, last %d", m.Chunks(), m.ChunkLen(2))
	}
	must(t, s.CreateMedia(c, m))
	wantErr(t, s.CreateMedia(c, m), storage.ErrExists)
	got, err := s.GetMedia(c, conv, m.ID)
	must(t, err)
	if !got.CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("created at %v, want %v", got.CreatedAt, m.CreatedAt)
	}
	if got.CreatedAt = m.CreatedAt; !reflect.DeepEqual(got, m) {
		t.Fatalf("media %+v, want %+v", got, m)
	}
	_, err = s.GetMedia(c, id("other"), m.ID)
	wantErr(t, err, storage.ErrNotFound)
	// A voice note: a length and no picture, and a video with both.
	for i, p := range []storage.Preview{{DurationMs: 42_000}, {Width: 320, Height: 240, Thumb: []byte{1, 2}, DurationMs: storage.MaxMediaDurationMs}} {
		v := m
		v.ConvID, v.ID, v.Name, v.Preview = id("voice"), fmt.Sprintf("%032x", i+1), "note.ogg", p
		must(t, s.CreateMedia(c, v))
		got, err := s.GetMedia(c, v.ConvID, v.ID)
		must(t, err)
		if got.CreatedAt = v.CreatedAt; !reflect.DeepEqual(got, v) {
			t.Fatalf("media %+v, want %+v", got, v)
		}
	}

	// Out of order, one rewritten; bad chunks are refused.
	must(t, s.PutMediaChunk(c, conv, m.ID, 2, chunk(2)))
	must(t, s.PutMediaChunk(c, conv, m.ID, 0, make([]byte, storage.MediaChunkBytes)))
	wantErr(t, s.PutMediaChunk(c, conv, m.ID, 3, chunk(2)), storage.ErrInvalid)
	wantErr(t, s.PutMediaChunk(c, conv, m.ID, 2, chunk(2)[:9]), storage.ErrInvalid)
	wantErr(t, s.PutMediaChunk(c, conv, m.ID, 1, chunk(2)), storage.ErrInvalid)
	wantErr(t, s.PutMediaChunk(c, conv, "nosuchmedia", 0, chunk(0)), storage.ErrNotFound)
	_, err = s.CompleteMedia(c, conv, m.ID)
	wantErr(t, err, storage.ErrInvalid) // chunk 1 is missing
	must(t, s.PutMediaChunk(c, conv, m.ID, 1, chunk(1)))
	must(t, s.PutMediaChunk(c, conv, m.ID, 0, chunk(0)))
	done, err := s.CompleteMedia(c, conv, m.ID)
	must(t, err)
	if !done.Complete || done.Size != size {
		t.Fatalf("completed %+v", done)
	}
	if again, err := s.CompleteMedia(c, conv, m.ID); err != nil || !again.Complete {
		t.Fatalf("completed twice: %+v %v", again, err)
	}
	wantErr(t, s.PutMediaChunk(c, conv, m.ID, 0, chunk(0)), storage.ErrInvalid) // complete: final
	var read []byte
	for i := range m.Chunks() {
		b, err := s.ReadMediaChunk(c, conv, m.ID, i)
		must(t, err)
		read = append(read, b...)
	}
	if !bytes.Equal(read, data) {
		t.Fatal("the chunks read back differ from those written")
	}
	_, err = s.ReadMediaChunk(c, conv, m.ID, 3)
	wantErr(t, err, storage.ErrNotFound)

	// Listed under its hour while no message carries it; still listed
	// once attached (a claim, until a sweep finds its message), not
	// once settled.
	hour := storage.MediaHour(m.CreatedAt)
	if got := unsettled(t, s, hour, conv); len(got) != 1 || got[0].ID != m.ID || got[0].AttachedSeq != 0 {
		t.Fatalf("unsettled in its hour: %+v", got)
	}
	if got := unsettled(t, s, hour.Add(time.Hour), conv); len(got) != 0 {
		t.Fatalf("unsettled an hour later: %+v", got)
	}
	wantErr(t, s.AttachMedia(c, conv, "nosuchmedia", 7), storage.ErrNotFound)
	must(t, s.AttachMedia(c, conv, m.ID, 7))
	if got, err := s.GetMedia(c, conv, m.ID); err != nil || got.AttachedSeq != 7 || !got.Complete {
		t.Fatalf("attached: %+v %v", got, err)
	}
	if got := unsettled(t, s, hour, conv); len(got) != 1 || got[0].AttachedSeq != 7 {
		t.Fatalf("an attached upload is not listed with its seq: %+v", got)
	}
	must(t, s.SettleMedia(c, conv, m.ID))
	must(t, s.SettleMedia(c, conv, m.ID))          // again: no error
	must(t, s.SettleMedia(c, conv, "nosuchmedia")) // absent: no error
	if got := unsettled(t, s, hour, conv); len(got) != 0 {
		t.Fatalf("a settled upload is still listed: %+v", got)
	}
	if got, err := s.GetMedia(c, conv, m.ID); err != nil || got.AttachedSeq != 7 {
		t.Fatalf("settled: %+v %v, want it kept", got, err)
	}

	// An abandoned upload is listed until it is deleted; the limit holds.
	spare := m
	for _, sid := range []string{"fedcba9876543210fedcba9876543210", "fedcba9876543210fedcba9876543211"} {
		spare.ID = sid
		must(t, s.CreateMedia(c, spare))
	}
	if got, err := s.UnsettledMedia(c, hour, 1); err != nil || len(got) != 1 {
		t.Fatalf("limit 1: %d uploads, %v", len(got), err)
	}
	_, err = s.UnsettledMedia(c, hour, 0)
	wantErr(t, err, storage.ErrInvalid)
	for _, sid := range []string{"fedcba9876543210fedcba9876543210", "fedcba9876543210fedcba9876543211"} {
		must(t, s.DeleteMedia(c, conv, sid))
	}
	if got := unsettled(t, s, hour, conv); len(got) != 0 {
		t.Fatalf("deleted uploads are still listed: %+v", got)
	}

	must(t, s.DeleteMedia(c, conv, m.ID))
	must(t, s.DeleteMedia(c, conv, m.ID)) // absent: no error
	_, err = s.GetMedia(c, conv, m.ID)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.ReadMediaChunk(c, conv, m.ID, 0)
	wantErr(t, err, storage.ErrNotFound)

	// Bad descriptions.
	for _, bad := range []storage.Media{
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "", MIME: "image/png", Size: 1},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "../etc/passwd", MIME: "image/png", Size: 1},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "a\nb", MIME: "image/png", Size: 1},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "a", MIME: "image", Size: 1},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "a", MIME: "image/png; q=1", Size: 1},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "a", MIME: "image/png", Size: 0},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "a", MIME: "image/png", Size: 1, Preview: storage.Preview{Thumb: make([]byte, storage.MaxPreviewBytes+1)}},
		{ConvID: conv, ID: "x", Uploader: "alice", Name: "a", MIME: "image/png", Size: 1, Preview: storage.Preview{Width: storage.MaxPreviewPixels + 1}},
	} {
		wantErr(t, s.CreateMedia(c, bad), storage.ErrInvalid)
	}
}

// unsettled lists the hour's unsettled uploads of conv (a shared
// Cassandra keyspace lists other tests' too).
func unsettled(t *testing.T, s storage.Store, hour time.Time, conv string) []storage.Media {
	t.Helper()
	all, err := s.UnsettledMedia(ctx(t), hour, 1000)
	must(t, err)
	var out []storage.Media
	for _, m := range all {
		if m.ConvID == conv {
			out = append(out, m)
		}
	}
	return out
}
