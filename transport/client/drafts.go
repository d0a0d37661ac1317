package client

import (
	"context"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// SetDraft keeps text as this user's draft of conv for their other
// devices (EventDrafts tells them); an empty text clears it. Clear it
// once its message is sent. It answers how many drafts the user keeps.
func (c *Client) SetDraft(ctx context.Context, conv, text string) (int, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Draft{Draft: &wirepb.DraftRequest{Conv: conv, Text: text}}})
	if err != nil {
		return 0, err
	}
	return int(res.GetDraft().GetCount()), nil
}

// Drafts lists this user's drafts, the latest changed first.
func (c *Client) Drafts(ctx context.Context) ([]*wirepb.Draft, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Drafts{Drafts: &wirepb.DraftsRequest{}}})
	if err != nil {
		return nil, err
	}
	return res.GetDrafts().GetDrafts(), nil
}
