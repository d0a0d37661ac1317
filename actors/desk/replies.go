package desk

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
)

// KindReplies is the grain of a business line's saved replies (identity:
// the line): kept apart from the scene registry, which every entry reads,
// since a line's replies can be a few hundred KiB.
const KindReplies = "desk-replies"

// SavedReply is a text an agent sends often ("opening hours", "refund
// policy"), named for the agent's menu. The agent's client sends it as its
// own message: the desk does not send for it.
type SavedReply struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// checkSavedReplies checks a line's list against the desk's limits: at
// most MaxSavedReplies, names unique, texts of 1..MaxSavedReplyBytes UTF-8.
func (c Config) checkSavedReplies(list []SavedReply) error {
	if len(list) > c.MaxSavedReplies {
		return invalid("%d saved replies, limit %d", len(list), c.MaxSavedReplies)
	}
	seen := make(map[string]bool, len(list))
	for _, r := range list {
		switch {
		case !validName(r.Name):
			return invalid("saved reply name %q must be 1-32 of letters, digits, _ and -", r.Name)
		case seen[r.Name]:
			return invalid("saved reply %q is named twice", r.Name)
		case r.Text == "" || len(r.Text) > c.MaxSavedReplyBytes || !utf8.ValidString(r.Text):
			return invalid("saved reply %q: the text must be UTF-8 of 1-%d bytes (it is %d)", r.Name, c.MaxSavedReplyBytes, len(r.Text))
		}
		seen[r.Name] = true
	}
	return nil
}

// repliesGrain holds one line's saved replies, in the order set.
type repliesGrain struct {
	Replies []SavedReply `json:"replies"`
}

func (r *repliesGrain) state() any { return r }

func (r *repliesGrain) load(_ *grain, blob []byte, found bool) error {
	r.Replies = nil
	if found {
		return json.Unmarshal(blob, r)
	}
	return nil
}

func (r *repliesGrain) self(*grain, actor.Context, any) {}

func (r *repliesGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "set":
		var list []SavedReply
		if err := decode(body, &list); err != nil {
			return nil, err
		}
		if err := g.d.cfg.checkSavedReplies(list); err != nil {
			return nil, err
		}
		old := r.Replies
		r.Replies = list
		if err := g.save(ctx); err != nil {
			r.Replies = old
			return nil, err
		}
		return r.list(), nil
	case "get":
		return r.list(), nil
	}
	return nil, invalid("unknown op %q", op)
}

// list is never nil, so the answer is [] for a line without replies.
func (r *repliesGrain) list() []SavedReply {
	if r.Replies == nil {
		return []SavedReply{}
	}
	return r.Replies
}
