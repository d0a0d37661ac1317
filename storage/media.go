package storage

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Media is a file uploaded into a conversation (a photo of a listing, a
// screenshot of a problem, a homework sheet), stored in chunks of
// MediaChunkBytes. An upload is written chunk by chunk, in any order, and
// then completed; only a complete one may be attached to a message, by its
// uploader, in its conversation. Readers reach it through the message that
// carries it (MediaRef), so what they may read follows what they may read
// of the conversation.
type Media struct {
	ConvID    string
	ID        string // made by the server: 32 hex digits
	Uploader  string
	Name      string // the file name the uploader gave
	MIME      string // the content type the uploader gave, e.g. image/jpeg
	Size      int64
	Preview   Preview
	Complete  bool
	CreatedAt time.Time
	// AttachedSeq is the message that carries the upload (AttachMedia);
	// 0 while none does. An upload is attached once.
	AttachedSeq uint64
}

// MediaHour is the hour an upload created at t is listed under
// (UnsettledMedia).
func MediaHour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// MediaChunkBytes is the size of every chunk but an upload's last. It is
// part of the stored format (chunk i holds bytes i·MediaChunkBytes on).
const MediaChunkBytes = 128 << 10

// MaxMediaNameBytes and MaxMediaTypeBytes bound a file's name and type.
const (
	MaxMediaNameBytes = 255
	MaxMediaTypeBytes = 127
)

// Chunks is how many chunks the upload has.
func (m Media) Chunks() int { return m.Ref().Chunks() }

// ChunkLen is the length chunk i must have.
func (m Media) ChunkLen(i int) int {
	if i == m.Chunks()-1 {
		return int(m.Size - int64(i)*MediaChunkBytes)
	}
	return MediaChunkBytes
}

// Ref is what a message carries of m.
func (m Media) Ref() MediaRef {
	return MediaRef{ID: m.ID, Name: m.Name, MIME: m.MIME, Size: m.Size, Preview: m.Preview}
}

// MediaRef is a message's attachment: the media's id and what a client
// shows before fetching it.
type MediaRef struct {
	ID      string
	Name    string
	MIME    string
	Size    int64
	Preview Preview
}

// Preview is what a client shows of a picture, a video or a voice note
// before it downloads it (the uploader's client makes it): its size in
// pixels, to lay the message out, a tiny image (a JPEG or PNG of a few
// dozen pixels a side), which a message carries inline so a phone on a
// slow link draws it at once, and how long it plays ("0:42"). All
// optional.
type Preview struct {
	Width, Height uint32
	Thumb         []byte
	DurationMs    uint32 // a voice note's, an audio's or a video's length; 0: none
}

// MaxPreviewBytes bounds a preview's image here (a node's limit,
// actors.Config.MaxPreviewBytes, is at most this), and MaxPreviewPixels
// its width and height; MaxMediaDurationMs a file's length in play (a
// day).
const (
	MaxPreviewBytes    = 16 << 10
	MaxPreviewPixels   = 1 << 16
	MaxMediaDurationMs = 24 * 60 * 60 * 1000
)

// IsZero tells whether p says nothing.
func (p Preview) IsZero() bool {
	return p.Width == 0 && p.Height == 0 && len(p.Thumb) == 0 && p.DurationMs == 0
}

// Check validates a preview.
func (p Preview) Check() error {
	switch {
	case len(p.Thumb) > MaxPreviewBytes:
		return fmt.Errorf("preview image is %d bytes, limit %d: %w", len(p.Thumb), MaxPreviewBytes, ErrInvalid)
	case p.Width > MaxPreviewPixels || p.Height > MaxPreviewPixels:
		return fmt.Errorf("preview size %d×%d, limit %d a side: %w", p.Width, p.Height, MaxPreviewPixels, ErrInvalid)
	case p.DurationMs > MaxMediaDurationMs:
		return fmt.Errorf("a file playing %d ms, limit %d: %w", p.DurationMs, MaxMediaDurationMs, ErrInvalid)
	}
	return nil
}

// Chunks is how many chunks the file has.
func (r MediaRef) Chunks() int { return int((r.Size + MediaChunkBytes - 1) / MediaChunkBytes) }

// CheckMedia validates an upload's description before it is stored.
func (l Limits) CheckMedia(m Media) error {
	if err := l.CheckID("conversation", m.ConvID); err != nil {
		return err
	}
	if err := l.CheckID("media", m.ID); err != nil {
		return err
	}
	if err := l.CheckID("user", m.Uploader); err != nil {
		return err
	}
	if err := CheckMediaName(m.Name); err != nil {
		return err
	}
	if err := CheckMediaType(m.MIME); err != nil {
		return err
	}
	if m.Size <= 0 {
		return fmt.Errorf("media size %d: %w", m.Size, ErrInvalid)
	}
	return m.Preview.Check()
}

// CheckChunk validates chunk i of m before it is stored.
func (m Media) CheckChunk(i int, data []byte) error {
	if i < 0 || i >= m.Chunks() {
		return fmt.Errorf("chunk %d of media %s, which has %d: %w", i, m.ID, m.Chunks(), ErrInvalid)
	}
	if len(data) != m.ChunkLen(i) {
		return fmt.Errorf("chunk %d of media %s is %d bytes, want %d: %w", i, m.ID, len(data), m.ChunkLen(i), ErrInvalid)
	}
	return nil
}

// CheckMediaName validates a file name: 1–MaxMediaNameBytes of UTF-8 with
// no control characters and no path separators.
func CheckMediaName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("media name is empty: %w", ErrInvalid)
	case len(name) > MaxMediaNameBytes:
		return fmt.Errorf("media name is %d bytes, limit %d: %w", len(name), MaxMediaNameBytes, ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("media name is not UTF-8: %w", ErrInvalid)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("media name %q holds a path separator: %w", name, ErrInvalid)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("media name holds a control character: %w", ErrInvalid)
	}
	return nil
}

// CheckMediaType validates a content type: type/subtype of RFC 6838's
// restricted names, at most MaxMediaTypeBytes, no parameters.
func CheckMediaType(mime string) error {
	typ, sub, ok := strings.Cut(mime, "/")
	if !ok || len(mime) > MaxMediaTypeBytes || !mediaToken(typ) || !mediaToken(sub) {
		return fmt.Errorf("media type %q is not type/subtype: %w", mime, ErrInvalid)
	}
	return nil
}

func mediaToken(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("!#$&-^_.+", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
