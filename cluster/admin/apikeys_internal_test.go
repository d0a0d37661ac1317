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
