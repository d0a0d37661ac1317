package cql

import (
	"context"
	"fmt"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

// Members are stored twice, by conversation (members) and by user
// (memberships); both rows are written in one logged batch, so they end up
// equal even if the coordinator fails half way.

type memberRow struct {
	ConvID    string     `db:"conv_id"`
	UserID    string     `db:"user_id"`
	Role      int        `db:"role"`
	JoinedSeq int64      `db:"joined_seq"`
	LeftSeq   int64      `db:"left_seq"`
	Muted     bool       `db:"muted"`
	JoinedAt  *time.Time `db:"joined_at"`
	// ClearedSeq is null in rows written before 0014.
	ClearedSeq *int64 `db:"cleared_seq"`
	// Hidden is null in rows written before 0017 (storage.AppendSeqs).
	Hidden []byte `db:"hidden"`
	// MutedUntil is null in rows written before 0020; the epoch: no end.
	MutedUntil *time.Time `db:"muted_until"`
}

func (r memberRow) member() (storage.Member, error) {
	hidden, err := storage.ParseSeqs(r.Hidden)
	if err != nil {
		return storage.Member{}, fmt.Errorf("member %q/%q: %w", r.ConvID, r.UserID, err)
	}
	return storage.Member{
		ConvID:     r.ConvID,
		UserID:     r.UserID,
		Role:       storage.Role(r.Role),
		JoinedSeq:  uint64(r.JoinedSeq),
		LeftSeq:    uint64(r.LeftSeq),
		Muted:      r.Muted,
		MutedUntil: mutedUntil(r.MutedUntil),
		JoinedAt:   fromTS(r.JoinedAt),
		ClearedSeq: func() uint64 {
			if r.ClearedSeq == nil {
				return 0
			}
			return uint64(*r.ClearedSeq)
		}(),
		Hidden: hidden,
	}, nil
}

var memberCols = []string{"conv_id", "user_id", "role", "joined_seq", "left_seq", "muted", "joined_at", "cleared_seq", "hidden", "muted_until"}

var (
	memberInsert     = mk(qb.Insert("members").Columns(memberCols...).ToCql())
	membershipInsert = mk(qb.Insert("memberships").Columns(memberCols...).ToCql())
	memberGet        = mk(qb.Select("members").Columns(memberCols...).Where(qb.Eq("conv_id"), qb.Eq("user_id")).ToCql())
	memberLeave      = mk(qb.Update("members").Set("left_seq").Where(qb.Eq("conv_id"), qb.Eq("user_id")).ToCql())
	membershipLeave  = mk(qb.Update("memberships").Set("left_seq").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	memberList       = mk(qb.Select("members").Columns(memberCols...).
				Where(qb.Eq("conv_id"), qb.GtNamed("user_id", "after")).LimitNamed("lim").ToCql())
	membershipList = mk(qb.Select("memberships").Columns(memberCols...).
			Where(qb.Eq("user_id"), qb.GtNamed("conv_id", "after")).LimitNamed("lim").ToCql())
)

// PutMember replaces both rows (INSERT writes every column).
func (s *Store) PutMember(ctx context.Context, m storage.Member) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("conversation", m.ConvID); err != nil {
		return err
	}
	if err := s.lim.CheckID("user", m.UserID); err != nil {
		return err
	}
	if err := checkSeq("joined seq", m.JoinedSeq); err != nil {
		return err
	}
	if err := checkSeq("left seq", m.LeftSeq); err != nil {
		return err
	}
	if err := checkSeq("cleared seq", m.ClearedSeq); err != nil {
		return err
	}
	if err := storage.CheckSeqSet("hidden seqs", m.Hidden); err != nil {
		return err
	}
	cleared := int64(m.ClearedSeq)
	until := untilColumn(m.MutedUntil)
	row := memberRow{
		ConvID: m.ConvID, UserID: m.UserID, Role: int(m.Role), JoinedSeq: int64(m.JoinedSeq),
		LeftSeq: int64(m.LeftSeq), Muted: m.Muted, JoinedAt: ts(m.JoinedAt), ClearedSeq: &cleared,
		Hidden:     storage.AppendSeqs([]byte{}, m.Hidden), // empty, never null: a null is a tombstone
		MutedUntil: &until,
	}
	b := s.sess.Session.NewBatch(gocql.LoggedBatch).WithContext(ctx)
	b.Query(memberInsert.cql, structArgs(memberInsert.names, row)...)
	b.Query(membershipInsert.cql, structArgs(membershipInsert.names, row)...)
	return s.wrap(fmt.Sprintf("put member %q/%q", m.ConvID, m.UserID), s.sess.Session.ExecuteBatch(b))
}

// GetMember reads the by-conversation row.
func (s *Store) GetMember(ctx context.Context, convID, userID string) (storage.Member, error) {
	if err := s.check(); err != nil {
		return storage.Member{}, err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return storage.Member{}, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return storage.Member{}, err
	}
	var row memberRow
	if err := s.query(ctx, memberGet).Bind(convID, userID).GetRelease(&row); err != nil {
		return storage.Member{}, s.wrap(fmt.Sprintf("get member %q/%q", convID, userID), err)
	}
	m, err := row.member()
	return m, s.wrap(fmt.Sprintf("get member %q/%q", convID, userID), err)
}

// ListMembers slices the conversation's partition after afterUser.
func (s *Store) ListMembers(ctx context.Context, convID, afterUser string, limit int) ([]storage.Member, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return nil, err
	}
	return s.listMembers(ctx, memberList, map[string]any{"conv_id": convID, "after": afterUser}, limit)
}

// ListMemberships slices the user's partition after afterConv.
func (s *Store) ListMemberships(ctx context.Context, userID, afterConv string, limit int) ([]storage.Member, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return nil, err
	}
	return s.listMembers(ctx, membershipList, map[string]any{"user_id": userID, "after": afterConv}, limit)
}

func (s *Store) listMembers(ctx context.Context, st stmt, args map[string]any, limit int) ([]storage.Member, error) {
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	args["lim"] = limit
	var rows []memberRow
	if err := s.query(ctx, st).BindMap(args).SelectRelease(&rows); err != nil {
		return nil, s.wrap("list members", err)
	}
	out := make([]storage.Member, len(rows))
	for i, r := range rows {
		m, err := r.member()
		if err != nil {
			return nil, s.wrap("list members", err)
		}
		out[i] = m
	}
	return out, nil
}
