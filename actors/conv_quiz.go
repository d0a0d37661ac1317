package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Quizzes: a poll with one right option (a teacher's check of a lesson).
// The send names it ("quiz": true, "correct": its index, and an optional
// "explanation"); the grain stores the body without the answer, so no
// member reads it in the log, and keeps the answer in the poll's snapshot
// row, written before the poll is queued. A member answers once, with one
// option, and cannot take it back. poll_results tells the right option
// and the explanation to whoever answered, to the quiz's author, to
// everyone once it closed, and to the operator; before that, not even
// whether an answer was right.

// quizAnswer is a quiz's right option and why, as its snapshot keeps it.
type quizAnswer struct {
	Correct     uint32 `json:"correct"`
	Explanation string `json:"explanation,omitempty"`
}

// checkQuiz checks a quiz's fields: the right option among the options,
// one answer each; the answer only with "quiz".
func (p Poll) checkQuiz() error {
	switch {
	case !p.Quiz && (p.Correct != nil || p.Explanation != ""):
		return errors.New(`"correct" and "explanation" belong to a quiz ("quiz": true)`)
	case !p.Quiz:
		return nil
	case p.Correct == nil:
		return errors.New(`a quiz names its right option ("correct": its index)`)
	case int(*p.Correct) >= len(p.Options):
		return fmt.Errorf("the right option %d: the quiz has %d", *p.Correct, len(p.Options))
	case p.Multiple:
		return errors.New("a quiz takes one answer: not multiple")
	}
	return printable(p.Explanation, true)
}

// takeQuizAnswer takes the answer out of a new quiz's body: it answers the
// body to store and the answer to keep beside it (nil, body unchanged:
// no quiz). The grain checked the body already (checkPoll).
func takeQuizAnswer(kind storage.MessageKind, refSeq uint64, body []byte) ([]byte, *quizAnswer) {
	if kind != storage.MsgPoll || refSeq != 0 {
		return body, nil
	}
	var p Poll
	if json.Unmarshal(body, &p) != nil || !p.Quiz || p.Correct == nil {
		return body, nil
	}
	answer := &quizAnswer{Correct: *p.Correct, Explanation: p.Explanation}
	p.Correct, p.Explanation = nil, ""
	stored, err := json.Marshal(p)
	if err != nil {
		return body, nil
	}
	return stored, answer
}

// keepPollSecrets writes the snapshot row of the poll about to take seq,
// with a quiz's answer or an anonymous poll's salt (conv_anonymous.go)
// and no votes, before the poll is queued: once the poll is durable they
// are too.
func (c *conversation) keepPollSecrets(seq uint64, answer *quizAnswer, salt []byte) *pb.Error {
	state, err := json.Marshal(pollSnapshot{Through: seq, Votes: map[string][]uint32{}, Answer: answer, Salt: salt})
	if err != nil {
		return pbErr(pb.Code_INTERNAL, "encode a poll's snapshot: %v", err)
	}
	cp := storage.Checkpoint{Key: pollKey(c.id, seq), State: state, At: time.Now()}
	if err := c.rt.store.SaveCheckpoint(context.Background(), cp); err != nil {
		return storeErr(err)
	}
	return nil
}

// checkQuizVote refuses what a quiz does not take: taking an answer back,
// or a second answer (durable, or queued behind the first).
func (c *conversation) checkQuizVote(t *pollTally, m *pb.SendMessage) *pb.Error {
	if !t.poll.Quiz {
		return nil
	}
	if len(m.Body) == 0 {
		return pbErr(pb.Code_INVALID, "the quiz at seq %d takes no answer back", t.seq)
	}
	voter := t.voterKey(m.Sender)
	_, answered := t.votes[voter]
	if answered || slices.ContainsFunc(c.pending, func(p *pendingWrite) bool {
		return p.msg.Kind == storage.MsgVote && p.msg.RefSeq == t.seq && p.msg.Sender == voter
	}) {
		return pbErr(pb.Code_INVALID, "%s answered the quiz at seq %d already", m.Sender, t.seq)
	}
	return nil
}

// revealAnswer adds a quiz's answer to out when user may see it: they
// answered or asked it, it closed, or the operator asks.
func (t *pollTally) revealAnswer(out *pb.PollResultsResponse, user string, operator bool, now time.Time) {
	out.Quiz = t.poll.Quiz
	if !t.poll.Quiz || t.answer == nil {
		return
	}
	_, answered := t.votes[t.voterKey(user)]
	if operator || answered || user == t.author || t.closedAt(now) {
		out.Correct = &t.answer.Correct
		out.Explanation = t.answer.Explanation
	}
}
