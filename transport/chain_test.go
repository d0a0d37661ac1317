package transport

import (
	"fmt"
	"testing"
)

// A send behind a refused one is refused, one behind anything else is
// not; a skipped send passes the question to the one it followed; an id
// leaves the set when its send proceeds; past the limit the oldest entry
// is forgotten, and the bookkeeping stays bounded however many come and go.
func TestRefusedSends(t *testing.T) {
	r := newRefusedSends(3)
	r.refused("c", "a", 40)
	if ms, ok := r.behind("c", "a"); !ok || ms != 40 {
		t.Fatalf("behind a: %d %v, want 40 true", ms, ok)
	}
	if _, ok := r.behind("other", "a"); ok {
		t.Fatal("a is refused in lane c only")
	}
	if _, ok := r.behind("c", "x"); ok {
		t.Fatal("x was never refused")
	}
	if _, ok := r.behind("c", ""); ok {
		t.Fatal("a send with nothing ahead is never behind")
	}
	// b was refused for good when read, written behind a: a send behind b
	// follows a.
	r.skipped("c", "b", "a")
	if _, ok := r.behind("c", "b"); !ok {
		t.Fatal("behind b, which followed refused a")
	}
	r.proceeded("c", "a") // a sent again, and it ran
	if _, ok := r.behind("c", "b"); ok {
		t.Fatal("a proceeded: b's successor may too")
	}
	// A cycle of skipped sends ends.
	r.skipped("c", "p", "q")
	r.skipped("c", "q", "p")
	if _, ok := r.behind("c", "p"); ok {
		t.Fatal("a cycle of skipped sends chains to no refusal")
	}
	// The limit: the oldest entries go first (b, then p).
	r = newRefusedSends(3)
	for _, id := range []string{"a", "b", "c", "d"} {
		r.refused("l", id, 0)
	}
	if _, ok := r.behind("l", "a"); ok {
		t.Fatal("a, the oldest of 4 with limit 3, is still remembered")
	}
	for _, id := range []string{"b", "c", "d"} {
		if _, ok := r.behind("l", id); !ok {
			t.Fatalf("%s forgotten", id)
		}
	}
	// Refused again, an id counts as new: it outlives the ones refused
	// since its first refusal.
	r.refused("l", "b", 0)
	r.refused("l", "e", 0)
	if _, ok := r.behind("l", "b"); !ok {
		t.Fatal("b, refused again, forgotten before c")
	}
	if _, ok := r.behind("l", "c"); ok {
		t.Fatal("c should be the one forgotten")
	}
	// Churn: many refusals that proceed keep the bookkeeping bounded.
	for i := range 10000 {
		id := fmt.Sprint("m", i)
		r.refused("l", id, 0)
		r.proceeded("l", id)
	}
	if len(r.m) > 3 || len(r.order) > 2*3+16 {
		t.Fatalf("after churn: %d entries, %d refs", len(r.m), len(r.order))
	}
	// A zero limit remembers nothing.
	r = newRefusedSends(0)
	r.refused("l", "a", 0)
	if _, ok := r.behind("l", "a"); ok {
		t.Fatal("limit 0 remembered a refusal")
	}
}
