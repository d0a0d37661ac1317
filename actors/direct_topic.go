package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Topics. A buyer writes to a seller about a listing, a guest to a host
// about a booking: a pair of users has one direct conversation per topic
// (d:<a>:<b>:<topic>, wirepb.DirectTopicConvID) beside their plain one,
// each a direct conversation with every rule of one, created by the
// first send to the user about it (SendMessage.topic). What belongs to
// the pair rather than to one conversation lives in the plain one:
//
//   - A block (Block) is the plain conversation's, and Block applies it
//     to each of the pair's topic conversations too; one about a new topic
//     is not opened while either blocks the other.
//   - A first contact's rules (the recipient's direct_from, the sender's
//     new-conversation bucket) hold for a topic conversation unless the
//     pair's plain conversation exists: a pair that talked already may
//     open as many topics as they need.

// directTarget is the id of sender's direct conversation with to about
// topic ("": their plain one), after checking all three.
func directTarget(sender, to, topic string) (string, error) {
	if err := checkPeer(sender, to); err != nil {
		return "", err
	}
	if topic == "" {
		return DirectConvID(sender, to), nil
	}
	if !session.ValidTopic(topic) {
		return "", invalid("topic %q: 1-%d letters, digits and ._@-", topic, session.MaxTopicBytes)
	}
	id := wirepb.DirectTopicConvID(sender, to, topic)
	if !ValidConvID(id) {
		return "", invalid("the conversation about %q would have the id %s, %d bytes: the limit is 128; use a shorter topic", topic, id, len(id))
	}
	return id, nil
}

// checkTopicOpen is what a first send about a topic checks before it
// creates the topic's conversation: neither user blocks the other (the
// pair's plain conversation says), and, when the pair has no plain
// conversation, the first contact's rules (operator: not to's
// direct_from).
func (n *Runtime) checkTopicOpen(ctx context.Context, sender, to string, operator bool) error {
	plain := DirectConvID(sender, to)
	mine, err := n.store.GetMember(ctx, plain, sender)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if !operator {
			if err := n.checkDirectFrom(ctx, sender, to); err != nil {
				return err
			}
		}
		return n.mayOpenDirect(ctx, sender, to)
	case err != nil:
		return fromPB(storeErr(err))
	}
	return n.checkPairBlock(ctx, plain, sender, to, mine)
}

// checkPairBlock refuses a new topic conversation while either user of
// the pair blocks the other (the plain conversation's rows, as the grain
// refuses a send there).
func (n *Runtime) checkPairBlock(ctx context.Context, plain, sender, to string, mine storage.Member) error {
	if mine.Muted {
		return &Error{Code: pb.Code_MUTED, Message: fmt.Sprintf("%s cannot write to %s, who blocked them", sender, to)}
	}
	theirs, err := n.store.GetMember(ctx, plain, to)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fromPB(storeErr(err))
	case theirs.Muted:
		return forbidden("%s blocked %s: unblock them to write", sender, to)
	}
	return nil
}

// blockTopics applies a block (or its end) that user set on target in
// their plain conversation to each of the pair's topic conversations:
// user's memberships are ordered by id, so the ids that start with the
// plain one's and ':' come one after the other, from just after that
// prefix (the plain id itself is not where they start: "d:a:b2", another
// pair's, sorts between "d:a:b" and "d:a:b:t").
func (n *Runtime) blockTopics(ctx context.Context, user, target string, op pb.MembershipChange_Op) error {
	prefix := DirectConvID(user, target) + ":"
	for after := prefix; ; {
		page, err := n.store.ListMemberships(ctx, user, after, directFromScanPage)
		if err != nil {
			return fromPB(storeErr(err))
		}
		for _, m := range page {
			if !strings.HasPrefix(m.ConvID, prefix) {
				return nil
			}
			_, err := n.ChangeMembership(ctx, &pb.MembershipChange{Conv: m.ConvID, Actor: user, Op: op, Users: []string{target}})
			if err != nil && CodeOf(err) != pb.Code_NOT_FOUND {
				return fmt.Errorf("the conversation about %s: %w", wirepb.DirectTopic(m.ConvID), err)
			}
		}
		if len(page) < directFromScanPage {
			return nil
		}
		after = page[len(page)-1].ConvID
	}
}

// blockNewTopic closes the window between checkTopicOpen and the topic
// conversation's creation: a block set on the plain conversation
// meanwhile, which Block's pass over the topics may have missed, is
// applied to the new one.
func (n *Runtime) blockNewTopic(ctx context.Context, conv, a, b string) error {
	plain := DirectConvID(a, b)
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		blocker, blocked := pair[0], pair[1]
		row, err := n.store.GetMember(ctx, plain, blocked)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return fromPB(storeErr(err))
		case row.Muted:
			_, err := n.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: blocker, Op: pb.MembershipChange_BLOCK, Users: []string{blocked}})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
