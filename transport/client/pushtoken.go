package client

import (
	"context"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// RegisterPush stores this device's push token for platform ("apns",
// "fcm" or "webhook"): while none of the user's devices is connected, the
// node notifies it through its push gateway.
func (c *Client) RegisterPush(ctx context.Context, platform, token string) error {
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_RegisterPush{RegisterPush: &wirepb.RegisterPushRequest{Platform: platform, Token: token}}})
	return err
}

// UnregisterPush removes this device's push token.
func (c *Client) UnregisterPush(ctx context.Context) error {
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_UnregisterPush{UnregisterPush: &wirepb.UnregisterPushRequest{}}})
	return err
}
