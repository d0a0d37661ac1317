package actors

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestReregSlicesBalanced: sessions are dealt evenly into the sweep's
// slices, each found at its place, and removal keeps that true.
func TestReregSlicesBalanced(t *testing.T) {
	x := &sessionIndex{byUser: map[string]map[*deviceSession]struct{}{}}
	var all []*deviceSession
	check := func(want int) {
		t.Helper()
		n := 0
		for i, sl := range x.slices {
			for pos, s := range sl {
				if int(s.slice) != i || s.pos != pos {
					t.Fatalf("session at slice %d pos %d says %d/%d", i, pos, s.slice, s.pos)
				}
			}
			n += len(sl)
		}
		if n != want {
			t.Fatalf("%d sessions in the slices, want %d", n, want)
		}
	}
	for i := range 10 * reregSlices {
		s := &deviceSession{user: fmt.Sprint("u", i%37), device: fmt.Sprint("d", i)}
		x.add(s)
		all = append(all, s)
	}
	check(len(all))
	for i, sl := range x.slices {
		if len(sl) != 10 {
			t.Fatalf("slice %d holds %d sessions, want 10", i, len(sl))
		}
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, s := range all[:len(all)/2] {
		x.remove(s)
		x.remove(s) // twice: a no-op
	}
	all = all[len(all)/2:]
	check(len(all))
	// New sessions fill the slices removal emptied first.
	for i := range 10 * reregSlices {
		x.add(&deviceSession{user: "v", device: fmt.Sprint("e", i)})
	}
	check(len(all) + 10*reregSlices)
	lo, hi := len(x.slices[0]), len(x.slices[0])
	for _, sl := range x.slices {
		lo, hi = min(lo, len(sl)), max(hi, len(sl))
	}
	if hi-lo > 1 {
		t.Fatalf("slices hold %d to %d sessions after refilling", lo, hi)
	}
}
