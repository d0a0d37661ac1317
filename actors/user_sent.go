package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-im/switchboard/storage"
)

// The messages a user sent, across every conversation they were ever in:
// what a user's request for their data gets (SentMessages), and what an
// erasure recalls (EraseUser). No index holds them: the walk reads the
// user's conversations' logs, so it is an operator's job, paged.

// SentCursor is where a walk of a user's sent messages stands: after
// message Seq of conversation Conv; the zero cursor is the start.
type SentCursor struct {
	Conv string
	Seq  uint64
}

func (c SentCursor) check() error {
	if c.Conv == "" {
		return nil
	}
	return checkConv(c.Conv)
}

// walkPage is how many rows one read of a log or of the memberships returns.
const walkPage = 1000

// walkStats counts what a walk read.
type walkStats struct {
	conversations int // conversations whose logs it started reading
	rows          int // log rows it read
}

// walkSent calls visit with each message user sent (text, edits, cards
// and the desk steps that hold their words; not their recall events,
// which carry no content), conversation by
// conversation in id order and by seq within each, starting after from.
// It reads at most maxRows log rows (0: no bound). visit answering false
// stops the walk after that message, an error before it. It returns
// where it stopped, and done when it reached the end.
func (n *Runtime) walkSent(ctx context.Context, user string, from SentCursor, maxRows int,
	visit func(conv string, m storage.Message) (bool, error)) (at SentCursor, done bool, st walkStats, err error) {
	at = from
	// conv reads one conversation from seq start; stop: the walk ends here.
	// A conversation counts once, when read from its start.
	conv := func(m storage.Member, start uint64) (stop bool, err error) {
		if start == 1 {
			st.conversations++
		}
		for {
			limit := walkPage
			if maxRows > 0 {
				if limit = min(limit, maxRows-st.rows); limit <= 0 {
					return true, nil
				}
			}
			// A member who left wrote nothing after; one who came back may
			// have written before their last join: from seq 1.
			page, err := n.store.ListMessages(ctx, m.ConvID, start, m.LeftSeq, storage.OldestFirst, limit)
			if err != nil {
				return true, fmt.Errorf("messages of %s: %w", m.ConvID, fromPB(storeErr(err)))
			}
			for _, msg := range page {
				if err := ctx.Err(); err != nil {
					return true, err
				}
				st.rows++
				if msg.Sender == user && (msg.Kind.Content() || holdsDeskWords(msg)) {
					more, err := visit(m.ConvID, msg)
					if err != nil {
						return true, err // at stays before msg: a walk resumed there visits it again
					}
					at = SentCursor{Conv: m.ConvID, Seq: msg.Seq}
					if !more {
						return true, nil
					}
					continue
				}
				at = SentCursor{Conv: m.ConvID, Seq: msg.Seq}
			}
			if len(page) < limit {
				return false, nil
			}
			start = page[len(page)-1].Seq + 1
		}
	}
	if from.Conv != "" {
		m, err := n.store.GetMember(ctx, from.Conv, user)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return at, false, st, fmt.Errorf("membership in %s: %w", from.Conv, fromPB(storeErr(err)))
		default:
			if stop, err := conv(m, from.Seq+1); stop || err != nil {
				return at, false, st, err
			}
		}
	}
	for after := from.Conv; ; {
		ms, err := n.store.ListMemberships(ctx, user, after, walkPage)
		if err != nil {
			return at, false, st, fmt.Errorf("memberships: %w", fromPB(storeErr(err)))
		}
		for _, m := range ms {
			if stop, err := conv(m, 1); stop || err != nil {
				return at, false, st, err
			}
		}
		if len(ms) < walkPage {
			return at, true, st, nil
		}
		after = ms[len(ms)-1].ConvID
	}
}

// holdsDeskWords: m is a desk step whose body holds what its actor typed
// (conversation_desk.go, deskWords).
func holdsDeskWords(m storage.Message) bool {
	if m.Kind != storage.MsgSystem || m.Recalled() {
		return false
	}
	_, found := deskFields(m.Body)
	return found
}

// MaxSentPage bounds the messages one SentMessages call returns.
const MaxSentPage = 1000

// SentMessages returns up to limit (at most MaxSentPage) of the messages
// user sent, after from, in the order walkSent gives, and the cursor to
// go on from; done when there are no more. It reads at most maxRows log
// rows (0: no bound), so it may return fewer than limit, even none, with
// done false: go on from next.
func (n *Runtime) SentMessages(ctx context.Context, user string, from SentCursor, limit, maxRows int) (msgs []storage.Message, next SentCursor, done bool, err error) {
	if err := checkUser(user); err != nil {
		return nil, next, false, err
	}
	if err := from.check(); err != nil {
		return nil, next, false, err
	}
	if limit <= 0 || limit > MaxSentPage {
		limit = MaxSentPage
	}
	next, done, _, err = n.walkSent(ctx, user, from, maxRows, func(conv string, m storage.Message) (bool, error) {
		m, _ = asOf(m, n.contentClock(conv))
		msgs = append(msgs, m)
		return len(msgs) < limit, nil
	})
	return msgs, next, done, err
}
