package client

import (
	"context"
	"maps"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// SendCard sends a business card: card is its JSON (title, fields,
// image_url, actions; docs/PROTOCOL.md, "Cards"). The server refuses a
// malformed card with INVALID.
func (c *Client) SendCard(to Target, card []byte, clientMsgID string) (*Pending, error) {
	return c.send(to, card, clientMsgID, time.Now(), wirepb.MessageKind_CARD, 0, 0)
}

// SendCardWithMeta is SendCard carrying the app's own data about the card
// (an offer's id: SendWithMeta).
func (c *Client) SendCardWithMeta(to Target, card []byte, meta map[string]string, clientMsgID string) (*Pending, error) {
	return c.sendMessage(to, Message{ClientMsgID: clientMsgID, Kind: wirepb.MessageKind_CARD, Body: card, Meta: maps.Clone(meta), ClientTime: time.Now()})
}

// ClickCard clicks action of the card at seq of conv. The server calls the
// business's card webhook and posts its answer (a card update or a new
// message, which arrives like any message) before it answers; a failing
// business system is UPSTREAM_FAILED.
func (c *Client) ClickCard(ctx context.Context, conv string, seq uint64, action string) (*wirepb.CardClickResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_CardClick{CardClick: &wirepb.CardClickRequest{Conv: conv, Seq: seq, Action: action}}})
	if err != nil {
		return nil, err
	}
	return res.GetCardClick(), nil
}
