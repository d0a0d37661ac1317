package admin

import (
	"testing"
	"time"
)

// A key expires at its instant, not a moment later; one without an
// expiry never does.
func TestAPIKeyExpiryEdge(t *testing.T) {
	at := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	k := APIKey{Name: "contractor", Expires: at}
	if k.expired(at.Add(-time.Nanosecond)) {
		t.Error("expired a nanosecond before its instant")
	}
	if !k.expired(at) {
		t.Error("not expired at its instant")
	}
	if (APIKey{Name: "forever"}).expired(at.AddDate(100, 0, 0)) {
		t.Error("a key without an expiry expired")
	}
}

// A key's rate at its edge: rate=2 passes a burst of 2, refuses the third
// with the wait until the next (a refused request spends nothing), passes
// again exactly then; a reload that keeps the rate keeps the limiter, one
// that changes it starts afresh.
func TestAPIKeyRateEdge(t *testing.T) {
	k := APIKey{Name: "shop", Scopes: []Scope{ScopeMessages}, Hash: [32]byte{1}, Rate: 2}
	f := &keyFile{}
	if err := f.load([]byte(k.Line() + "\n")); err != nil {
		t.Fatal(err)
	}
	k = f.keys[k.Hash]
	t0 := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 2 {
		if ok, _ := f.allow(k, t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	for _, at := range []time.Time{t0, t0.Add(499 * time.Millisecond)} {
		ok, wait := f.allow(k, at)
		if want := t0.Add(500 * time.Millisecond).Sub(at); ok || wait < want-time.Millisecond || wait > want {
			t.Fatalf("at +%v: allowed %v, wait %v; want refused, wait %v", at.Sub(t0), ok, wait, want)
		}
	}
	if ok, _ := f.allow(k, t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused when the next request was due")
	}
	other := APIKey{Name: "ops", Scopes: []Scope{ScopeStatus}, Hash: [32]byte{2}}
	if err := f.load([]byte(k.Line() + "\n" + other.Line() + "\n")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.allow(k, t0.Add(500*time.Millisecond)); ok {
		t.Fatal("an edit elsewhere in the file gave the key a fresh burst")
	}
	if ok, _ := f.allow(other, t0); !ok {
		t.Fatal("a key without a rate refused")
	}
	k.Rate = 5
	if err := f.load([]byte(k.Line() + "\n")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.allow(k, t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("a new rate kept the old limiter")
	}
}
