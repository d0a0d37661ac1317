package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Media: one key for an upload's description, one per chunk under it, and
// one under the hour it was created in while no message carries it.

func mediaKey(conv, id string) []byte         { return key(tagMedia, conv, id) }
func mediaChunkPrefix(conv, id string) []byte { return prefix(tagMediaChunk, conv, id) }
func mediaChunkKey(conv, id string, i int) []byte {
	return appendUint64(mediaChunkPrefix(conv, id), uint64(i))
}

func mediaHourPrefix(hour time.Time) []byte {
	return appendUint64([]byte{tagMediaOpen}, uint64(storage.MediaHour(hour).UnixMilli()))
}

func mediaOpenKey(m storage.Media) []byte {
	k := append(mediaHourPrefix(m.CreatedAt), m.ConvID...)
	return append(append(k, 0), m.ID...)
}

// encodePreview appends p's picture (its size and image): nothing when it
// has none (an optional trailing field), unless full (a field follows).
// Its DurationMs is the caller's to write after what follows it.
func encodePreview(e *encoder, p storage.Preview, full bool) {
	if full || p.Width != 0 || p.Height != 0 || len(p.Thumb) > 0 {
		e.uint(uint64(p.Width))
		e.uint(uint64(p.Height))
		e.bytes(p.Thumb)
	}
}

// decodePreview reads what encodePreview wrote (none when the row ends).
func decodePreview(d *decoder) (p storage.Preview) {
	if d.err == nil && len(d.b) > 0 {
		p.Width, p.Height = uint32(d.uint()), uint32(d.uint())
		if p.Thumb = d.bytes(); len(p.Thumb) == 0 {
			p.Thumb = nil
		}
	}
	return p
}

func encodeMedia(m storage.Media) []byte {
	e := newEncoder(40 + len(m.Uploader) + len(m.Name) + len(m.MIME) + len(m.Preview.Thumb))
	e.string(m.Uploader)
	e.string(m.Name)
	e.string(m.MIME)
	e.int(m.Size)
	e.bool(m.Complete)
	e.time(m.CreatedAt)
	e.uint(m.AttachedSeq)
	timed := m.Preview.DurationMs != 0
	encodePreview(e, m.Preview, timed)
	if timed { // written after previews had no length: an optional trailing field
		e.uint(uint64(m.Preview.DurationMs))
	}
	return e.b
}

func decodeMedia(conv, id string, b []byte) (storage.Media, error) {
	d := newDecoder(b)
	m := storage.Media{ConvID: conv, ID: id}
	m.Uploader = d.string()
	m.Name = d.string()
	m.MIME = d.string()
	m.Size = d.int()
	m.Complete = d.bool()
	m.CreatedAt = d.time()
	if len(d.b) > 0 { // written before uploads were attached once
		m.AttachedSeq = d.uint()
	}
	m.Preview = decodePreview(d)
	if d.err == nil && len(d.b) > 0 {
		m.Preview.DurationMs = uint32(d.uint())
	}
	return m, d.err
}

// getMedia reads an upload's description from r (ErrNotFound).
func getMedia(r pebble.Reader, conv, id string) (storage.Media, error) {
	v, found, err := get(r, mediaKey(conv, id))
	if err != nil {
		return storage.Media{}, err
	}
	if !found {
		return storage.Media{}, fmt.Errorf("media %s of %q: %w", id, conv, storage.ErrNotFound)
	}
	return decodeMedia(conv, id, v)
}

func (s *Store) CreateMedia(ctx context.Context, m storage.Media) error {
	if err := s.limits.CheckMedia(m); err != nil {
		return err
	}
	m.Complete, m.CreatedAt, m.AttachedSeq = false, storage.Millis(m.CreatedAt), 0
	k := mediaKey(m.ConvID, m.ID)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		if found, err := exists(b, k); err != nil || found {
			if found {
				err = fmt.Errorf("media %s of %q: %w", m.ID, m.ConvID, storage.ErrExists)
			}
			return err
		}
		if err := b.Set(mediaOpenKey(m), nil, nil); err != nil {
			return err
		}
		return b.Set(k, encodeMedia(m), nil)
	})
}

func (s *Store) GetMedia(ctx context.Context, convID, id string) (storage.Media, error) {
	if err := s.checkPair("conversation", convID, "media", id); err != nil {
		return storage.Media{}, err
	}
	var m storage.Media
	err := s.read(func(db *pebble.DB) (err error) {
		m, err = getMedia(db, convID, id)
		return err
	})
	return m, err
}

func (s *Store) PutMediaChunk(ctx context.Context, convID, id string, i int, data []byte) error {
	if err := s.checkPair("conversation", convID, "media", id); err != nil {
		return err
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		m, err := getMedia(b, convID, id)
		if err != nil {
			return err
		}
		if m.Complete {
			return fmt.Errorf("media %s is complete: %w", id, storage.ErrInvalid)
		}
		if err := m.CheckChunk(i, data); err != nil {
			return err
		}
		return b.Set(mediaChunkKey(convID, id, i), data, nil)
	})
}

func (s *Store) CompleteMedia(ctx context.Context, convID, id string) (storage.Media, error) {
	if err := s.checkPair("conversation", convID, "media", id); err != nil {
		return storage.Media{}, err
	}
	var m storage.Media
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		var err error
		if m, err = getMedia(b, convID, id); err != nil || m.Complete {
			return err
		}
		for i := range m.Chunks() {
			v, found, err := get(b, mediaChunkKey(convID, id, i))
			if err != nil {
				return err
			}
			if !found || len(v) != m.ChunkLen(i) {
				return fmt.Errorf("media %s: chunk %d of %d is missing: %w", id, i, m.Chunks(), storage.ErrInvalid)
			}
		}
		m.Complete = true
		return b.Set(mediaKey(convID, id), encodeMedia(m), nil)
	})
	return m, err
}

func (s *Store) AttachMedia(ctx context.Context, convID, id string, seq uint64) error {
	if err := s.checkPair("conversation", convID, "media", id); err != nil {
		return err
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		m, err := getMedia(b, convID, id)
		if err != nil {
			return err
		}
		m.AttachedSeq = seq
		return b.Set(mediaKey(convID, id), encodeMedia(m), nil)
	})
}

func (s *Store) SettleMedia(ctx context.Context, convID, id string) error {
	return s.changeMedia(ctx, convID, id, func(b *pebble.Batch, m storage.Media) error {
		return b.Delete(mediaOpenKey(m), nil)
	})
}

// changeMedia commits what change writes of an upload in one batch, and
// nothing when the upload is absent.
func (s *Store) changeMedia(ctx context.Context, convID, id string, change func(*pebble.Batch, storage.Media) error) error {
	if err := s.checkPair("conversation", convID, "media", id); err != nil {
		return err
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		m, err := getMedia(b, convID, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		return change(b, m)
	})
}

func (s *Store) UnsettledMedia(ctx context.Context, hour time.Time, limit int) ([]storage.Media, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("limit %d: %w", limit, storage.ErrInvalid)
	}
	p := mediaHourPrefix(hour)
	var out []storage.Media
	err := s.read(func(db *pebble.DB) error {
		return scanDB(db, p, upperBound(p), false, func(k, _ []byte) (bool, error) {
			conv, id, ok := bytes.Cut(k[len(p):], []byte{0})
			if !ok {
				return false, fmt.Errorf("upload key %q: %w", k, errCorrupt)
			}
			m, err := getMedia(db, string(conv), string(id))
			if err != nil {
				return false, err
			}
			out = append(out, m)
			return len(out) < limit, nil
		})
	})
	return out, err
}

func (s *Store) ReadMediaChunk(ctx context.Context, convID, id string, i int) ([]byte, error) {
	if err := s.checkPair("conversation", convID, "media", id); err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, fmt.Errorf("chunk %d: %w", i, storage.ErrInvalid)
	}
	v, found, err := s.sget(mediaChunkKey(convID, id, i))
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of media %s: %w", i, id, err)
	}
	if !found {
		return nil, fmt.Errorf("chunk %d of media %s of %q: %w", i, id, convID, storage.ErrNotFound)
	}
	return v, nil
}

func (s *Store) DeleteMedia(ctx context.Context, convID, id string) error {
	p := mediaChunkPrefix(convID, id)
	return s.changeMedia(ctx, convID, id, func(b *pebble.Batch, m storage.Media) error {
		if err := b.DeleteRange(p, upperBound(p), nil); err != nil {
			return err
		}
		if err := b.Delete(mediaOpenKey(m), nil); err != nil {
			return err
		}
		return b.Delete(mediaKey(convID, id), nil)
	})
}
