package client

import (
	"context"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// MaxProfilesPerRequest is how many users' profiles Profiles asks for in
// one request (the server's default bound, serve --max-profile-users).
const MaxProfilesPerRequest = 100

// Profile reads this user's profile: how they show in other users' apps.
func (c *Client) Profile(ctx context.Context) (*wirepb.Profile, error) {
	return c.SetProfile(ctx, nil)
}

// SetProfile changes the fields of this user's profile set in change (an
// empty string clears one; nil: read only) and answers it as stored
// (the name with surrounding white space trimmed).
func (c *Client) SetProfile(ctx context.Context, change *wirepb.ProfileRequest) (*wirepb.Profile, error) {
	if change == nil {
		change = &wirepb.ProfileRequest{}
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Profile{Profile: change}})
	if err != nil {
		return nil, err
	}
	return res.GetProfile(), nil
}

// Profiles reads the profiles of users who share a conversation with this
// user: members, present or past, of conv, or with conv empty the other
// members of this user's direct conversations. Users this user may not
// see are left out; a user who set no profile comes with only its id.
// More than MaxProfilesPerRequest users are asked for in several
// requests.
func (c *Client) Profiles(ctx context.Context, conv string, users ...string) ([]*wirepb.Profile, error) {
	var out []*wirepb.Profile
	for start := 0; start < len(users); start += MaxProfilesPerRequest {
		batch := users[start:min(len(users), start+MaxProfilesPerRequest)]
		res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_Profiles{Profiles: &wirepb.ProfilesRequest{Conv: conv, Users: batch}}})
		if err != nil {
			return nil, err
		}
		out = append(out, res.GetProfiles().GetProfiles()...)
	}
	return out, nil
}
