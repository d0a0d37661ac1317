package desk

import (
	"sort"

	"github.com/asynkron/protoactor-go/actor"
)

// idSet is a desk grain's saved set of ids that start-up reads: the
// roster's threads with an open session, the merges not finished yet.
// Both change it with idempotent "add" and "remove" requests.
type idSet map[string]bool

// change applies an "add" or "remove" of the id in body and saves the
// grain when the set changed (a repeated request writes nothing).
func (s idSet) change(g *grain, ctx actor.Context, op string, body []byte) error {
	var id string
	if err := decode(body, &id); err != nil {
		return err
	}
	if s[id] == (op == "add") {
		return nil
	}
	if op == "add" {
		s[id] = true
	} else {
		delete(s, id)
	}
	return g.save(ctx)
}

// sorted returns the ids in order.
func (s idSet) sorted() []string {
	out := make([]string, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
