package actors

import (
	"context"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Who may start a direct conversation with a user (privacy direct_from):
// everyone, the users who share a group with them (a class's pupils take
// chats from their classmates and teachers, not from strangers), or
// nobody (only they start one). The rule holds at first contact only,
// when sendDirect is about to create the pair's conversation: a
// conversation that exists is never affected, and one the user started
// is theirs to go on with. A user who never chose takes the node's
// default (Config.DirectFrom, everyone unless set). The operator's own
// posts (the admin API, SendDirectAsOperator) are not held by it.

// directFromScanPage is how many membership rows one read asks for while
// looking for a shared group.
const directFromScanPage = 500

// checkDirectFrom refuses sender's first contact with to when to's rule
// does not let sender in. It costs one read of to's privacy row, and for
// DIRECT_FROM_GROUPS the two users' membership lists.
func (n *Runtime) checkDirectFrom(ctx context.Context, sender, to string) error {
	p, e := loadPrivacy(ctx, n.store, to)
	if e != nil {
		return fromPB(e)
	}
	rule := p.directFrom
	if rule == pb.DirectFrom_DIRECT_FROM_DEFAULT {
		rule = n.cfg.DirectFrom
	}
	switch rule {
	case pb.DirectFrom_DIRECT_FROM_NOBODY:
		return forbidden("%s takes no new chats: only they start one", to)
	case pb.DirectFrom_DIRECT_FROM_GROUPS:
		shared, err := n.shareGroup(ctx, sender, to)
		if err != nil {
			return err
		}
		if !shared {
			return forbidden("%s takes new chats only from people who share a group with them", to)
		}
	}
	return nil
}

// shareGroup reports whether a and b are both active members of one
// group. It reads at most Config.DirectFromScan membership rows of each:
// a user in more conversations than that may be found to share none.
func (n *Runtime) shareGroup(ctx context.Context, a, b string) (bool, error) {
	groups := map[string]bool{}
	if err := n.scanGroups(ctx, a, func(conv string) bool { groups[conv] = true; return true }); err != nil {
		return false, err
	}
	if len(groups) == 0 {
		return false, nil
	}
	shared := false
	err := n.scanGroups(ctx, b, func(conv string) bool { shared = groups[conv]; return !shared })
	return shared, err
}

// scanGroups calls each with the groups user is an active member of, in
// id order, until it answers false or Config.DirectFromScan rows were read.
func (n *Runtime) scanGroups(ctx context.Context, user string, each func(conv string) bool) error {
	for after, left := "", n.cfg.DirectFromScan; left > 0; {
		want := min(directFromScanPage, left)
		page, err := n.store.ListMemberships(ctx, user, after, want)
		if err != nil {
			return fromPB(storeErr(err))
		}
		for _, m := range page {
			if kind, _ := KindOfID(m.ConvID); kind == storage.KindGroup && m.Active() && !each(m.ConvID) {
				return nil
			}
		}
		if len(page) < want {
			return nil
		}
		left -= len(page)
		after = page[len(page)-1].ConvID
	}
	return nil
}
