package desk

import (
	"context"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Tags are what the agents file a session under ("refund", "shipping",
// "abusive"): the contact reasons a desk reports on. Like notes they live
// in the session's state, never in the conversation, so its customer
// never sees them; whoever may read the notes may tag, also once the
// session closed (the wrap-up). Every change is exported (desk_tags
// records, with the whole list) for the CRM or BI tool that counts them.

type tagReq struct {
	By     string   `json:"by"`
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// TagsEvent is a session's tags after a change, for Config.OnTags:
// Version counts the session's tag changes (1: the first), which names
// this list for good.
type TagsEvent struct {
	Session string
	Conv    string
	Version int
	By      string
	AtMs    int64
	Tags    []string
}

// normalizeTags checks the tags of a request and folds them to lower
// case, so that "Refund" and "refund" count as one reason.
func (d *Desk) normalizeTags(add, remove []string) (a, r []string, err error) {
	if len(add) == 0 && len(remove) == 0 {
		return nil, nil, invalid("name a tag to add or remove")
	}
	if len(add) > d.cfg.MaxSessionTags || len(remove) > d.cfg.MaxSessionTags {
		return nil, nil, rejected(pb.Code_TOO_MANY, "%d tags in one request, limit %d", max(len(add), len(remove)), d.cfg.MaxSessionTags)
	}
	fold := func(tags []string) ([]string, error) {
		out := make([]string, 0, len(tags))
		for _, t := range tags {
			if !validName(t) {
				return nil, invalid("tag %q must be 1-32 of letters, digits, _ and -", t)
			}
			out = append(out, strings.ToLower(t))
		}
		return out, nil
	}
	if a, err = fold(add); err != nil {
		return nil, nil, err
	}
	if r, err = fold(remove); err != nil {
		return nil, nil, err
	}
	return a, r, nil
}

// tag applies r to the tags of the current session (open or closed):
// removals first, then additions at the end in their order; a tag named
// twice counts once. A request that changes nothing records nothing.
func (t *threadGrain) tag(g *grain, ctx actor.Context, r tagReq) (any, error) {
	s := t.Session
	if s == nil {
		return nil, rejected(pb.Code_NOT_FOUND, "no session in %s", t.Conv)
	}
	next := slices.DeleteFunc(slices.Clone(s.Tags), func(tag string) bool { return slices.Contains(r.Remove, tag) })
	for _, tag := range r.Add {
		if !slices.Contains(next, tag) {
			next = append(next, tag)
		}
	}
	if slices.Equal(next, s.Tags) {
		return t.info(g, queueSpot{}), nil
	}
	if len(next) > g.d.cfg.MaxSessionTags {
		return nil, rejected(pb.Code_TOO_MANY, "the session would have %d tags, limit %d", len(next), g.d.cfg.MaxSessionTags)
	}
	prev, prevVersion := s.Tags, s.TagsVersion
	s.Tags, s.TagsVersion = next, s.TagsVersion+1
	if err := g.save(ctx); err != nil {
		s.Tags, s.TagsVersion = prev, prevVersion
		return nil, err
	}
	t.tallyTags(g, reasonsTellAttempts)
	if on := g.d.cfg.OnTags; on != nil {
		on(TagsEvent{Session: s.ID, Conv: t.Conv, Version: s.TagsVersion, By: r.By, AtMs: nowMs(), Tags: slices.Clone(next)})
	}
	return t.info(g, queueSpot{}), nil
}

// Tag adds and removes tags of the current session of conv for by (the
// admin API's: by is not checked; Wire.Tag checks it).
func (d *Desk) Tag(ctx context.Context, by, conv string, add, remove []string) (SessionInfo, error) {
	if !actors.ValidUserID(by) {
		return SessionInfo{}, invalid("bad user id %q", by)
	}
	a, r, err := d.normalizeTags(add, remove)
	if err != nil {
		return SessionInfo{}, err
	}
	return d.onThread(ctx, conv, "tag", tagReq{By: by, Add: a, Remove: r})
}

// Tag tags the session of conv for by, its agent (once closed, its last
// one) or a supervisor, as mayReadNotes says.
func (w *Wire) Tag(ctx context.Context, by, conv string, add, remove []string) (actors.DeskSessionInfo, error) {
	s, err := w.d.Session(ctx, by, conv)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	if err := w.mayReadNotes(ctx, by, s); err != nil {
		return actors.DeskSessionInfo{}, err
	}
	s, err = w.d.Tag(ctx, by, conv, add, remove)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return w.withNotes(ctx, s), nil
}
