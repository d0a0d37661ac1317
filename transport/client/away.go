package client

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Away is this user's away message: while it holds, the first message
// from the other member of each of the user's direct conversations is
// answered with Text, once per setting (Message.AutoReply).
type Away struct {
	Text  string    `json:"text"`           // empty: none set
	Since time.Time `json:"since,omitzero"` // when it was set
	Until time.Time `json:"until,omitzero"` // it ends then (zero: until cleared)
}

// Away reads this user's away message (Text empty: none).
func (c *Client) Away(ctx context.Context) (Away, error) {
	return c.away(ctx, &wirepb.AwayRequest{})
}

// SetAway sets this user's away message, ending at until (zero: until
// ClearAway). The node trims it and bounds it (serve --max-away-bytes,
// 500; until at most --max-away-for ahead, a year): else INVALID or
// TOO_LARGE. A new setting answers every conversation once more.
func (c *Client) SetAway(ctx context.Context, text string, until time.Time) (Away, error) {
	if text == "" {
		return Away{}, errors.New("an empty away message: ClearAway clears it")
	}
	req := &wirepb.AwayRequest{Text: &text}
	if !until.IsZero() {
		req.UntilMs = until.UnixMilli()
	}
	return c.away(ctx, req)
}

// ClearAway clears this user's away message: nobody is answered for them.
func (c *Client) ClearAway(ctx context.Context) error {
	empty := ""
	_, err := c.away(ctx, &wirepb.AwayRequest{Text: &empty})
	return err
}

func (c *Client) away(ctx context.Context, req *wirepb.AwayRequest) (Away, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Away{Away: req}})
	if err != nil {
		return Away{}, err
	}
	a := res.GetAway()
	return Away{Text: a.GetText(), Since: millisTime(a.GetSinceMs()), Until: millisTime(a.GetUntilMs())}, nil
}
