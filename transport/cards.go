package transport

import (
	"context"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Business cards: a click on a card's action (docs/PROTOCOL.md, "Cards").
// The node's answer waits for the business's webhook, so a click takes up
// to the webhook's timeouts and retries.

func validateCardClick(op *wirepb.CardClickRequest) error {
	switch {
	case op.Seq == 0:
		return invalid("a card click names the card's seq")
	case op.Action == "" || len(op.Action) > 64:
		return invalid("action id of %d bytes, want 1..64", len(op.Action))
	}
	return checkConv(op.Conv)
}

func (c *conn) cardClick(ctx context.Context, op *wirepb.CardClickRequest) *wirepb.Response {
	r, err := c.sess.ClickCard(ctx, op.Conv, op.Seq, op.Action)
	if err != nil {
		return c.fail(err)
	}
	return &wirepb.Response{Result: &wirepb.Response_CardClick{CardClick: &wirepb.CardClickResult{Mode: r.Mode, Seq: r.Seq, Duplicate: r.Duplicate}}}
}
