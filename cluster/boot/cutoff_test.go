package boot

import (
	"errors"
	"testing"
)

// set builds a member-id set.
func set(ids ...string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// Every case is a snapshot one member could see; "cut" says whether that
// member must restart with a new id.
func TestCutOff(t *testing.T) {
	all := []string{"a", "b", "c"}
	cases := []struct {
		name     string
		self     string
		alive    []string
		topology map[string]bool
		views    map[string]map[string]bool
		cut      bool
	}{
		{name: "alone", self: "a", alive: []string{"a"}, topology: set("a")},
		{name: "whole", self: "b", alive: all, topology: set("a", "b", "c"),
			views: map[string]map[string]bool{"a": set("a", "b", "c"), "c": set("a", "b", "c")}},
		{name: "whole without views yet", self: "b", alive: all, topology: set("a", "b", "c")},
		{name: "minority after a heal", self: "b", alive: all, topology: set("b"),
			views: map[string]map[string]bool{"a": set("a", "c"), "c": set("a", "c")}, cut: true},
		{name: "majority side sees the minority member back", self: "a", alive: all, topology: set("a", "c"),
			views: map[string]map[string]bool{"b": set("b"), "c": set("a", "c")}},
		// The minority member has dropped c and c has dropped it, but it has no
		// majority: it restarts, c (the larger id) stays. The same holds for a
		// join in progress, before the newcomer is in either topology.
		{name: "majority side, larger id than the minority member", self: "c", alive: all, topology: set("a", "c"),
			views: map[string]map[string]bool{"a": set("a", "c"), "b": set("b")}},
		{name: "dropped one way by a peer it counts in", self: "b", alive: all, topology: set("a", "b", "c"),
			views: map[string]map[string]bool{"a": set("a", "c"), "c": set("a", "b", "c")}, cut: true},
		// The stuck heal: a and b each dropped the other, c holds both; each
		// of a and b has a majority. The larger id restarts, the smaller stays.
		{name: "mutual drop, larger id", self: "b", alive: all, topology: set("b", "c"),
			views: map[string]map[string]bool{"a": set("a", "c"), "c": set("a", "b", "c")}, cut: true},
		{name: "mutual drop, smaller id", self: "a", alive: all, topology: set("a", "c"),
			views: map[string]map[string]bool{"b": set("b", "c"), "c": set("a", "b", "c")}},
		{name: "even split, lowest side stays", self: "a", alive: []string{"a", "b", "c", "d"}, topology: set("a", "b"),
			views: map[string]map[string]bool{"b": set("a", "b"), "c": set("c", "d"), "d": set("c", "d")}},
		{name: "even split, other side goes", self: "c", alive: []string{"a", "b", "c", "d"}, topology: set("c", "d"),
			views: map[string]map[string]bool{"a": set("a", "b"), "b": set("a", "b"), "d": set("c", "d")}, cut: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := cutOff(tc.self, tc.alive, tc.topology, tc.views)
			if got := errors.Is(err, ErrCutOff); got != tc.cut {
				t.Fatalf("cut off = %v (%v), want %v", got, err, tc.cut)
			}
			if err != nil && !errors.Is(err, ErrCutOff) {
				t.Fatalf("unexpected error %v", err)
			}
		})
	}
}
