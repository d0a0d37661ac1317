package actors

import (
	"context"
	"sort"
	"strings"
	"sync"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Who may add a user to a group (privacy group_add_from): everyone, the
// users who share a group with them (a classmate's study group, not a
// stranger's), or nobody (they join by invite code or request only). It
// holds when a user adds others, creating a group with them or with a
// membership ADD; joining oneself (an invite code, an approved request)
// is the user's own choice and never held, and neither is the operator
// (the admin API). A user who never chose takes the node's default
// (Config.GroupAddFrom, everyone unless set).

// checkGroupAddFrom refuses actor's adding users to a group when any of
// them keeps actor out, naming every user refused so a client can send
// them an invite code instead. It costs one privacy-row read per user
// and, for those who chose GROUPS, their membership lists (actor's read
// once).
func (n *Runtime) checkGroupAddFrom(ctx context.Context, actor string, users []string) error {
	var (
		mu                sync.Mutex
		nobody, strangers []string
		actorGroups       map[string]bool
		actorOnce         sync.Once
		actorErr          error
	)
	groupsOfActor := func() (map[string]bool, error) {
		actorOnce.Do(func() {
			actorGroups = map[string]bool{}
			actorErr = n.scanGroups(ctx, actor, func(conv string) bool { actorGroups[conv] = true; return true })
		})
		return actorGroups, actorErr
	}
	err := inParallel(users, func(u string) error {
		if u == actor || checkUser(u) != nil {
			return nil // oneself; a bad id is refused with its own error
		}
		p, e := loadPrivacy(ctx, n.store, u)
		if e != nil {
			return fromPB(e)
		}
		rule := p.groupAddFrom
		if rule == pb.GroupAddFrom_GROUP_ADD_FROM_DEFAULT {
			rule = n.cfg.GroupAddFrom
		}
		switch rule {
		case pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY:
			mu.Lock()
			nobody = append(nobody, u)
			mu.Unlock()
		case pb.GroupAddFrom_GROUP_ADD_FROM_GROUPS:
			mine, err := groupsOfActor()
			if err != nil {
				return err
			}
			shared := false
			if len(mine) > 0 {
				if err := n.scanGroups(ctx, u, func(conv string) bool { shared = mine[conv]; return !shared }); err != nil {
					return err
				}
			}
			if !shared {
				mu.Lock()
				strangers = append(strangers, u)
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil || len(nobody)+len(strangers) == 0 {
		return err
	}
	var why []string
	if len(nobody) > 0 {
		sort.Strings(nobody)
		why = append(why, strings.Join(nobody, ", ")+" may be added to groups by nobody")
	}
	if len(strangers) > 0 {
		sort.Strings(strangers)
		why = append(why, strings.Join(strangers, ", ")+" only by people who share a group with them")
	}
	return forbidden("%s: send them an invite code instead", strings.Join(why, "; "))
}
