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

// Privacy: what a user shows others of their presence, whether they send
// read receipts in direct conversations, and whether their offline
// notifications show message text. Stored as a checkpoint row
// under privacyKey: the PresenceSharing, then a byte of flags
// (privacyHideReceipts; a row of one byte, written before the flags
// existed, has none). The grain reads it the first time it needs it in an
// activation (another user asks for its presence, it reads a direct
// conversation, a receipt comes), so the many users who never change it
// cost no read at activation.

func privacyKey(user string) string { return "user/privacy/" + user }

// The flags byte: privacyHideReceipts, the user sends no read receipts in
// direct conversations and sees none there; privacyHidePreviews, their
// offline notifications carry no message text; bits 2–3 their DirectFrom
// and bits 4–5 their GroupAddFrom (0: the node's), which a node from
// before ignores.
const (
	privacyHideReceipts  byte = 1
	privacyHidePreviews  byte = 2
	privacyDirectShift        = 2
	privacyGroupAddShift      = 4
)

// privacySettings is a user's privacy row, decoded.
type privacySettings struct {
	sharing      pb.PresenceSharing
	hideReceipts bool
	hidePreviews bool
	directFrom   pb.DirectFrom
	groupAddFrom pb.GroupAddFrom
}

// decodePrivacy reads a privacy row.
func decodePrivacy(state []byte) (privacySettings, bool) {
	if len(state) < 1 || len(state) > 2 || pb.PresenceSharing_name[int32(state[0])] == "" {
		return privacySettings{}, false
	}
	p := privacySettings{sharing: pb.PresenceSharing(state[0])}
	if len(state) == 2 {
		p.hideReceipts = state[1]&privacyHideReceipts != 0
		p.hidePreviews = state[1]&privacyHidePreviews != 0
		p.directFrom = pb.DirectFrom(state[1] >> privacyDirectShift & 3)
		p.groupAddFrom = pb.GroupAddFrom(state[1] >> privacyGroupAddShift & 3)
	}
	return p, true
}

// encode writes the row: one byte while no flag is set, which a node
// from before the flags reads too (a rolling upgrade).
func (p privacySettings) encode() []byte {
	var flags byte
	if p.hideReceipts {
		flags |= privacyHideReceipts
	}
	if p.hidePreviews {
		flags |= privacyHidePreviews
	}
	flags |= byte(p.directFrom) << privacyDirectShift
	flags |= byte(p.groupAddFrom) << privacyGroupAddShift
	if flags == 0 {
		return []byte{byte(p.sharing)}
	}
	return []byte{byte(p.sharing), flags}
}

// loadPrivacy reads user's privacy row (the defaults when there is none).
func loadPrivacy(ctx context.Context, store storage.Store, user string) (privacySettings, *pb.Error) {
	cp, err := store.LoadCheckpoint(ctx, privacyKey(user))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return privacySettings{}, nil
	case err != nil:
		return privacySettings{}, storeErr(err)
	}
	p, ok := decodePrivacy(cp.State)
	if !ok {
		return privacySettings{}, pbErr(pb.Code_INTERNAL, "privacy of %s: %d bytes stored", user, len(cp.State))
	}
	return p, nil
}

// privacy is the user's privacy settings, read from the store once per
// activation.
func (u *user) privacy() (privacySettings, *pb.Error) {
	if !u.privacyLoaded {
		p, e := loadPrivacy(context.Background(), u.rt.store, u.id)
		if e != nil {
			return privacySettings{}, e
		}
		u.keepPrivacy(p)
		u.privacyLoaded = true
	}
	if u.guard == nil {
		return privacySettings{}, nil
	}
	return u.guard.privacy, nil
}

// sharing is the user's presence sharing.
func (u *user) sharing() (pb.PresenceSharing, *pb.Error) {
	p, e := u.privacy()
	return p.sharing, e
}

// hidesReceipts reports whether the user sends (and sees) no read
// receipts in direct conversations; when the setting cannot be read, it
// errs on the side of hiding.
func (u *user) hidesReceipts() bool {
	p, e := u.privacy()
	return e != nil || p.hideReceipts
}

// hidesPreviews reports whether the user's offline notifications carry
// no message text; when the setting cannot be read, it errs on the side
// of hiding.
func (u *user) hidesPreviews() bool {
	p, e := u.privacy()
	return e != nil || p.hidePreviews
}

// keepPrivacy records the settings; the defaults need no guard.
func (u *user) keepPrivacy(p privacySettings) {
	if p != (privacySettings{}) || u.guard != nil {
		u.guarded().privacy = p
	}
}

func (u *user) setPrivacy(ctx actor.Context, m *pb.SetPrivacy) {
	sender := ctx.Sender()
	cur, e := u.privacy()
	next := cur
	if m.Presence != nil {
		next.sharing = *m.Presence
	}
	if m.HideReadReceipts != nil {
		next.hideReceipts = *m.HideReadReceipts
	}
	if m.HidePreviews != nil {
		next.hidePreviews = *m.HidePreviews
	}
	if m.DirectFrom != nil {
		next.directFrom = *m.DirectFrom
	}
	if m.GroupAddFrom != nil {
		next.groupAddFrom = *m.GroupAddFrom
	}
	if e == nil && next != cur {
		switch {
		case pb.PresenceSharing_name[int32(next.sharing)] == "":
			e = pbErr(pb.Code_INVALID, "presence sharing %d", next.sharing)
		case pb.DirectFrom_name[int32(next.directFrom)] == "":
			e = pbErr(pb.Code_INVALID, "direct_from %d", next.directFrom)
		case pb.GroupAddFrom_name[int32(next.groupAddFrom)] == "":
			e = pbErr(pb.Code_INVALID, "group_add_from %d", next.groupAddFrom)
		default:
			cp := storage.Checkpoint{Key: privacyKey(u.id), State: next.encode(), At: time.Now()}
			if err := u.rt.store.SaveCheckpoint(context.Background(), cp); err != nil {
				e = storeErr(err)
			} else {
				u.keepPrivacy(next)
				cur = next
			}
		}
	}
	if e != nil {
		respond(ctx, sender, &pb.PrivacyResponse{Error: e})
		return
	}
	respond(ctx, sender, &pb.PrivacyResponse{Presence: cur.sharing, HideReadReceipts: cur.hideReceipts, HidePreviews: cur.hidePreviews,
		DirectFrom: cur.directFrom, GroupAddFrom: cur.groupAddFrom})
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

// Privacy reads the user's presence sharing or, with presence, changes it.
func (n *Runtime) Privacy(ctx context.Context, user string, presence *pb.PresenceSharing) (pb.PresenceSharing, error) {
	r, err := n.SetPrivacy(ctx, &pb.SetPrivacy{User: user, Presence: presence})
	if err != nil {
		return 0, err
	}
	return r.Presence, nil
}

// SetPrivacy reads the user's privacy settings or changes those set in
// req.
func (n *Runtime) SetPrivacy(ctx context.Context, req *pb.SetPrivacy) (*pb.PrivacyResponse, error) {
	if err := checkUser(req.User); err != nil {
		return nil, err
	}
	if p := req.Presence; p != nil && pb.PresenceSharing_name[int32(*p)] == "" {
		return nil, fromPB(pbErr(pb.Code_INVALID, "presence sharing %d", *p))
	}
	if d := req.DirectFrom; d != nil && pb.DirectFrom_name[int32(*d)] == "" {
		return nil, fromPB(pbErr(pb.Code_INVALID, "direct_from %d", *d))
	}
	if g := req.GroupAddFrom; g != nil && pb.GroupAddFrom_name[int32(*g)] == "" {
		return nil, fromPB(pbErr(pb.Code_INVALID, "group_add_from %d", *g))
	}
	res, err := n.request(ctx, KindUser, req.User, req)
	if err != nil {
		return nil, fmt.Errorf("privacy of %s: %w", req.User, err)
	}
	r := res.(*pb.PrivacyResponse)
	return r, fromPB(r.Error)
}
