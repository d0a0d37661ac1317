package client

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Scheduled messages (PROTOCOL.md, "Scheduled messages"): the node keeps
// a message and sends it, as this user's, at its time, whether or not any
// of the user's devices is online then.

// ScheduledMessage is a message scheduled and not yet sent.
type ScheduledMessage struct {
	ID          string // names it to Unschedule
	Conv        string // where it goes, or (a direct conversation not named) To
	To          string
	Topic       string // with To: the pair's conversation about it
	ClientMsgID string // the sent message will carry it
	Kind        wirepb.MessageKind
	Body        []byte
	ReplyTo     uint64
	Mentions    []string
	MentionAll  bool
	At          time.Time // when it goes out (Failed: when it was due)
	Created     time.Time
	// Failed: when it was due the node refused it for good (the code and
	// why: the sender left the group, was blocked, …); it stays listed
	// until Unschedule lets it go.
	Failed string
}

func fromWireScheduled(s *wirepb.ScheduledSend) ScheduledMessage {
	m := s.GetSend()
	return ScheduledMessage{ID: s.Id, Conv: m.GetConv(), To: m.GetTo(), Topic: m.GetTopic(), ClientMsgID: m.GetClientMsgId(), Kind: m.GetKind(), Body: m.GetBody(),
		ReplyTo: m.GetReplyTo(), Mentions: m.GetMentions(), MentionAll: m.GetMentionAll(), At: time.UnixMilli(s.AtMs), Created: millisTime(s.CreatedMs), Failed: s.Failed}
}

// Schedule asks the node to send m (its Kind, a text by default, a card
// or a poll; Body; ReplyTo, Mentions or MentionAll; ClientMsgID, a new
// one when empty: that of a message scheduled before replaces it) to to
// at at: ahead of now, within the node's bound. The message goes out
// under the rules of that time (a member removed by then: it is
// dropped). A file, an edit, a reaction or a vote is not scheduled.
func (c *Client) Schedule(ctx context.Context, to Target, m Message, at time.Time) (ScheduledMessage, error) {
	if (to.User == "") == (to.Conv == "") {
		return ScheduledMessage{}, errors.New("client: schedule to exactly one of a user and a conversation")
	}
	if len(m.Body) == 0 {
		return ScheduledMessage{}, errors.New("client: empty message")
	}
	if m.ClientMsgID == "" {
		m.ClientMsgID = NewClientMsgID()
	}
	send := &wirepb.SendRequest{Conv: to.Conv, To: to.User, Topic: to.Topic, ClientMsgId: m.ClientMsgID, Body: m.Body, Kind: m.Kind,
		ReplyTo: m.ReplyTo, Mentions: m.Mentions, MentionAll: m.MentionAll}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Schedule{Schedule: &wirepb.ScheduleRequest{Send: send, AtMs: at.UnixMilli()}}})
	if err != nil {
		return ScheduledMessage{}, err
	}
	return fromWireScheduled(res.GetSchedule().GetScheduled()), nil
}

// ScheduleText schedules text to to at at (Schedule).
func (c *Client) ScheduleText(ctx context.Context, to Target, text string, at time.Time) (ScheduledMessage, error) {
	return c.Schedule(ctx, to, Message{Body: []byte(text)}, at)
}

// ScheduledMessages lists this user's messages scheduled and not yet
// sent, soonest first.
func (c *Client) ScheduledMessages(ctx context.Context) ([]ScheduledMessage, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Scheduled{Scheduled: &wirepb.ScheduledRequest{}}})
	if err != nil {
		return nil, err
	}
	var out []ScheduledMessage
	for _, s := range res.GetScheduled().GetMessages() {
		out = append(out, fromWireScheduled(s))
	}
	return out, nil
}

// Unschedule cancels the scheduled message id; one sent already is
// NOT_FOUND.
func (c *Client) Unschedule(ctx context.Context, id string) error {
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Unschedule{Unschedule: &wirepb.UnscheduleRequest{Id: id}}})
	return err
}
