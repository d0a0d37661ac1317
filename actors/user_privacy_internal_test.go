package actors

import "testing"

// A privacy row decodes as written: one byte (no flag set, as before the
// flags existed) or two; anything else is refused.
func TestDecodePrivacy(t *testing.T) {
	for _, c := range []struct {
		state []byte
		want  privacySettings
		ok    bool
	}{
		{[]byte{2}, privacySettings{sharing: 2}, true},
		{[]byte{1, 1}, privacySettings{sharing: 1, hideReceipts: true}, true},
		{privacySettings{sharing: 0, hideReceipts: true}.encode(), privacySettings{hideReceipts: true}, true},
		{[]byte{0, 0}, privacySettings{}, true},
		{privacySettings{sharing: 2}.encode(), privacySettings{sharing: 2}, true},
		{[]byte{0, 2}, privacySettings{hidePreviews: true}, true},
		{privacySettings{sharing: 1, hideReceipts: true, hidePreviews: true}.encode(), privacySettings{sharing: 1, hideReceipts: true, hidePreviews: true}, true},
		{nil, privacySettings{}, false},
		{[]byte{9}, privacySettings{}, false},
		{[]byte{0, 0, 0}, privacySettings{}, false},
	} {
		if got, ok := decodePrivacy(c.state); ok != c.ok || got != c.want {
			t.Errorf("decodePrivacy(%v) = %+v, %v; want %+v, %v", c.state, got, ok, c.want, c.ok)
		}
	}
}

// Without a flag the row is the one byte a node from before the flags
// reads.
func TestEncodePrivacyKeepsOneByteWithoutFlags(t *testing.T) {
	if got := (privacySettings{sharing: 1}).encode(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("encode without flags: %v, want [1]", got)
	}
}
