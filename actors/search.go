package actors

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"unicode/utf8"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
)

// Search limits: the words searched for, and the matches one answer holds.
const (
	MaxSearchQueryBytes = 200
	MaxSearchResults    = 50
)

// searchPage is how many log rows one store read of a search takes.
const searchPage = 500

// SearchQuery is what a search looks for (session.SearchQuery): words, and
// filters by sender, files and thread.
type SearchQuery = session.SearchQuery

// checkSearch checks q and answers its words in lower case (the needle;
// empty for a search by filters alone). everywhere: a search of all the
// user's conversations, where a thread (ReplyTo) means nothing.
func checkSearch(q SearchQuery, everywhere bool) (string, error) {
	if q.Sender != "" {
		if err := checkUser(q.Sender); err != nil {
			return "", err
		}
	}
	if everywhere && q.ReplyTo != 0 {
		return "", invalid("a thread (reply_to) is searched in one conversation")
	}
	if q.Text == "" && q.Filtered() {
		return "", nil
	}
	return searchNeedle(q.Text)
}

// Search finds, newest first, the messages of conv that user can read
// (what History gives them) whose text holds q.Text, ignoring case: texts,
// edits (as themselves: an edit's ref_seq names the message it changed,
// whose older text no longer matches), captions and file names, cards;
// and of those, the ones that pass q's filters. A search by filters alone
// (no text) finds messages of their own (not edits), each with its newest
// edit's text: the files of a conversation, one member's messages, the
// replies to one message. It reads the log backwards from before (0: the
// latest; a thread stops at its message) and stops at limit matches (at
// most MaxSearchResults) or after Config.MaxSearchScan rows; next is
// where to go on (the seq to pass as before), 0 once the start of what
// user can read was reached.
func (n *Runtime) Search(ctx context.Context, user, conv string, q SearchQuery, before uint64, limit int) (found []*pb.Message, next uint64, err error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, 0, err
	}
	needle, err := checkSearch(q, false)
	if err != nil {
		return nil, 0, err
	}
	found, next, _, err = n.searchConv(ctx, user, conv, needle, q, before, searchLimit(limit), n.cfg.MaxSearchScan)
	return found, next, err
}

// searchNeedle checks a query and answers it in lower case.
func searchNeedle(query string) (string, error) {
	switch {
	case strings.TrimSpace(query) == "":
		return "", invalid("an empty search")
	case len(query) > MaxSearchQueryBytes:
		return "", fromPB(pbErr(pb.Code_TOO_LARGE, "a search of %d bytes, limit %d", len(query), MaxSearchQueryBytes))
	case !utf8.ValidString(query):
		return "", invalid("a search that is not UTF-8")
	}
	return strings.ToLower(query), nil
}

func searchLimit(limit int) int {
	if limit <= 0 || limit > MaxSearchResults {
		return MaxSearchResults
	}
	return limit
}

// searchConv is Search with the query checked and its words lowered
// (needle) and its own bound on the rows read (maxScan, at least 1);
// scanned says how many it read.
func (n *Runtime) searchConv(ctx context.Context, user, conv, needle string, q SearchQuery, before uint64, limit, maxScan int) (found []*pb.Message, next uint64, scanned int, err error) {
	mem, err := n.authorize(ctx, conv, user, ActHistory)
	if err != nil {
		return nil, 0, 0, err
	}
	from, to := max(mem.VisibleFrom(), q.ReplyTo+1, 1), uint64(math.MaxUint64)
	if mem.LeftSeq > 0 {
		to = mem.LeftSeq
	}
	if before > 0 {
		if before <= from {
			return nil, 0, 0, nil
		}
		to = min(to, before-1)
	}
	edits := map[uint64][]byte{} // originals whose text an edit replaced: the newest edit's (seen first, newest first)
	clock := n.contentClock(conv)
	for scanned < maxScan && to >= from {
		page := min(searchPage, maxScan-scanned)
		bound := to
		if bound == math.MaxUint64 {
			bound = 0 // the store's "no upper bound"
		}
		msgs, err := n.store.ListMessages(ctx, conv, from, bound, storage.NewestFirst, page)
		if err != nil {
			return nil, 0, scanned, fromPB(storeErr(err))
		}
		for i := range msgs {
			m := &msgs[i]
			scanned++
			if _, seen := edits[m.RefSeq]; m.Edit() && !seen {
				edits[m.RefSeq] = m.Body
			}
			newest, edited := edits[m.Seq]
			if needle == "" && !m.Edit() && edited {
				m.Body = newest // a listing by filters shows the text as it is now
			}
			if matches(m, needle) && (needle == "" || !edited) && passes(m, q, user) && !expiredAt(m, clock) && !mem.HidesRow(m) {
				found = append(found, toPBMessage(m))
				if len(found) == limit {
					return found, m.Seq, scanned, nil
				}
			}
			to = m.Seq - 1
		}
		if len(msgs) < page || to < from {
			return found, 0, scanned, nil
		}
	}
	if to < from {
		return found, 0, scanned, nil
	}
	return found, to + 1, scanned, nil
}

// SearchCursor is where a search of all of a user's conversations goes
// on: in Conv (inclusive) before Before (0: from its latest), then the
// conversations after it. The zero cursor starts at the top of the list.
type SearchCursor struct {
	Conv   string
	Before uint64
}

// SearchEverywhere is Search across every conversation of user's, in the
// order their conversation list shows them (pinned first, then by last
// activity; then the archived ones): newest first within each. It reads
// at most Config.MaxSearchScan messages and Config.MaxSearchConversations
// conversations per call; next is where to go on, the zero cursor once
// the last conversation was read. A cursor whose conversation is no
// longer in the user's lists (they left it) ends the search; a
// conversation that moved in the list while the pages were read may be
// skipped or read twice.
func (n *Runtime) SearchEverywhere(ctx context.Context, user string, q SearchQuery, from SearchCursor, limit int) (found []*pb.Message, next SearchCursor, err error) {
	if err := checkUser(user); err != nil {
		return nil, next, err
	}
	if from.Conv != "" {
		if err := checkConv(from.Conv); err != nil {
			return nil, next, err
		}
	}
	needle, err := checkSearch(q, true)
	if err != nil {
		return nil, next, err
	}
	// One past the bound: the conversation the next page starts at.
	convs, err := n.conversationIDs(ctx, user, from.Conv, n.cfg.MaxSearchConversations+1)
	if err != nil {
		return nil, next, err
	}
	if from.Conv != "" && (len(convs) == 0 || convs[0] != from.Conv) {
		return nil, next, nil // the cursor's conversation left the lists
	}
	limit = searchLimit(limit)
	budget := n.cfg.MaxSearchScan
	for i, conv := range convs {
		if i == n.cfg.MaxSearchConversations || budget <= 0 {
			return found, SearchCursor{Conv: conv}, nil
		}
		before := uint64(0)
		if i == 0 {
			before = from.Before
		}
		got, more, scanned, err := n.searchConv(ctx, user, conv, needle, q, before, limit-len(found), budget)
		switch {
		case CodeOf(err) == pb.Code_FORBIDDEN || CodeOf(err) == pb.Code_NOT_FOUND:
			continue // left or erased since the list was read
		case err != nil:
			return nil, SearchCursor{}, err
		}
		found, budget = append(found, got...), budget-max(scanned, 1)
		if more != 0 {
			return found, SearchCursor{Conv: conv, Before: more}, nil
		}
	}
	return found, SearchCursor{}, nil
}

// conversationIDs lists at most limit of user's conversations in their
// lists' order, the archived ones last, from the conversation from on
// (inclusive; none when it is in neither list): one request to the user
// grain, without the summaries a list page builds.
func (n *Runtime) conversationIDs(ctx context.Context, user, from string, limit int) ([]string, error) {
	res, err := n.request(ctx, KindUser, user, &pb.ListConversations{User: user, IdsOnly: true, FromConv: from, Limit: uint32(limit)})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.ListConversationsResponse)
	return r.ConvIds, fromPB(r.Error)
}

// passes: m passes q's filters, for user. An edit passes the sender's
// alone: it carries no file, no reply and no mentions of its own.
func passes(m *storage.Message, q SearchQuery, user string) bool {
	return (q.Sender == "" || m.Sender == q.Sender) && (!q.Files || m.Media.ID != "") &&
		(q.ReplyTo == 0 || m.ReplyTo == q.ReplyTo) && (!q.Mentions || storage.Mentioned(m.Mentions, m.Sender, user)) &&
		(!m.Edit() || !q.Files && q.ReplyTo == 0 && !q.Mentions)
}

// matches: m is a live text, edit, card or poll whose words (or file's
// name) hold needle, already lower case; an empty needle matches any
// such message of its own. A poll's words are its question and options,
// not its JSON's field names.
func matches(m *storage.Message, needle string) bool {
	if m.Recalled() || !m.Kind.Content() {
		return false
	}
	if needle == "" {
		return m.RefSeq == 0 // not an edit, a card's update or a poll's close
	}
	text := string(m.Body)
	if m.Kind == storage.MsgPoll {
		var p Poll
		if json.Unmarshal(m.Body, &p) != nil {
			return false // a poll's close
		}
		text = p.Question + "\n" + strings.Join(p.Options, "\n")
	}
	if strings.Contains(strings.ToLower(text), needle) {
		return true
	}
	return m.Media.ID != "" && strings.Contains(strings.ToLower(m.Media.Name), needle)
}
