package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Values are a version byte followed by fields in a fixed order: unsigned
// varints for numbers, varint-length-prefixed bytes for strings and blobs,
// times as varint Unix milliseconds (0 = zero time). Adding a field means
// appending it and bumping the version; decoders accept older versions.

const valueVersion = 1

var errCorrupt = errors.New("pebble: corrupt value")

type encoder struct{ b []byte }

func newEncoder(size int) *encoder {
	e := &encoder{b: make([]byte, 0, size+1)}
	e.b = append(e.b, valueVersion)
	return e
}

func (e *encoder) uint(v uint64)    { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) bytes(v []byte)   { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) string(v string)  { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) time(t time.Time) { e.int(timeMillis(t)) }
func (e *encoder) int(v int64)      { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bool(v bool) {
	if v {
		e.uint(1)
	} else {
		e.uint(0)
	}
}

func timeMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

type decoder struct {
	b   []byte
	err error
}

func newDecoder(b []byte) *decoder {
	d := &decoder{b: b}
	if len(b) == 0 || b[0] != valueVersion {
		d.err = fmt.Errorf("%w: unknown value version", errCorrupt)
		return d
	}
	d.b = b[1:]
	return d
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = errCorrupt
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }
func (d *decoder) bool() bool     { return d.uint() != 0 }
func (d *decoder) time() time.Time {
	ms := d.int()
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func encodeConv(c storage.Conversation) []byte {
	e := newEncoder(32 + len(c.Title))
	e.uint(uint64(c.Kind))
	e.string(c.Title)
	e.time(c.CreatedAt)
	e.uint(c.Epoch)
	e.uint(c.ReservedSeq)
	return e.b
}

func decodeConv(id string, b []byte) (storage.Conversation, error) {
	d := newDecoder(b)
	c := storage.Conversation{ID: id}
	c.Kind = storage.ConvKind(d.uint())
	c.Title = d.string()
	c.CreatedAt = d.time()
	c.Epoch = d.uint()
	c.ReservedSeq = d.uint()
	return c, d.err
}

func encodeMember(m storage.Member) []byte {
	e := newEncoder(24)
	e.uint(uint64(m.Role))
	e.uint(m.JoinedSeq)
	e.uint(m.LeftSeq)
	e.bool(m.Muted)
	e.time(m.JoinedAt)
	// Optional trailing fields: older values decode unchanged.
	timed := !m.MutedUntil.IsZero()
	if m.ClearedSeq != 0 || len(m.Hidden) > 0 || timed {
		e.uint(m.ClearedSeq)
	}
	if len(m.Hidden) > 0 || timed {
		e.bytes(storage.AppendSeqs(nil, m.Hidden))
	}
	if timed {
		e.time(m.MutedUntil)
	}
	return e.b
}

func decodeMember(conv, user string, b []byte) (storage.Member, error) {
	d := newDecoder(b)
	m := storage.Member{ConvID: conv, UserID: user}
	m.Role = storage.Role(d.uint())
	m.JoinedSeq = d.uint()
	m.LeftSeq = d.uint()
	m.Muted = d.bool()
	m.JoinedAt = d.time()
	if d.err == nil && len(d.b) > 0 { // written before clearing existed: nothing cleared
		m.ClearedSeq = d.uint()
	}
	if d.err == nil && len(d.b) > 0 {
		hidden, err := storage.ParseSeqs(d.bytes())
		if err != nil {
			return m, fmt.Errorf("%w: member %q/%q: %w", errCorrupt, conv, user, err)
		}
		m.Hidden = hidden
	}
	if d.err == nil && len(d.b) > 0 { // written before timed mutes: none
		m.MutedUntil = d.time()
	}
	return m, d.err
}

func encodeMessage(m *storage.Message) []byte {
	e := newEncoder(48 + len(m.ClientMsgID) + len(m.Sender) + len(m.Body))
	e.uint(m.MsgID)
	e.string(m.ClientMsgID)
	e.string(m.Sender)
	e.uint(uint64(m.SenderRole))
	e.uint(uint64(m.Kind))
	e.uint(m.RefSeq)
	e.bytes(m.Body)
	e.uint(uint64(m.Flags))
	e.time(m.ClientTS)
	e.time(m.ServerTS)
	// Optional trailing fields: rows written before them end above, and a
	// message without them is stored as those rows were. A field is
	// written when it or one after it is set.
	expires := !m.ExpiresAt.IsZero()
	hasMeta := len(m.Meta) > 0
	located := m.Location != nil || hasMeta
	timed := m.Media.Preview.DurationMs != 0 || located
	tail := expires || timed // a field after the file's
	media := m.Media.ID != "" || tail
	if m.ReplyTo != 0 || len(m.Mentions) > 0 || media {
		e.uint(m.ReplyTo)
	}
	if len(m.Mentions) > 0 || media {
		e.uint(uint64(len(m.Mentions)))
		for _, u := range m.Mentions {
			e.string(u)
		}
	}
	if media {
		e.string(m.Media.ID)
		e.string(m.Media.Name)
		e.string(m.Media.MIME)
		e.int(m.Media.Size)
		encodePreview(e, m.Media.Preview, tail) // optional itself: in full before a field after it
	}
	if tail {
		e.time(m.ExpiresAt) // zero: it stays
	}
	if timed {
		e.uint(uint64(m.Media.Preview.DurationMs))
	}
	if located {
		e.bytes(storage.EncodeLocation(m.Location))
	}
	if hasMeta {
		e.bytes(storage.EncodeMeta(m.Meta))
	}
	return e.b
}

func decodeMessage(conv string, seq uint64, b []byte) (storage.Message, error) {
	d := newDecoder(b)
	m := storage.Message{ConvID: conv, Seq: seq}
	m.MsgID = d.uint()
	m.ClientMsgID = d.string()
	m.Sender = d.string()
	m.SenderRole = storage.SenderRole(d.uint())
	m.Kind = storage.MessageKind(d.uint())
	m.RefSeq = d.uint()
	m.Body = d.bytes()
	if len(m.Body) == 0 {
		m.Body = nil
	}
	m.Flags = uint32(d.uint())
	m.ClientTS = d.time()
	m.ServerTS = d.time()
	if d.err == nil && len(d.b) > 0 {
		m.ReplyTo = d.uint()
	}
	if d.err == nil && len(d.b) > 0 {
		n := d.uint()
		if n > uint64(len(d.b)) { // each takes a byte at least
			return m, fmt.Errorf("message %s/%d: %d mentions in %d bytes", conv, seq, n, len(d.b))
		}
		if n > 0 {
			m.Mentions = make([]string, n)
		}
		for i := range m.Mentions {
			m.Mentions[i] = d.string()
		}
	}
	if d.err == nil && len(d.b) > 0 {
		m.Media.ID = d.string()
		m.Media.Name = d.string()
		m.Media.MIME = d.string()
		m.Media.Size = d.int()
		m.Media.Preview = decodePreview(d)
	}
	if d.err == nil && len(d.b) > 0 { // written before disappearing messages: none
		m.ExpiresAt = d.time()
	}
	if d.err == nil && len(d.b) > 0 { // written before files' lengths: none
		m.Media.Preview.DurationMs = uint32(d.uint())
	}
	if d.err == nil && len(d.b) > 0 { // written before locations: none
		loc, err := storage.DecodeLocation(d.bytes())
		if err != nil {
			return m, fmt.Errorf("message %s/%d: %w", conv, seq, err)
		}
		m.Location = loc
	}
	if d.err == nil && len(d.b) > 0 { // written before metas: none
		meta, err := storage.DecodeMeta(d.bytes())
		if err != nil {
			return m, fmt.Errorf("message %s/%d: %w", conv, seq, err)
		}
		m.Meta = meta
	}
	return m, d.err
}

func encodeUserConv(u storage.UserConv) []byte {
	e := newEncoder(24)
	e.uint(u.ReadSeq)
	e.bool(u.Pinned)
	e.bool(u.Muted)
	e.time(u.LastActivity)
	// Fields added later are written only when set, so rows that never
	// used them stay as they were.
	snoozed := !u.ArchivedUntil.IsZero()
	labeled := len(u.Labels) > 0 || snoozed
	timed := !u.MutedUntil.IsZero() || labeled
	if u.ArchivedSeq != 0 || u.MarkedUnread || timed {
		e.uint(u.ArchivedSeq)
	}
	if u.MarkedUnread || timed {
		e.bool(u.MarkedUnread)
	}
	if timed {
		e.time(u.MutedUntil)
	}
	if labeled {
		e.uint(uint64(len(u.Labels)))
		for _, l := range u.Labels {
			e.string(l)
		}
	}
	if snoozed {
		e.time(u.ArchivedUntil)
	}
	return e.b
}

func decodeUserConv(user, conv string, b []byte) (storage.UserConv, error) {
	d := newDecoder(b)
	u := storage.UserConv{UserID: user, ConvID: conv}
	u.ReadSeq = d.uint()
	u.Pinned = d.bool()
	u.Muted = d.bool()
	u.LastActivity = d.time()
	if d.err == nil && len(d.b) > 0 { // written before archiving existed: not archived
		u.ArchivedSeq = d.uint()
	}
	if d.err == nil && len(d.b) > 0 { // written before marking unread existed: not marked
		u.MarkedUnread = d.bool()
	}
	if d.err == nil && len(d.b) > 0 { // written before timed mutes existed, or not timed
		u.MutedUntil = d.time()
	}
	if d.err == nil && len(d.b) > 0 { // written before labels existed, or none
		n := d.uint()
		if n > uint64(len(d.b)) { // each label takes a byte at least
			return u, fmt.Errorf("%w: user conversation %q/%q: %d labels in %d bytes", errCorrupt, user, conv, n, len(d.b))
		}
		if n > 0 {
			u.Labels = make([]string, n)
		}
		for i := range u.Labels {
			u.Labels[i] = d.string()
		}
	}
	if d.err == nil && len(d.b) > 0 { // written before snoozes existed, or none
		u.ArchivedUntil = d.time()
	}
	return u, d.err
}

func encodeInbox(x *storage.InboxEntry) []byte {
	e := newEncoder(24 + len(x.ConvID) + len(x.Payload))
	e.uint(uint64(x.Kind))
	e.string(x.ConvID)
	e.uint(x.ConvSeq)
	e.time(x.At)
	e.bytes(x.Payload)
	return e.b
}

func decodeInbox(user string, seq uint64, b []byte) (storage.InboxEntry, error) {
	d := newDecoder(b)
	x := storage.InboxEntry{UserID: user, Seq: seq}
	x.Kind = storage.InboxKind(d.uint())
	x.ConvID = d.string()
	x.ConvSeq = d.uint()
	x.At = d.time()
	x.Payload = d.bytes()
	if len(x.Payload) == 0 {
		x.Payload = nil
	}
	return x, d.err
}

func encodeDevice(v storage.Device) []byte {
	e := newEncoder(16)
	e.uint(v.Cursor)
	e.time(v.LastSeen)
	return e.b
}

func decodeDevice(user, device string, b []byte) (storage.Device, error) {
	d := newDecoder(b)
	v := storage.Device{UserID: user, DeviceID: device}
	v.Cursor = d.uint()
	v.LastSeen = d.time()
	return v, d.err
}

func encodeCheckpoint(cp storage.Checkpoint) []byte {
	e := newEncoder(16 + len(cp.State) + 24*len(cp.ConvSeqs))
	e.time(cp.At)
	e.bytes(cp.State)
	e.uint(uint64(len(cp.ConvSeqs)))
	for conv, seq := range cp.ConvSeqs {
		e.string(conv)
		e.uint(seq)
	}
	return e.b
}

func decodeCheckpoint(k string, b []byte) (storage.Checkpoint, error) {
	d := newDecoder(b)
	cp := storage.Checkpoint{Key: k}
	cp.At = d.time()
	cp.State = d.bytes()
	if len(cp.State) == 0 {
		cp.State = nil
	}
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errCorrupt
	}
	cp.ConvSeqs = make(map[string]uint64, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		conv := d.string()
		cp.ConvSeqs[conv] = d.uint()
	}
	return cp, d.err
}
