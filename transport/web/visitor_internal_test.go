package web

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// The source addresses a node remembers for the visitor rate stay within
// MaxAddresses: at the bound, the addresses back at a full allowance are
// forgotten first (they lose nothing), and an address still held up is
// kept while one can be dropped instead.
func TestVisitorAddressBound(t *testing.T) {
	m := &visitorMinter{cfg: VisitorConfig{PerMinute: 1, MaxAddresses: 2}, byAddr: map[string]*rate.Limiter{}}
	t0 := time.Now()
	allowed := func(addr string, at time.Time) bool {
		t.Helper()
		_, ok := m.allowAt(addr, at)
		if len(m.byAddr) > m.cfg.MaxAddresses {
			t.Fatalf("%d addresses remembered, bound %d", len(m.byAddr), m.cfg.MaxAddresses)
		}
		return ok
	}
	if !allowed("a", t0) || !allowed("b", t0) {
		t.Fatal("first tokens of a and b")
	}
	if allowed("a", t0) {
		t.Fatal("a's second token within the minute")
	}
	// A minute on, a and b are back at full allowance: c takes the place
	// of both.
	t1 := t0.Add(time.Minute)
	if !allowed("c", t1) || len(m.byAddr) != 1 {
		t.Fatalf("c at the bound: %d remembered, want c alone", len(m.byAddr))
	}
	// d fills the table; c stays held up, d's refusal is remembered.
	if !allowed("d", t1) || allowed("c", t1) || allowed("d", t1) {
		t.Fatal("c and d within their minute")
	}
	// e at the bound with nobody back at full allowance: the table starts
	// over rather than grow.
	if !allowed("e", t1) || len(m.byAddr) != 1 {
		t.Fatalf("e at the bound, none forgettable: %d remembered, want e alone", len(m.byAddr))
	}
}
