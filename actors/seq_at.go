package actors

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Jump to a date: SeqAt finds the first message of a conversation sent at
// or after a time, within what the caller sees ("what did we say on
// Monday?"), by a binary search over the log's server times: about
// log2(messages) point reads, whatever the conversation's length, with no
// index of its own. A conversation's server times rise with its seqs (one
// grain assigns both); where a clock stepped back the search still lands
// on a seq beside the time, never outside what the caller sees.

// SeqAt answers the seq of the first message of conv that user sees sent
// at or after at, and its server time; 0 when none is (every message the
// user sees is older).
func (n *Runtime) SeqAt(ctx context.Context, user, conv string, at time.Time) (seq uint64, sent time.Time, err error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return 0, time.Time{}, err
	}
	mem, err := n.authorize(ctx, conv, user, ActHistory)
	if err != nil {
		return 0, time.Time{}, err
	}
	head, err := n.store.GetConversation(ctx, conv)
	if err != nil {
		return 0, time.Time{}, fromPB(storeErr(err))
	}
	lo, hi := max(mem.VisibleFrom(), 1), head.LastSeq
	if mem.LeftSeq > 0 {
		hi = min(hi, mem.LeftSeq)
	}
	// The first seq in [lo, hi] whose row is at or after at: rows before
	// it are older. found stays 0 while none is seen.
	var found uint64
	for lo <= hi {
		mid := lo + (hi-lo)/2
		m, err := n.store.GetMessage(ctx, conv, mid)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			hi = mid - 1 // past the log's end (its head ran ahead): look lower
			continue
		case err != nil:
			return 0, time.Time{}, fromPB(storeErr(err))
		}
		if m.ServerTS.Before(at) {
			lo = mid + 1
			continue
		}
		found, sent = mid, m.ServerTS
		hi = mid - 1 // lo ≥ 1: no wrap
	}
	return found, sent, nil
}
