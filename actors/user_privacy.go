package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Privacy: what a user shows others of their presence. Stored as a
// checkpoint row (one byte, the PresenceSharing) under privacyKey, read by
// the grain the first time another user asks for its presence in an
// activation, so the many users who never change it cost no read at
// activation.

func privacyKey(user string) string { return "user/privacy/" + user }

// sharing is the user's presence sharing, read from the store once per
// activation.
func (u *user) sharing() (pb.PresenceSharing, *pb.Error) {
	if !u.privacyLoaded {
		cp, err := u.rt.store.LoadCheckpoint(context.Background(), privacyKey(u.id))
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return 0, storeErr(err)
		case len(cp.State) == 1 && pb.PresenceSharing_name[int32(cp.State[0])] != "":
			u.keepSharing(pb.PresenceSharing(cp.State[0]))
		default:
			return 0, pbErr(pb.Code_INTERNAL, "privacy of %s: %d bytes stored", u.id, len(cp.State))
		}
		u.privacyLoaded = true
	}
	if u.guard == nil {
		return pb.PresenceSharing_PRESENCE_EVERYONE, nil
	}
	return u.guard.sharing, nil
}

// keepSharing records the setting; the default needs no guard.
func (u *user) keepSharing(s pb.PresenceSharing) {
	if s != pb.PresenceSharing_PRESENCE_EVERYONE || u.guard != nil {
		u.guarded().sharing = s
	}
}

func (u *user) setPrivacy(ctx actor.Context, m *pb.SetPrivacy) {
	sender := ctx.Sender()
	cur, e := u.sharing()
	if e == nil && m.Presence != nil && *m.Presence != cur {
		if pb.PresenceSharing_name[int32(*m.Presence)] == "" {
			e = pbErr(pb.Code_INVALID, "presence sharing %d", *m.Presence)
		} else {
			cp := storage.Checkpoint{Key: privacyKey(u.id), State: []byte{byte(*m.Presence)}, At: time.Now()}
			if err := u.rt.store.SaveCheckpoint(context.Background(), cp); err != nil {
				e = storeErr(err)
			} else {
				u.keepSharing(*m.Presence)
				cur = *m.Presence
			}
		}
	}
	if e != nil {
		respond(ctx, sender, &pb.PrivacyResponse{Error: e})
		return
	}
	respond(ctx, sender, &pb.PrivacyResponse{Presence: cur})
}

// shownPresence cuts res to what the user shares with others.
func (u *user) shownPresence(res *pb.PresenceResponse) (*pb.PresenceResponse, *pb.Error) {
	s, e := u.sharing()
	if e != nil {
		return nil, e
	}
	cutPresence(res, s)
	return res, nil
}

// cutPresence cuts res to what sharing s shows: the target's own setting,
// and (reciprocity) the viewer's.
func cutPresence(res *pb.PresenceResponse, s pb.PresenceSharing) {
	switch s {
	case pb.PresenceSharing_PRESENCE_ONLINE_ONLY:
		res.LastSeenMs = 0
	case pb.PresenceSharing_PRESENCE_NOBODY:
		res.LastSeenMs, res.Devices = 0, nil
	}
}

// Privacy reads the user's privacy settings or, with presence, changes it.
func (n *Runtime) Privacy(ctx context.Context, user string, presence *pb.PresenceSharing) (pb.PresenceSharing, error) {
	if err := checkUser(user); err != nil {
		return 0, err
	}
	if presence != nil && pb.PresenceSharing_name[int32(*presence)] == "" {
		return 0, fromPB(pbErr(pb.Code_INVALID, "presence sharing %d", *presence))
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetPrivacy{User: user, Presence: presence})
	if err != nil {
		return 0, fmt.Errorf("privacy of %s: %w", user, err)
	}
	r := res.(*pb.PrivacyResponse)
	return r.Presence, fromPB(r.Error)
}
