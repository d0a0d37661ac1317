package actors

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// User profiles: how a user shows in other users' apps — a display name
// and an avatar's URL (the app hosts its pictures: a marketplace's
// sellers, a school's pupils already have one). The user sets their own
// over the protocol; the operator sets anyone's through the admin API
// (a business copying names from its user directory).
//
// A profile is one checkpoint row, written by the user grain (two
// devices changing the name and the avatar at once lose neither) and
// read straight from the store: an idle grain holds nothing of it.
//
// Who sees it: users who share a conversation with its user — members,
// present or past, of a conversation the viewer reads, or the other
// member of the viewer's direct conversation unless either blocks the
// other (presence's rule: a stranger learns nothing, and blocking a
// stranger, which creates the direct conversation, does not open it).
// Profiles are not pushed to others when they change: a client reads
// them when it shows them; the user's own devices get a lists push.

func profileKey(user string) string { return "user/profile/" + user }

// loadProfile reads user's profile (one with only the user when none was
// set).
func loadProfile(ctx context.Context, store storage.Store, user string) (*pb.UserProfile, *pb.Error) {
	p, e := loadRow[pb.UserProfile](ctx, store, profileKey(user))
	if e != nil {
		return nil, e
	}
	p.User = user
	return p, nil
}

func (u *user) setProfile(ctx actor.Context, m *pb.SetProfile) {
	bg := context.Background()
	p, e := loadProfile(bg, u.rt.store, u.id)
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.SetProfileResponse{Error: e})
		return
	}
	next := proto.Clone(p).(*pb.UserProfile)
	if m.Name != nil {
		next.Name = *m.Name
	}
	if m.AvatarUrl != nil {
		next.AvatarUrl = *m.AvatarUrl
	}
	if m.SetMeta {
		next.Meta = m.Meta
	}
	if proto.Equal(next, p) {
		respond(ctx, ctx.Sender(), &pb.SetProfileResponse{Profile: p}) // nothing changes
		return
	}
	next.UpdatedMs = max(time.Now().UnixMilli(), p.UpdatedMs+1)
	if err := saveRow(bg, u.rt.store, profileKey(u.id), &pb.UserProfile{Name: next.Name, AvatarUrl: next.AvatarUrl, UpdatedMs: next.UpdatedMs, Meta: next.Meta}); err != nil {
		respond(ctx, ctx.Sender(), &pb.SetProfileResponse{Error: storeErr(err)})
		return
	}
	u.listChanged(pb.ListsUpdate_PROFILE, "") // the user's other devices show it
	respond(ctx, ctx.Sender(), &pb.SetProfileResponse{Profile: next})
}

// SetProfile changes the fields of user's profile that change sets (an
// empty string clears one; change nil or with none set reads it) and
// answers the profile as stored. A name has surrounding white space trimmed
// and is at most Config.MaxProfileNameBytes of UTF-8 without control
// characters; an avatar is an http(s) URL with a host of at most
// Config.MaxAvatarURLBytes. Anything else is INVALID.
func (n *Runtime) SetProfile(ctx context.Context, user string, change *pb.SetProfile) (*pb.UserProfile, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if change == nil {
		change = &pb.SetProfile{}
	}
	m := &pb.SetProfile{User: user}
	if change.Name != nil {
		name := strings.TrimSpace(*change.Name)
		if err := n.checkProfileName(name); err != nil {
			return nil, err
		}
		m.Name = &name
	}
	if change.AvatarUrl != nil {
		if err := n.checkAvatarURL(*change.AvatarUrl); err != nil {
			return nil, err
		}
		m.AvatarUrl = change.AvatarUrl
	}
	if m.Name == nil && m.AvatarUrl == nil {
		return n.Profile(ctx, user)
	}
	res, err := n.request(ctx, KindUser, user, m)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SetProfileResponse)
	if r.Error != nil {
		return nil, fromPB(r.Error)
	}
	n.names.Remove(user) // this node's views show it at once; others within displayNameTTL
	r.Profile.User = user
	return r.Profile, nil
}

// SetProfileMeta replaces the operator's own data about user (meta; empty:
// none), which their profile carries to every app that reads it (a
// verified seller's badge, a school's role), within a message's meta's
// bounds. Only the operator sets it: no request of the user's names it.
func (n *Runtime) SetProfileMeta(ctx context.Context, user string, meta map[string]string) (*pb.UserProfile, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if e := validMeta(meta, n.cfg.MaxMetaBytes); e != nil {
		return nil, fromPB(e)
	}
	if len(meta) == 0 {
		meta = nil
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetProfile{User: user, SetMeta: true, Meta: meta})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SetProfileResponse)
	if r.Error != nil {
		return nil, fromPB(r.Error)
	}
	r.Profile.User = user
	return r.Profile, nil
}

func (n *Runtime) checkProfileName(name string) error {
	switch {
	case len(name) > n.cfg.MaxProfileNameBytes:
		return invalid("a profile's name is %d bytes, limit %d", len(name), n.cfg.MaxProfileNameBytes)
	case !utf8.ValidString(name):
		return invalid("a profile's name is not UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return invalid("a profile's name has a control character")
	}
	return nil
}

func (n *Runtime) checkAvatarURL(avatar string) error {
	if avatar == "" {
		return nil
	}
	if len(avatar) > n.cfg.MaxAvatarURLBytes {
		return invalid("an avatar URL is %d bytes, limit %d", len(avatar), n.cfg.MaxAvatarURLBytes)
	}
	u, err := url.Parse(avatar)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("avatar %q is not an http(s) URL", avatar)
	}
	return nil
}

// Profile reads user's profile for the operator (the admin API): no
// viewer's rule applies.
func (n *Runtime) Profile(ctx context.Context, user string) (*pb.UserProfile, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	p, e := loadProfile(ctx, n.store, user)
	return p, fromPB(e)
}

// Profiles reads the profiles of users that viewer may see (above): with
// conv, users who are or were its members, viewer reading it (else
// NOT_MEMBER, as history); without, the viewer and the other members of
// viewer's direct conversations. Users viewer may not see are left out;
// the others are answered in the order asked, each once. At most
// Config.MaxProfileUsers users (else INVALID).
func (n *Runtime) Profiles(ctx context.Context, viewer, conv string, users []string) ([]*pb.UserProfile, error) {
	if err := checkUser(viewer); err != nil {
		return nil, err
	}
	uniq, err := distinctUsers(users, n.cfg.MaxProfileUsers, "profiles")
	if err != nil {
		return nil, err
	}
	if conv != "" {
		if err := checkConv(conv); err != nil {
			return nil, err
		}
		if _, err := n.authorize(ctx, conv, viewer, ActHistory); err != nil {
			return nil, err
		}
	}
	out := make([]*pb.UserProfile, len(uniq))
	err = inParallel(indexes(len(uniq)), func(i int) error {
		ok, err := n.seesProfile(ctx, viewer, conv, uniq[i])
		if err != nil || !ok {
			return err
		}
		var e *pb.Error
		out[i], e = loadProfile(ctx, n.store, uniq[i])
		return fromPB(e)
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(p *pb.UserProfile) bool { return p == nil }), nil
}

// seesProfile: whether viewer may see target's profile (above).
func (n *Runtime) seesProfile(ctx context.Context, viewer, conv, target string) (bool, error) {
	if target == viewer {
		return true, nil
	}
	kind, _ := KindOfID(conv)
	direct := conv == "" || kind == storage.KindDirect // named or not, a block hides the pair's profiles
	if conv == "" {
		conv = DirectConvID(viewer, target)
	}
	mem, err := n.store.GetMember(ctx, conv, target)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fromPB(storeErr(err))
	case !direct:
		return true, nil
	}
	// A direct conversation: it exists (target's row), and neither blocks
	// the other (a block mutes the blocked member's row).
	vmem, err := n.store.GetMember(ctx, conv, viewer)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fromPB(storeErr(err))
	}
	return !mem.Muted && !vmem.Muted, nil
}

// DisplayNames reads the display names of users (those without one, and
// those whose profile could not be read, are left out): for a caller
// that may see these users already, as the desk's queue and team views'
// readers may (no viewer's rule applies). Best effort: a name missing is
// shown as the user's id, so a store that fails does not fail the view.
// Names are cached for displayNameTTL: every agent's workbench polls its
// queues, and a name a few seconds old does no harm there.
func (n *Runtime) DisplayNames(ctx context.Context, users ...string) map[string]string {
	out := make(map[string]string, len(users))
	var missing []string
	now := time.Now()
	for _, u := range users {
		if checkUser(u) != nil || slices.Contains(missing, u) {
			continue
		}
		if c, ok := n.names.Get(u); ok && now.Sub(c.at) < displayNameTTL {
			if c.name != "" {
				out[u] = c.name
			}
			continue
		}
		missing = append(missing, u)
	}
	names := make([]string, len(missing))
	read := make([]bool, len(missing))
	_ = inParallel(indexes(len(missing)), func(i int) error {
		if p, e := loadProfile(ctx, n.store, missing[i]); e == nil {
			names[i], read[i] = p.Name, true
		}
		return nil
	})
	for i, u := range missing {
		if !read[i] {
			continue
		}
		n.names.Add(u, cachedName{name: names[i], at: now})
		if names[i] != "" {
			out[u] = names[i]
		}
	}
	return out
}

// displayNameTTL is how long DisplayNames trusts a name it read, and
// displayNameCacheSize how many it keeps (an LRU: the agents and the
// customers waiting now).
const (
	displayNameTTL       = 30 * time.Second
	displayNameCacheSize = 10_000
)

// cachedName is a display name DisplayNames read at at ("": none set).
type cachedName struct {
	name string
	at   time.Time
}

// distinctUsers checks the users one request asks about (at most limit
// of what, each a valid id) and keeps each once, in the order asked.
func distinctUsers(users []string, limit int, what string) ([]string, error) {
	if len(users) > limit {
		return nil, invalid("%d users: at most %d %s are read at once", len(users), limit, what)
	}
	var uniq []string
	for _, u := range users {
		if err := checkUser(u); err != nil {
			return nil, err
		}
		if !slices.Contains(uniq, u) {
			uniq = append(uniq, u)
		}
	}
	return uniq, nil
}

// indexes is 0 … n-1, for inParallel over a slice by index.
func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
