package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Labels: a user's own labels of their conversations ("new customer",
// "paid", "to ship"), the way a seller without a service desk sorts their
// chats. They are one more of the user's own flags (storage.UserConv's
// Labels): changed under the same rule (ActPin), told to every device by
// a flags push, carried in summaries, and a filter of
// ListConversations. At most Config.MaxConvLabels on one conversation,
// each 1 to Config.MaxLabelBytes of text.

// SetLabels takes remove, then adds add, to user's labels of conv, and
// answers the labels after, ascending. A label is trimmed of surrounding
// white space; empty, longer than Config.MaxLabelBytes or holding a
// control character is INVALID; more than Config.MaxConvLabels on conv
// TOO_MANY. Removing a label conv does not carry does nothing.
func (n *Runtime) SetLabels(ctx context.Context, user, conv string, add, remove []string) ([]string, error) {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return nil, err
	}
	if len(add)+len(remove) == 0 {
		return nil, invalid("no label to add or remove")
	}
	if len(add) > n.cfg.MaxConvLabels || len(remove) > n.cfg.MaxConvLabels {
		return nil, invalid("%d labels to add and %d to remove: at most %d each", len(add), len(remove), n.cfg.MaxConvLabels)
	}
	clean := func(labels []string) ([]string, error) {
		out := make([]string, len(labels))
		for i, l := range labels {
			l = strings.TrimSpace(l)
			switch {
			case l == "":
				return nil, invalid("an empty label")
			case len(l) > n.cfg.MaxLabelBytes:
				return nil, invalid("a label of %d bytes, limit %d", len(l), n.cfg.MaxLabelBytes)
			case !utf8.ValidString(l) || strings.IndexFunc(l, unicode.IsControl) >= 0:
				return nil, invalid("a label is UTF-8 text without control characters")
			}
			out[i] = l
		}
		return out, nil
	}
	add, err := clean(add)
	if err != nil {
		return nil, err
	}
	if remove, err = clean(remove); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetLabels{User: user, Conv: conv, Add: add, Remove: remove})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SetLabelsResponse)
	return r.Labels, fromPB(r.Error)
}

// dropLabels takes away every label user put on their conversations (an
// erasure: the labels are their words), through the user grain, so its
// lists and the user's devices agree. One store read per conversation.
func (n *Runtime) dropLabels(ctx context.Context, user string) error {
	for after := ""; ; {
		ms, err := n.store.ListMemberships(ctx, user, after, 500)
		if err != nil {
			return fromPB(storeErr(err))
		}
		for _, m := range ms {
			uc, err := n.store.GetUserConv(ctx, user, m.ConvID)
			if err != nil {
				return fromPB(storeErr(err))
			}
			for labels := uc.Labels; len(labels) > 0; { // a request names at most MaxConvLabels
				k := min(len(labels), n.cfg.MaxConvLabels)
				if _, err := n.SetLabels(ctx, user, m.ConvID, nil, labels[:k]); err != nil {
					return fmt.Errorf("%s: %w", m.ConvID, err)
				}
				labels = labels[k:]
			}
		}
		if len(ms) < 500 {
			return nil
		}
		after = ms[len(ms)-1].ConvID
	}
}

func (u *user) setLabels(ctx actor.Context, m *pb.SetLabels) {
	var after []string
	e := u.setOwnFlag(ctx, m.Conv, func(bg context.Context, uc *userConv) error {
		next := slices.DeleteFunc(slices.Clone(uc.labels), func(l string) bool { return slices.Contains(m.Remove, l) })
		next = append(next, m.Add...)
		slices.Sort(next)
		next = slices.Compact(next)
		if limit := u.rt.cfg.MaxConvLabels; len(next) > limit {
			return refusal{pbErr(pb.Code_TOO_MANY, "%d labels on %s, limit %d: remove one first", len(next), m.Conv, limit)}
		}
		if len(next) == 0 {
			next = nil
		}
		if err := u.rt.store.SetLabels(bg, u.id, m.Conv, next); err != nil {
			return err
		}
		uc.labels, after = next, next
		return nil
	})
	respond(ctx, ctx.Sender(), &pb.SetLabelsResponse{Error: e, Labels: after})
}
