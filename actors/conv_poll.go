package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
)

// Polls. A member posts a poll with a send of kind POLL (the body: JSON
// {"question", "options", "multiple"}); members vote with sends of kind
// VOTE (RefSeq: the poll; the body: the JSON array of the option indexes
// chosen; empty: the vote taken back). Votes are in the log as reactions
// are: every device learns of each by push or sync, and a client holding
// the log from a poll on folds its votes itself, the newest of a sender's
// winning. Votes are public to the members, as a reaction is.
//
// The grain keeps a tally of the polls it was asked about (pollTally), so
// it can refuse a vote on a closed poll and answer GetPollResults without
// a client folding the log. A tally is loaded from a snapshot (a
// checkpoint row) and the log after it, and kept in step with what
// becomes durable; snapshots are saved as votes come in, so a load reads
// a short stretch of the log.
//
// A POLL with RefSeq set and no body closes the poll at RefSeq: its
// author, or whoever may recall anybody's message there (a group's owners
// and admins; closing is less than recalling). A vote on a closed poll,
// or a second close, is POLL_CLOSED.

const (
	// MinPollOptions is the fewest options a poll has.
	MinPollOptions = 2
	// MaxPollOptionsLimit bounds Config.MaxPollOptions.
	MaxPollOptionsLimit = 100
	// MaxPollVotersListed bounds GetPollResults.voters_limit.
	MaxPollVotersListed = session.MaxPollVotersListed
	// pollSnapshotEvery: a tally saves a snapshot after this many votes
	// (or a close) since its last one.
	pollSnapshotEvery = 32
	// pollSnapshotReplay: a load that read more messages than this saves
	// a snapshot at once, so the next load does not read them again.
	pollSnapshotReplay = 256
	// maxLoadedPolls bounds the tallies one activation keeps (the least
	// recently used goes; it loads again from its snapshot).
	maxLoadedPolls = 16
	// pollReplayPage is the page a load reads the log in.
	pollReplayPage = 500
)

// Poll is a poll's body. ClosesAtMs, if set, is when it closes by itself
// (Unix ms): from then on it is closed as if its author had closed it,
// though no close is in the log (clients read the time from the poll).
type Poll struct {
	Question   string   `json:"question"`
	Options    []string `json:"options"`
	Multiple   bool     `json:"multiple,omitempty"`
	ClosesAtMs int64    `json:"closes_at_ms,omitempty"`
	// Quiz: one option is right (conv_quiz.go). Correct and Explanation
	// come with the send only: the grain keeps them beside the poll and
	// stores the body without them.
	Quiz        bool    `json:"quiz,omitempty"`
	Correct     *uint32 `json:"correct,omitempty"`
	Explanation string  `json:"explanation,omitempty"`
	// Anonymous: votes are stored under per-poll aliases, never their
	// voters (conv_anonymous.go); groups only.
	Anonymous bool `json:"anonymous,omitempty"`
}

// closedAt reports whether the poll's own deadline has passed at now.
func (p Poll) closedAt(now time.Time) bool {
	return p.ClosesAtMs != 0 && now.UnixMilli() >= p.ClosesAtMs
}

// ParsePoll reads and checks a poll's body: a question (line breaks
// allowed), MinPollOptions to maxOptions distinct options of at most
// maxOptionBytes each, on one line. Unknown fields are refused, so a
// client's misspelt field is an error, not silently dropped.
func ParsePoll(body []byte, maxOptions, maxOptionBytes int) (Poll, error) {
	var p Poll
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Poll{}, fmt.Errorf("a poll is JSON {\"question\", \"options\", \"multiple\", \"closes_at_ms\", \"quiz\", \"correct\", \"explanation\", \"anonymous\"}: %w", err)
	}
	if dec.More() {
		return Poll{}, errors.New("a poll is one JSON object")
	}
	if strings.TrimSpace(p.Question) == "" {
		return Poll{}, errors.New("a poll needs a question")
	}
	if err := printable(p.Question, true); err != nil {
		return Poll{}, fmt.Errorf("the question: %w", err)
	}
	if n := len(p.Options); n < MinPollOptions || n > maxOptions {
		return Poll{}, fmt.Errorf("a poll has %d options: want %d to %d", n, MinPollOptions, maxOptions)
	}
	seen := make(map[string]bool, len(p.Options))
	for i, o := range p.Options {
		switch {
		case strings.TrimSpace(o) == "":
			return Poll{}, fmt.Errorf("option %d is empty", i)
		case len(o) > maxOptionBytes:
			return Poll{}, fmt.Errorf("option %d is %d bytes, limit %d", i, len(o), maxOptionBytes)
		case seen[o]:
			return Poll{}, fmt.Errorf("option %d repeats %q", i, o)
		}
		if err := printable(o, false); err != nil {
			return Poll{}, fmt.Errorf("option %d: %w", i, err)
		}
		seen[o] = true
	}
	if err := p.checkQuiz(); err != nil {
		return Poll{}, err
	}
	return p, nil
}

// printable: valid UTF-8 without control characters (but line breaks and
// tabs where lines are allowed).
func printable(s string, lines bool) error {
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(lines && (r == '\n' || r == '\t')) {
			return fmt.Errorf("holds a control character (%U)", r)
		}
	}
	return nil
}

// ParseVote reads a vote's body against its poll: a JSON array of
// distinct option indexes, one unless the poll allows several. It returns
// them in ascending order.
func ParseVote(body []byte, options int, multiple bool) ([]uint32, error) {
	var choice []uint32
	if err := json.Unmarshal(body, &choice); err != nil {
		return nil, fmt.Errorf("a vote is a JSON array of option indexes (e.g. [1]): %w", err)
	}
	switch {
	case len(choice) == 0:
		return nil, errors.New("a vote chooses an option (an empty body takes a vote back)")
	case !multiple && len(choice) > 1:
		return nil, fmt.Errorf("the poll takes one option, the vote chooses %d", len(choice))
	}
	slices.Sort(choice)
	for i, o := range choice {
		if int(o) >= options {
			return nil, fmt.Errorf("no option %d: the poll has %d", o, options)
		}
		if i > 0 && choice[i-1] == o {
			return nil, fmt.Errorf("option %d chosen twice", o)
		}
	}
	return choice, nil
}

// pollTally is a poll's votes as the durable log has them up to through.
type pollTally struct {
	seq     uint64
	author  string
	posted  time.Time // the poll's server time: retention takes it at its cutoff
	ends    time.Time // the poll disappears then (zero: it stays)
	poll    Poll
	answer  *quizAnswer // a quiz's right option, from its snapshot (nil: not a quiz, or none kept)
	salt    []byte      // an anonymous poll's key to its voters' aliases, from its snapshot
	closed  bool
	votes   map[string][]uint32 // voter → options chosen, ascending
	through uint64
	unsaved int       // votes and closes folded since the last snapshot
	used    time.Time // for eviction
}

// pollSnapshot is a tally's checkpoint row.
type pollSnapshot struct {
	Through uint64              `json:"through"`
	Closed  bool                `json:"closed,omitempty"`
	Votes   map[string][]uint32 `json:"votes"`
	Answer  *quizAnswer         `json:"answer,omitempty"` // a quiz's, kept from its send on
	Salt    []byte              `json:"salt,omitempty"`   // an anonymous poll's, kept from its send on
}

func pollKey(conv string, seq uint64) string {
	return "poll/" + conv + "/" + strconv.FormatUint(seq, 10)
}

// fold counts m, the next message of the log after t.through.
func (t *pollTally) fold(m *storage.Message) {
	if m.Seq <= t.through {
		return
	}
	t.through = m.Seq
	if m.RefSeq != t.seq {
		return
	}
	switch {
	case m.Kind == storage.MsgPoll && len(m.Body) == 0:
		t.closed = true
		t.unsaved = pollSnapshotEvery // saved at once
	case m.Kind == storage.MsgVote && !t.closed && !t.poll.closedAt(m.ServerTS):
		t.unsaved++
		if len(m.Body) == 0 {
			delete(t.votes, m.Sender)
			return
		}
		if _, answered := t.votes[m.Sender]; answered && t.poll.Quiz {
			return // a quiz is answered once (the grain refuses a second)
		}
		// The grain checked it against the poll when it was sent.
		if choice, err := ParseVote(m.Body, len(t.poll.Options), t.poll.Multiple); err == nil {
			t.votes[m.Sender] = choice
		}
	}
}

// pollTally returns the tally of the poll at seq, loading it if needed.
// NOT_FOUND: no poll there (or it was recalled or expired).
func (c *conversation) pollTally(seq uint64) (*pollTally, *pb.Error) {
	notFound := pbErr(pb.Code_NOT_FOUND, "no poll at seq %d of %s", seq, c.id)
	if t, ok := c.polls[seq]; ok {
		if c.rt.contentClock(c.id).gone(t.posted, t.ends) {
			delete(c.polls, seq)
			return nil, notFound
		}
		t.used = time.Now()
		return t, nil
	}
	if seq == 0 || seq > c.durable || c.recallEvents[seq] {
		return nil, notFound
	}
	bg := context.Background()
	target, err := c.rt.store.GetMessage(bg, c.id, seq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, notFound
	case err != nil:
		return nil, storeErr(err)
	case target.Kind != storage.MsgPoll || target.RefSeq != 0 || target.Recalled() || expiredAt(&target, c.rt.contentClock(c.id)):
		return nil, notFound
	}
	var poll Poll
	if err := json.Unmarshal(target.Body, &poll); err != nil {
		return nil, notFound // the grain checked it when it was sent
	}
	t := &pollTally{seq: seq, author: target.Sender, posted: target.ServerTS, ends: target.ExpiresAt, poll: poll, votes: map[string][]uint32{}, through: seq, used: time.Now()}
	cp, err := c.rt.store.LoadCheckpoint(bg, pollKey(c.id, seq))
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, storeErr(err)
	default:
		var snap pollSnapshot
		if json.Unmarshal(cp.State, &snap) == nil && snap.Through <= c.durable && snap.Through >= seq {
			t.through, t.closed, t.answer, t.salt = snap.Through, snap.Closed, snap.Answer, snap.Salt
			if snap.Votes != nil {
				t.votes = snap.Votes
			}
		}
	}
	read := 0
	for from := t.through + 1; from <= c.durable; {
		page, err := c.rt.store.ListMessages(bg, c.id, from, c.durable, storage.OldestFirst, pollReplayPage)
		if err != nil {
			return nil, storeErr(err)
		}
		if len(page) == 0 {
			break
		}
		for i := range page {
			t.fold(&page[i])
		}
		read += len(page)
		from = page[len(page)-1].Seq + 1
	}
	// Every seq up to the durable one is in the log or never will be.
	t.through = max(t.through, c.durable)
	if read > pollSnapshotReplay {
		t.unsaved = pollSnapshotEvery
	}
	c.keepTally(t)
	c.maybeSnapshot(t)
	return t, nil
}

// keepTally caches t, dropping the least recently used tally beyond
// maxLoadedPolls.
func (c *conversation) keepTally(t *pollTally) {
	if c.polls == nil {
		c.polls = map[uint64]*pollTally{}
	}
	if len(c.polls) >= maxLoadedPolls {
		var oldest *pollTally
		for _, o := range c.polls {
			if oldest == nil || o.used.Before(oldest.used) {
				oldest = o
			}
		}
		delete(c.polls, oldest.seq)
	}
	c.polls[t.seq] = t
}

// foldPolls keeps the loaded tallies in step with a durable message.
func (c *conversation) foldPolls(m *storage.Message) {
	if m.Kind == storage.MsgRecall {
		delete(c.polls, m.RefSeq) // a recalled poll has no tally
	}
	for _, t := range c.polls {
		t.fold(m)
		c.maybeSnapshot(t)
	}
}

// maybeSnapshot saves t's snapshot once enough changed since the last:
// one small write per pollSnapshotEvery votes, in the grain (a write the
// grain does not wait for could outlive the store at shutdown). A
// snapshot that fails only makes the next load read more of the log.
func (c *conversation) maybeSnapshot(t *pollTally) {
	if t.unsaved < pollSnapshotEvery {
		return
	}
	if c.rt.contentClock(c.id).gone(t.posted, t.ends) {
		delete(c.polls, t.seq) // expired: its row was purged (purgePollSnapshot), not to be written again
		return
	}
	t.unsaved = 0
	state, err := json.Marshal(pollSnapshot{Through: t.through, Closed: t.closed, Votes: t.votes, Answer: t.answer, Salt: t.salt})
	if err != nil {
		return
	}
	key := pollKey(c.id, t.seq)
	if err := c.rt.store.SaveCheckpoint(context.Background(), storage.Checkpoint{Key: key, State: state, At: time.Now()}); err != nil {
		c.log.Warn("saving a poll's tally failed; its next load reads more of the log", "key", key, "err", err)
	}
}

// closing reports whether a close of the poll at seq is queued.
func (c *conversation) closing(seq uint64) bool {
	for _, p := range c.pending {
		if p.msg.Kind == storage.MsgPoll && p.msg.RefSeq == seq {
			return true
		}
	}
	return false
}

// checkPoll checks a new poll, or the close of one (RefSeq set).
func (c *conversation) checkPoll(m *pb.SendMessage) *pb.Error {
	if m.RefSeq == 0 {
		if m.MediaId != "" {
			return pbErr(pb.Code_INVALID, "a poll carries no file")
		}
		p, err := ParsePoll(m.Body, c.rt.cfg.MaxPollOptions, c.rt.cfg.MaxPollOptionBytes)
		if err != nil {
			return pbErr(pb.Code_INVALID, "%v", err)
		}
		if len(p.Explanation) > c.rt.cfg.MaxQuizExplanationBytes {
			return pbErr(pb.Code_INVALID, "a quiz's explanation of %d bytes, limit %d", len(p.Explanation), c.rt.cfg.MaxQuizExplanationBytes)
		}
		if p.Anonymous && c.kind != storage.KindGroup {
			return pbErr(pb.Code_INVALID, "an anonymous poll belongs in a group: here the other member knows who voted")
		}
		if now := c.rt.cfg.Now(); p.ClosesAtMs != 0 && (p.ClosesAtMs <= now.UnixMilli() || p.ClosesAtMs > now.Add(c.rt.cfg.MaxPollDuration).UnixMilli()) {
			return pbErr(pb.Code_INVALID, "closes_at_ms %d: want a time after now and at most %v ahead", p.ClosesAtMs, c.rt.cfg.MaxPollDuration)
		}
		return nil
	}
	if len(m.Body) != 0 || m.MediaId != "" || len(m.Mentions) != 0 || m.ReplyTo != 0 {
		return pbErr(pb.Code_INVALID, "a poll's close (ref_seq set) carries nothing else: no body, file, mentions or reply")
	}
	t, e := c.visiblePoll(m.Sender, m.RefSeq)
	if e != nil {
		return e
	}
	if t.author != m.Sender && authorize(c.kind, c.id, m.Sender, c.members[m.Sender], ActRecallAny) != nil {
		return pbErr(pb.Code_FORBIDDEN, "the poll at seq %d is %s's: only they (or the group's owners and admins) close it", m.RefSeq, t.author)
	}
	return c.stillOpen(t)
}

// stillOpen refuses a vote or a close of a poll that is closed: by a
// close in the log, one queued, or its own deadline.
func (c *conversation) stillOpen(t *pollTally) *pb.Error {
	if t.closedAt(c.rt.cfg.Now()) || c.closing(t.seq) {
		return pbErr(pb.Code_POLL_CLOSED, "the poll at seq %d of %s is closed", t.seq, c.id)
	}
	return nil
}

// closedAt: closed by a close in the log, or by its own deadline at now.
func (t *pollTally) closedAt(now time.Time) bool {
	return t.closed || t.poll.closedAt(now)
}

// checkVote checks a vote (or a vote taken back: an empty body).
func (c *conversation) checkVote(m *pb.SendMessage) *pb.Error {
	if m.MediaId != "" || len(m.Mentions) != 0 || m.ReplyTo != 0 {
		return pbErr(pb.Code_INVALID, "a vote carries no file, mentions or reply")
	}
	t, e := c.visiblePoll(m.Sender, m.RefSeq)
	if e != nil {
		return e
	}
	if e := c.stillOpen(t); e != nil {
		return e
	}
	if e := c.checkQuizVote(t, m); e != nil {
		return e
	}
	if len(m.Body) == 0 {
		return nil
	}
	if _, err := ParseVote(m.Body, len(t.poll.Options), t.poll.Multiple); err != nil {
		return pbErr(pb.Code_INVALID, "%v", err)
	}
	return nil
}

// visiblePoll is the tally of the poll at seq if user sees it.
func (c *conversation) visiblePoll(user string, seq uint64) (*pollTally, *pb.Error) {
	if mem := c.members[user]; seq == 0 || mem == nil || !mem.Sees(seq) {
		return nil, pbErr(pb.Code_NOT_FOUND, "no poll at seq %d of %s that %s sees", seq, c.id, user)
	}
	return c.pollTally(seq)
}

// pollResults answers GetPollResults.
func (c *conversation) pollResults(ctx actor.Context, m *pb.GetPollResults) {
	sender := ctx.Sender()
	reply := func(r *pb.PollResultsResponse) { respond(ctx, sender, r) }
	if !c.ready(func(e *pb.Error) { reply(&pb.PollResultsResponse{Error: e}) }) {
		return
	}
	var t *pollTally
	var e *pb.Error
	if m.ByOperator {
		t, e = c.pollTally(m.Seq)
	} else if e = authorize(c.kind, c.id, m.User, c.members[m.User], ActHistory); e == nil {
		t, e = c.visiblePoll(m.User, m.Seq)
	}
	if e != nil {
		reply(&pb.PollResultsResponse{Error: e})
		return
	}
	reply(t.results(m.User, m.ByOperator, int(m.VotersLimit), c.rt.cfg.Now()))
}

// results is the tally as user (or the operator) asks for it at now.
func (t *pollTally) results(user string, operator bool, votersLimit int, now time.Time) *pb.PollResultsResponse {
	out := &pb.PollResultsResponse{Question: t.poll.Question, Multiple: t.poll.Multiple, Closed: t.closedAt(now),
		ClosesAtMs: t.poll.ClosesAtMs, Voters: uint32(len(t.votes)), Mine: slices.Clone(t.votes[t.voterKey(user)]), ThroughSeq: t.through,
		Anonymous: t.poll.Anonymous}
	if t.poll.Anonymous {
		votersLimit = 0 // aliases name nobody: counts only
	}
	t.revealAnswer(out, user, operator, now)
	out.Options = make([]*pb.PollOptionResult, len(t.poll.Options))
	for i, o := range t.poll.Options {
		out.Options[i] = &pb.PollOptionResult{Text: o}
	}
	voters := make([]string, 0, len(t.votes))
	for v := range t.votes {
		voters = append(voters, v)
	}
	slices.Sort(voters)
	for _, v := range voters {
		for _, o := range t.votes[v] {
			r := out.Options[o]
			r.Votes++
			if len(r.Voters) < votersLimit {
				r.Voters = append(r.Voters, v)
			}
		}
	}
	return out
}

// PollResults is the tally of the poll at seq of conv, for a member who
// sees it, with up to votersLimit voters listed per option (at most
// MaxPollVotersListed).
func (n *Runtime) PollResults(ctx context.Context, user, conv string, seq uint64, votersLimit int) (*pb.PollResultsResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	return n.pollResults(ctx, &pb.GetPollResults{Conv: conv, User: user, Seq: seq}, votersLimit)
}

// PollResultsAsOperator is PollResults for the operator (the admin API): a
// poll of any conversation, as the log has it.
func (n *Runtime) PollResultsAsOperator(ctx context.Context, conv string, seq uint64, votersLimit int) (*pb.PollResultsResponse, error) {
	return n.pollResults(ctx, &pb.GetPollResults{Conv: conv, Seq: seq, ByOperator: true}, votersLimit)
}

func (n *Runtime) pollResults(ctx context.Context, req *pb.GetPollResults, votersLimit int) (*pb.PollResultsResponse, error) {
	if err := checkConv(req.Conv); err != nil {
		return nil, err
	}
	if votersLimit < 0 || votersLimit > MaxPollVotersListed {
		return nil, fromPB(pbErr(pb.Code_INVALID, "voters limit %d: want 0 to %d", votersLimit, MaxPollVotersListed))
	}
	req.VotersLimit = uint32(votersLimit)
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.PollResultsResponse)
	return r, fromPB(r.Error)
}

// purgePollSnapshot takes who voted how (and a quiz's answer, an
// anonymous poll's salt) out of the snapshot row of the poll at seq,
// once the poll is recalled or its content expired: the row stays, empty,
// as nothing reads it again. It touches the store alone.
func purgePollSnapshot(ctx context.Context, store storage.Store, conv string, seq uint64) error {
	state, err := json.Marshal(pollSnapshot{Through: seq, Votes: map[string][]uint32{}})
	if err != nil {
		return err
	}
	return store.SaveCheckpoint(ctx, storage.Checkpoint{Key: pollKey(conv, seq), State: state, At: time.Now()})
}
