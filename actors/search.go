package actors

import (
	"context"
	"errors"
	"math"
	"strings"
	"unicode/utf8"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Search limits: the words searched for, and the matches one answer holds.
const (
	MaxSearchQueryBytes = 200
	MaxSearchResults    = 50
)

// searchPage is how many log rows one store read of a search takes.
const searchPage = 500

// Search finds, newest first, the messages of conv that user can read
// (what History gives them) whose text holds query, ignoring case: texts,
// edits (as themselves: an edit's ref_seq names the message it changed,
// whose older text no longer matches), captions and file names, cards.
// It reads the log backwards from before (0: the latest) and stops at
// limit matches (at most MaxSearchResults) or after Config.MaxSearchScan
// rows; next is where to go on (the seq to pass as before), 0 once the
// start of what user can read was reached.
func (n *Runtime) Search(ctx context.Context, user, conv, query string, before uint64, limit int) (found []*pb.Message, next uint64, err error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, 0, err
	}
	switch {
	case strings.TrimSpace(query) == "":
		return nil, 0, invalid("an empty search")
	case len(query) > MaxSearchQueryBytes:
		return nil, 0, fromPB(pbErr(pb.Code_TOO_LARGE, "a search of %d bytes, limit %d", len(query), MaxSearchQueryBytes))
	case !utf8.ValidString(query):
		return nil, 0, invalid("a search that is not UTF-8")
	}
	if limit <= 0 || limit > MaxSearchResults {
		limit = MaxSearchResults
	}
	mem, err := n.authorize(ctx, conv, user, ActHistory)
	if err != nil {
		return nil, 0, err
	}
	from, to := max(mem.JoinedSeq, 1), uint64(math.MaxUint64)
	if mem.LeftSeq > 0 {
		to = mem.LeftSeq
	}
	if before > 0 {
		if before <= from {
			return nil, 0, nil
		}
		to = min(to, before-1)
	}
	needle := strings.ToLower(query)
	edited := map[uint64]bool{} // originals whose text an edit (seen first, newest first) replaced
	for scanned := 0; scanned < n.cfg.MaxSearchScan && to >= from; {
		page := min(searchPage, n.cfg.MaxSearchScan-scanned)
		bound := to
		if bound == math.MaxUint64 {
			bound = 0 // the store's "no upper bound"
		}
		msgs, err := n.store.ListMessages(ctx, conv, from, bound, storage.NewestFirst, page)
		if err != nil {
			return nil, 0, fromPB(storeErr(err))
		}
		for i := range msgs {
			m := &msgs[i]
			scanned++
			if m.Edit() {
				edited[m.RefSeq] = true
			}
			if matches(m, needle) && !edited[m.Seq] {
				found = append(found, toPBMessage(m))
				if len(found) == limit {
					return found, m.Seq, nil
				}
			}
			to = m.Seq - 1
		}
		if len(msgs) < page || to < from {
			return found, 0, nil
		}
	}
	if to < from {
		return found, 0, nil
	}
	return found, to + 1, nil
}

// matches: m is a live text, edit or card whose words (or file's name)
// hold needle, already lower case.
func matches(m *storage.Message, needle string) bool {
	if m.Recalled() || (m.Kind != storage.MsgNormal && m.Kind != storage.MsgCard) {
		return false
	}
	if strings.Contains(strings.ToLower(string(m.Body)), needle) {
		return true
	}
	return m.Media.ID != "" && strings.Contains(strings.ToLower(m.Media.Name), needle)
}
