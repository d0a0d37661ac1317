package cql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

// Media: a row per upload, a partition of chunks per upload.

type mediaRow struct {
	ConvID    string     `db:"conv_id"`
	MediaID   string     `db:"media_id"`
	Uploader  string     `db:"uploader"`
	Name      string     `db:"name"`
	MIME      string     `db:"mime"`
	Size      int64      `db:"size"`
	Complete  bool       `db:"complete"`
	CreatedAt *time.Time `db:"created_at"`
	Width     int64      `db:"width"`
	Height    int64      `db:"height"`
	Thumb     []byte     `db:"thumb"`
	Duration  int64      `db:"duration_ms"` // null (0) in rows written before lengths
	Attached  *int64     `db:"attached_seq"`
}

func (r mediaRow) media() storage.Media {
	return storage.Media{ConvID: r.ConvID, ID: r.MediaID, Uploader: r.Uploader, Name: r.Name, MIME: r.MIME,
		Size: r.Size, Complete: r.Complete, CreatedAt: fromTS(r.CreatedAt), AttachedSeq: u64(r.Attached),
		Preview: storage.Preview{Width: uint32(r.Width), Height: uint32(r.Height), Thumb: noEmpty(r.Thumb), DurationMs: uint32(r.Duration)}}
}

// mediaCols are written by CreateMedia; attached_seq stays null (no
// tombstone) until AttachMedia.
var mediaCols = []string{"conv_id", "media_id", "uploader", "name", "mime", "size", "complete", "created_at", "width", "height", "thumb", "duration_ms"}

var (
	mediaInsert   = mk(qb.Insert("media").Columns(mediaCols...).Unique().ToCql())
	mediaGet      = mk(qb.Select("media").Columns(append(mediaCols, "attached_seq")...).Where(qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
	mediaComplete = mk(qb.Update("media").Set("complete").Where(qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
	mediaAttach   = mk(qb.Update("media").Set("attached_seq").Where(qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
	mediaDelete   = mk(qb.Delete("media").Where(qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
	openInsert    = mk(qb.Insert("media_open").Columns("hour", "conv_id", "media_id").ToCql())
	openList      = mk(qb.Select("media_open").Columns("conv_id", "media_id").Where(qb.Eq("hour")).ToCql())
	openDelete    = mk(qb.Delete("media_open").Where(qb.Eq("hour"), qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
	chunkInsert   = mk(qb.Insert("media_chunks").Columns("conv_id", "media_id", "chunk", "len", "data").ToCql())
	chunkLens     = mk(qb.Select("media_chunks").Columns("chunk", "len").Where(qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
	chunkGet      = mk(qb.Select("media_chunks").Columns("data").Where(qb.Eq("conv_id"), qb.Eq("media_id"), qb.Eq("chunk")).ToCql())
	chunksDelete  = mk(qb.Delete("media_chunks").Where(qb.Eq("conv_id"), qb.Eq("media_id")).ToCql())
)

func (s *Store) checkMediaIDs(convID, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return err
	}
	return s.lim.CheckID("media", id)
}

// CreateMedia lists the upload under its hour, then inserts its row if it
// is not there (a lightweight transaction: one per upload). A listing
// whose row never came is dropped by UnsettledMedia.
func (s *Store) CreateMedia(ctx context.Context, m storage.Media) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckMedia(m); err != nil {
		return err
	}
	row := mediaRow{ConvID: m.ConvID, MediaID: m.ID, Uploader: m.Uploader, Name: m.Name, MIME: m.MIME, Size: m.Size, CreatedAt: ts(m.CreatedAt),
		Width: int64(m.Preview.Width), Height: int64(m.Preview.Height), Thumb: emptyNotNull(m.Preview.Thumb), Duration: int64(m.Preview.DurationMs)}
	op := fmt.Sprintf("create media %q/%s", m.ConvID, m.ID)
	if err := s.query(ctx, openInsert).Bind(storage.MediaHour(m.CreatedAt), m.ConvID, m.ID).ExecRelease(); err != nil {
		return s.wrap(op, err)
	}
	applied, err := s.lwt(ctx, mediaInsert).BindStruct(row).ExecCASRelease()
	if err != nil {
		return s.wrap(op, err)
	}
	if !applied {
		return fmt.Errorf("cql: %s: %w", op, storage.ErrExists)
	}
	return nil
}

func (s *Store) GetMedia(ctx context.Context, convID, id string) (storage.Media, error) {
	if err := s.checkMediaIDs(convID, id); err != nil {
		return storage.Media{}, err
	}
	var row mediaRow
	if err := s.query(ctx, mediaGet).Bind(convID, id).GetRelease(&row); err != nil {
		return storage.Media{}, s.wrap(fmt.Sprintf("get media %q/%s", convID, id), err)
	}
	return row.media(), nil
}

// PutMediaChunk reads the upload's row to check the chunk, then writes it.
func (s *Store) PutMediaChunk(ctx context.Context, convID, id string, i int, data []byte) error {
	m, err := s.GetMedia(ctx, convID, id)
	if err != nil {
		return err
	}
	if m.Complete {
		return fmt.Errorf("cql: media %s is complete: %w", id, storage.ErrInvalid)
	}
	if err := m.CheckChunk(i, data); err != nil {
		return err
	}
	err = s.query(ctx, chunkInsert).Bind(convID, id, i, len(data), data).ExecRelease()
	return s.wrap(fmt.Sprintf("put chunk %d of media %q/%s", i, convID, id), err)
}

// CompleteMedia reads the chunks' lengths (not their data) and marks the
// upload complete when they are all there.
func (s *Store) CompleteMedia(ctx context.Context, convID, id string) (storage.Media, error) {
	m, err := s.GetMedia(ctx, convID, id)
	if err != nil || m.Complete {
		return m, err
	}
	var rows []struct {
		Chunk int `db:"chunk"`
		Len   int `db:"len"`
	}
	op := fmt.Sprintf("complete media %q/%s", convID, id)
	if err := s.query(ctx, chunkLens).Bind(convID, id).SelectRelease(&rows); err != nil {
		return storage.Media{}, s.wrap(op, err)
	}
	for i := range m.Chunks() {
		if i >= len(rows) || rows[i].Chunk != i || rows[i].Len != m.ChunkLen(i) {
			return storage.Media{}, fmt.Errorf("cql: media %s: chunk %d of %d is missing: %w", id, i, m.Chunks(), storage.ErrInvalid)
		}
	}
	if err := s.query(ctx, mediaComplete).Bind(true, convID, id).ExecRelease(); err != nil {
		return storage.Media{}, s.wrap(op, err)
	}
	m.Complete = true
	return m, nil
}

// AttachMedia writes the row's attached_seq; the listing stays until
// SettleMedia.
func (s *Store) AttachMedia(ctx context.Context, convID, id string, seq uint64) error {
	if _, err := s.GetMedia(ctx, convID, id); err != nil {
		return err
	}
	if seq > math.MaxInt64 {
		return fmt.Errorf("cql: seq %d: %w", seq, storage.ErrInvalid)
	}
	return s.wrap(fmt.Sprintf("attach media %q/%s", convID, id), s.query(ctx, mediaAttach).Bind(int64(seq), convID, id).ExecRelease())
}

// SettleMedia drops the upload's listing.
func (s *Store) SettleMedia(ctx context.Context, convID, id string) error {
	m, found, err := s.mediaIfAny(ctx, convID, id)
	if !found {
		return err
	}
	return s.wrap(fmt.Sprintf("settle media %q/%s", convID, id), s.query(ctx, openDelete).Bind(storage.MediaHour(m.CreatedAt), convID, id).ExecRelease())
}

// UnsettledMedia reads the hour's listing and each upload's row; a
// listing whose upload is gone (a crash between two writes) is dropped on
// the way.
func (s *Store) UnsettledMedia(ctx context.Context, hour time.Time, limit int) ([]storage.Media, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("cql: limit %d: %w", limit, storage.ErrInvalid)
	}
	hour = storage.MediaHour(hour)
	// Read page by page until limit live uploads are found or the hour
	// ends: stale listings dropped on the way do not end the list early.
	iter := s.query(ctx, openList).Bind(hour).PageSize(500).Iter()
	var row struct {
		ConvID  string `db:"conv_id"`
		MediaID string `db:"media_id"`
	}
	var out []storage.Media
	for len(out) < limit && iter.StructScan(&row) {
		m, err := s.GetMedia(ctx, row.ConvID, row.MediaID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			if err := s.query(ctx, openDelete).Bind(hour, row.ConvID, row.MediaID).ExecRelease(); err != nil {
				_ = iter.Close()
				return out, s.wrap("drop a stale upload listing", err)
			}
			continue
		case err != nil:
			_ = iter.Close()
			return out, err
		}
		out = append(out, m)
	}
	if err := iter.Close(); err != nil {
		return out, s.wrap("list unsettled media", err)
	}
	return out, nil
}

func (s *Store) ReadMediaChunk(ctx context.Context, convID, id string, i int) ([]byte, error) {
	if err := s.checkMediaIDs(convID, id); err != nil {
		return nil, err
	}
	if i < 0 || i > math.MaxInt32 {
		return nil, fmt.Errorf("cql: chunk %d: %w", i, storage.ErrInvalid)
	}
	var row struct {
		Data []byte `db:"data"`
	}
	if err := s.query(ctx, chunkGet).Bind(convID, id, i).GetRelease(&row); err != nil {
		return nil, s.wrap(fmt.Sprintf("read chunk %d of media %q/%s", i, convID, id), err)
	}
	return row.Data, nil
}

// mediaIfAny reads an upload; found false, and no error, when it is
// absent.
func (s *Store) mediaIfAny(ctx context.Context, convID, id string) (m storage.Media, found bool, err error) {
	m, err = s.GetMedia(ctx, convID, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return m, false, nil
	case err != nil:
		return m, false, err
	}
	return m, true, nil
}

// DeleteMedia deletes the chunks' partition, then the row, then its
// listing (left behind by a crash, UnsettledMedia drops it).
func (s *Store) DeleteMedia(ctx context.Context, convID, id string) error {
	m, found, err := s.mediaIfAny(ctx, convID, id)
	if !found {
		return err
	}
	op := fmt.Sprintf("delete media %q/%s", convID, id)
	if err := s.query(ctx, chunksDelete).Bind(convID, id).ExecRelease(); err != nil {
		return s.wrap(op, err)
	}
	if err := s.query(ctx, mediaDelete).Bind(convID, id).ExecRelease(); err != nil {
		return s.wrap(op, err)
	}
	return s.wrap(op, s.query(ctx, openDelete).Bind(storage.MediaHour(m.CreatedAt), convID, id).ExecRelease())
}
