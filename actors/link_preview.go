package actors

import (
	"context"
	"errors"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/linkpreview"
)

// Link previews: the node reads a web page a user names for what it says
// of itself (internal/linkpreview: the bounds, the cache), so a browser
// page, which cannot read another site, and a phone, which would tell
// each site who read its link, show a link's title and picture. Any user
// may ask; what they get is what anyone on the web gets.

// LinkPreview is url's preview for user: INVALID for what is no http(s)
// link (or on a node that makes none, Config.LinkPreviewsOff), FORBIDDEN
// for an address the node does not fetch from (private, loopback),
// NOT_FOUND when the page could not be read or says nothing of itself.
func (n *Runtime) LinkPreview(ctx context.Context, user, url string) (linkpreview.Preview, error) {
	if err := checkUser(user); err != nil {
		return linkpreview.Preview{}, err
	}
	if n.previews == nil {
		return linkpreview.Preview{}, invalid("this node makes no link previews")
	}
	p, err := n.previews.Preview(ctx, url)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, linkpreview.ErrInvalid):
		return p, invalid("%v", err)
	case errors.Is(err, linkpreview.ErrForbidden):
		return p, forbidden("%v", err)
	case ctx.Err() != nil:
		return p, ctx.Err()
	}
	return p, fromPB(pbErr(pb.Code_NOT_FOUND, "%v", err))
}

func (s *deviceSession) LinkPreview(ctx context.Context, url string) (linkpreview.Preview, error) {
	return s.rt.LinkPreview(ctx, s.user, url)
}
