package client

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Starred messages (PROTOCOL.md, "Starred messages"): a user's own list
// of messages to find again across conversations. The node keeps it;
// another device of the user reads it with Starred.

// StarredMessage is one starred message, as the user reads it now (a
// text with its newest edit's text), and when it was starred.
type StarredMessage struct {
	Message   Message
	StarredAt time.Time
	RemindAt  time.Time // a reminder due then (zero: none, or it came)
}

// Star stars (starred true) or unstars the message at seq of conv, one
// this user reads (a text, a card, a poll or a file); it answers how many
// messages the user keeps starred. Past the node's bound: TOO_MANY.
func (c *Client) Star(ctx context.Context, conv string, seq uint64, starred bool) (int, error) {
	if seq == 0 {
		return 0, errors.New("client: a star names the seq of its message")
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Star{Star: &wirepb.StarRequest{Conv: conv, Seq: seq, Starred: starred}}})
	if err != nil {
		return 0, err
	}
	return int(res.GetStar().Count), nil
}

// Remind stars the message at seq of conv (as Star) with a reminder at
// at ("remind me tomorrow at 9"): when it comes, this user's connected
// devices get EventReminder, or their phone a notification of kind
// "reminder". A starred message's reminder moves to at; Star(…, true)
// takes it away, keeping the star. at must be ahead, by at most the
// node's --max-schedule-ahead, else INVALID.
func (c *Client) Remind(ctx context.Context, conv string, seq uint64, at time.Time) (int, error) {
	if seq == 0 || at.UnixMilli() <= 0 {
		return 0, errors.New("client: a reminder names the seq of its message and a time")
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Star{Star: &wirepb.StarRequest{Conv: conv, Seq: seq, Starred: true, RemindAtMs: at.UnixMilli()}}})
	if err != nil {
		return 0, err
	}
	return int(res.GetStar().Count), nil
}

// StarredPage reads one page of the user's starred messages, those
// starred before before (zero: from the newest), newest first, at most
// limit (0: the node's page); next is where the following page starts
// (zero: this was the last).
func (c *Client) StarredPage(ctx context.Context, before time.Time, limit int) (msgs []StarredMessage, next time.Time, err error) {
	req := &wirepb.StarredRequest{Limit: uint32(max(limit, 0))}
	if !before.IsZero() {
		req.BeforeMs = before.UnixMilli()
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Starred{Starred: req}})
	if err != nil {
		return nil, time.Time{}, err
	}
	r := res.GetStarred()
	for _, s := range r.Messages {
		if s.GetMessage() == nil {
			continue
		}
		sm := StarredMessage{Message: fromWire(s.Message), StarredAt: time.UnixMilli(s.StarredAtMs)}
		if s.RemindAtMs > 0 {
			sm.RemindAt = time.UnixMilli(s.RemindAtMs)
		}
		msgs = append(msgs, sm)
	}
	if r.NextBeforeMs > 0 {
		next = time.UnixMilli(r.NextBeforeMs)
	}
	return msgs, next, nil
}

// Starred reads all of the user's starred messages, newest first, page
// by page.
func (c *Client) Starred(ctx context.Context) ([]StarredMessage, error) {
	var all []StarredMessage
	var before time.Time
	for {
		page, next, err := c.StarredPage(ctx, before, 0)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next.IsZero() {
			return all, nil
		}
		before = next
	}
}
