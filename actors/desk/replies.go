package desk

import (
	"encoding/json"
	"strings"
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

// Placeholders in a saved reply ("Hi {customer_name|there}, I'm
// {agent_name}"): filled when an agent reads the replies for a session
// (Wire.SavedReplies with a conversation), from what the desk knows then.
// {customer_name} and {agent_name} are display names (their profiles'),
// {customer.KEY} the customer's attribute KEY (what the business told the
// desk); {NAME|FALLBACK} gives FALLBACK when the value is empty. A name
// the desk does not know is left as typed, so a brace in ordinary text
// stays.
const (
	placeholderCustomerName = "customer_name"
	placeholderAgentName    = "agent_name"
	placeholderAttribute    = "customer."
)

// fillReply fills text's placeholders from values (a missing attribute
// is empty; any other name not in values is left as typed).
func fillReply(text string, values map[string]string) string {
	var b strings.Builder
	for {
		end := strings.IndexByte(text, '}')
		if end < 0 {
			break
		}
		open := strings.LastIndexByte(text[:end], '{') // the innermost: "{ {agent_name}" fills
		if open < 0 {
			b.WriteString(text[:end+1])
			text = text[end+1:]
			continue
		}
		name, fallback, _ := strings.Cut(text[open+1:end], "|")
		v, known := values[name]
		if !known && strings.HasPrefix(name, placeholderAttribute) && len(name) > len(placeholderAttribute) {
			known = true // an attribute the customer does not have: empty
		}
		b.WriteString(text[:open])
		switch {
		case !known:
			b.WriteString(text[open : end+1])
		case v != "":
			b.WriteString(v)
		default:
			b.WriteString(fallback)
		}
		text = text[end+1:]
	}
	b.WriteString(text)
	return b.String()
}
