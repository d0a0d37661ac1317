package actors

import (
	"context"
	"errors"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
)

// Who read a message. A teacher who posts homework to a class, or a
// seller who answers in a group, wants to know who read it and who did
// not. Direct conversations have receipts for that; a group has too many
// members to push one per reader, so its sender asks instead, a page of
// members at a time, read from their durable read cursors (no grain need
// be active, as for history).

// MaxReadersPage bounds the members one Readers call looks at.
const MaxReadersPage = 200

// Reader is one member's state for a message (session.Reader).
type Reader = session.Reader

// Readers answers, for the sender of the message at seq of conv, which of
// the members who could see it have read it: the active members after
// `after` (by id, at most limit of them, MaxReadersPage when 0 or more),
// the sender left out. next is the last member id looked at when there may
// be more (ask again from it), else "". Anyone but the sender: FORBIDDEN.
func (n *Runtime) Readers(ctx context.Context, user, conv string, seq uint64, after string, limit int) (readers []Reader, next string, err error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, "", err
	}
	if after != "" {
		if err := checkUser(after); err != nil {
			return nil, "", err
		}
	}
	mem, err := n.authorize(ctx, conv, user, ActHistory)
	if err != nil {
		return nil, "", err
	}
	if seq == 0 || !mem.Sees(seq) {
		return nil, "", fromPB(pbErr(pb.Code_NOT_FOUND, "no message %d of %s that %s sees", seq, conv, user))
	}
	m, err := n.store.GetMessage(ctx, conv, seq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, "", fromPB(pbErr(pb.Code_NOT_FOUND, "no message %d in %s", seq, conv))
	case err != nil:
		return nil, "", fromPB(storeErr(err))
	case !m.Kind.Content() || m.RefSeq != 0 || m.Recalled():
		return nil, "", fromPB(pbErr(pb.Code_NOT_FOUND, "no message %d in %s", seq, conv))
	case m.Sender != user:
		return nil, "", forbidden("only the sender of message %d asks who read it", seq)
	}
	if limit <= 0 || limit > MaxReadersPage {
		limit = MaxReadersPage
	}
	members, err := n.store.ListMembers(ctx, conv, after, limit)
	if err != nil {
		return nil, "", fromPB(storeErr(err))
	}
	for _, mb := range members {
		if mb.UserID == user || !mb.Active() || mb.JoinedSeq > seq {
			continue
		}
		uc, err := n.store.GetUserConv(ctx, mb.UserID, conv)
		if err != nil {
			return nil, "", fromPB(storeErr(err))
		}
		readers = append(readers, Reader{User: mb.UserID, Read: uc.ReadSeq >= seq})
	}
	if len(members) == limit {
		next = members[len(members)-1].UserID
	}
	return readers, next, nil
}
