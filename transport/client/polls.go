package client

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Polls (PROTOCOL.md, "Polls"): a POLL message holds the question and
// options; members vote with VOTE messages, which the client folds into
// the poll's Message.Poll as it folds reactions.

// Poll is what SendPoll sends: a question, at least two options,
// whether a member may choose several, and when it closes by itself (Unix
// ms; 0: when its author closes it).
type Poll struct {
	Question   string   `json:"question"`
	Options    []string `json:"options"`
	Multiple   bool     `json:"multiple,omitempty"`
	ClosesAtMs int64    `json:"closes_at_ms,omitempty"`
	// Quiz: one option is right, Correct (its index), with an optional
	// Explanation; the node keeps both out of the message, and
	// PollResults tells them to a member once they answered (one answer
	// each, not taken back), to the author, and to all once it closed.
	Quiz        bool    `json:"quiz,omitempty"`
	Correct     *uint32 `json:"correct,omitempty"`
	Explanation string  `json:"explanation,omitempty"`
	// Anonymous (groups only): the node stores each vote under an alias
	// of its voter in this poll ("~" and 16 hex digits), lists no voters,
	// and tells the voter their alias; the others never learn who voted.
	Anonymous bool `json:"anonymous,omitempty"`
}

// PollState is a poll as the client holds it.
type PollState struct {
	Question string
	Multiple bool
	Quiz     bool // one option is right: PollResults tells which, once this user answered
	// Anonymous: Voters are aliases, not members; Mine is known on the
	// device that voted (PollResults tells it on the others).
	Anonymous bool
	// Closed: its close was seen, or ClosesAt passed when the message was
	// read (show the time: a poll open now closes by itself then).
	Closed   bool
	ClosesAt time.Time    // zero: none
	Options  []PollOption // in the poll's order
	Mine     []uint32     // this user's choice; empty: none
}

// PollOption is one option of a poll and the members who chose it.
type PollOption struct {
	Text   string
	Voters []string // sorted
}

// voteMark is a member's newest vote on a poll.
type voteMark struct {
	choice []uint32 // empty: taken back
	seq    uint64
}

// pollView folds the votes held for a poll into its state; myAlias is
// this user's alias in it, when anonymous and known.
func pollView(body []byte, votes map[string]voteMark, closed bool, me, myAlias string) *PollState {
	var p Poll
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	out := &PollState{Question: p.Question, Multiple: p.Multiple, Quiz: p.Quiz, Anonymous: p.Anonymous, Closed: closed, Options: make([]PollOption, len(p.Options))}
	if p.ClosesAtMs != 0 {
		out.ClosesAt = time.UnixMilli(p.ClosesAtMs)
		out.Closed = closed || !time.Now().Before(out.ClosesAt)
	}
	for i, o := range p.Options {
		out.Options[i].Text = o
	}
	for user, v := range votes {
		for _, o := range v.choice {
			if int(o) < len(out.Options) {
				out.Options[o].Voters = append(out.Options[o].Voters, user)
			}
		}
		if user == me || user == myAlias && myAlias != "" {
			out.Mine = slices.Clone(v.choice)
		}
	}
	for i := range out.Options {
		slices.Sort(out.Options[i].Voters)
	}
	return out
}

// applyVoteLocked records a vote (the sender's newest on its poll) or a
// poll's close; it returns the poll's message, changed, when held.
func (s *store) applyVoteLocked(cs *convState, v Message) (Message, bool) {
	if v.RefSeq <= cs.forgotThrough {
		return Message{}, false
	}
	if v.Kind == wirepb.MessageKind_POLL {
		if cs.closed == nil {
			cs.closed = map[uint64]bool{}
		}
		cs.closed[v.RefSeq] = true
	} else {
		if old, ok := cs.votes[v.RefSeq][v.Sender]; ok && old.seq >= v.Seq {
			return Message{}, false
		}
		var choice []uint32
		if len(v.Body) > 0 && json.Unmarshal(v.Body, &choice) != nil {
			return Message{}, false
		}
		if cs.votes == nil {
			cs.votes = map[uint64]map[string]voteMark{}
		}
		if cs.votes[v.RefSeq] == nil {
			cs.votes[v.RefSeq] = map[string]voteMark{}
		}
		cs.votes[v.RefSeq][v.Sender] = voteMark{choice: choice, seq: v.Seq}
	}
	i := sort.Search(len(cs.msgs), func(i int) bool { return cs.msgs[i].Seq >= v.RefSeq })
	if i == len(cs.msgs) || cs.msgs[i].Seq != v.RefSeq {
		return Message{}, false
	}
	return cs.msgs[i], true
}

// SendPoll posts a poll to conv and waits for the server's answer. The
// node checks it (at least two distinct options, at most its
// --max-poll-options): a bad poll is INVALID.
func (c *Client) SendPoll(ctx context.Context, to Target, p Poll) (Message, error) {
	return c.SendPollWithMeta(ctx, to, p, nil)
}

// SendPollWithMeta is SendPoll of a poll carrying the app's own data
// about it (SendWithMeta: the event it schedules, say).
func (c *Client) SendPollWithMeta(ctx context.Context, to Target, p Poll, meta map[string]string) (Message, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return Message{}, err
	}
	pend, err := c.sendMessage(to, Message{Kind: wirepb.MessageKind_POLL, Body: body, Meta: maps.Clone(meta), ClientTime: time.Now()})
	if err != nil {
		return Message{}, err
	}
	return pend.Wait(ctx)
}

// Vote chooses options (their indexes) of the poll at seq of conv,
// replacing this user's earlier vote; no options takes the vote back. A
// closed poll: POLL_CLOSED.
func (c *Client) Vote(ctx context.Context, conv string, seq uint64, options ...uint32) (Message, error) {
	if seq == 0 {
		return Message{}, errors.New("client: a vote names the seq of its poll")
	}
	var body []byte
	if len(options) > 0 {
		body, _ = json.Marshal(options)
	}
	pend, err := c.send(ToConv(conv), body, "", time.Now(), wirepb.MessageKind_VOTE, seq, 0)
	if err != nil {
		return Message{}, err
	}
	return pend.Wait(ctx)
}

// ClosePoll closes the poll at seq of conv (its author, or a group's
// owners and admins): no more votes, the results stay.
func (c *Client) ClosePoll(ctx context.Context, conv string, seq uint64) (Message, error) {
	if seq == 0 {
		return Message{}, errors.New("client: a close names the seq of its poll")
	}
	pend, err := c.send(ToConv(conv), nil, "", time.Now(), wirepb.MessageKind_POLL, seq, 0)
	if err != nil {
		return Message{}, err
	}
	return pend.Wait(ctx)
}

// PollResults asks the node for the tally of the poll at seq of conv,
// listing up to votersLimit voters per option (0: counts only).
func (c *Client) PollResults(ctx context.Context, conv string, seq uint64, votersLimit uint32) (*wirepb.PollResultsResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_PollResults{PollResults: &wirepb.PollResultsRequest{Conv: conv, Seq: seq, VotersLimit: votersLimit}}})
	if err != nil {
		return nil, err
	}
	return res.GetPollResults(), nil
}
