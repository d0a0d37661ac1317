package client

import (
	"context"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// RegisterPush stores this device's push token for platform ("apns",
// "fcm" or "webhook"): while none of the user's devices is connected, the
// node notifies it through its push gateway.
func (c *Client) RegisterPush(ctx context.Context, platform, token string, opts ...PushOption) error {
	req := &wirepb.RegisterPushRequest{Platform: platform, Token: token}
	for _, o := range opts {
		o(req)
	}
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_RegisterPush{RegisterPush: req}})
	return err
}

// PushOption adds to a push registration.
type PushOption func(*wirepb.RegisterPushRequest)

// WithVoIPToken registers the iOS app's PushKit token beside its APNs
// token: a call ringing for the user reaches the device as a VoIP push
// (show it with CallKit at once: iOS requires it of every VoIP push).
func WithVoIPToken(token string) PushOption {
	return func(r *wirepb.RegisterPushRequest) { r.VoipToken = token }
}

// UnregisterPush removes this device's push token.
func (c *Client) UnregisterPush(ctx context.Context) error {
	_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_UnregisterPush{UnregisterPush: &wirepb.UnregisterPushRequest{}}})
	return err
}
