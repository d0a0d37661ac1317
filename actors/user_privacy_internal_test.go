package actors

import "testing"

// A privacy row decodes as written: one byte (written before the flags
// existed) or two; anything else is refused.
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
		{nil, privacySettings{}, false},
		{[]byte{9}, privacySettings{}, false},
		{[]byte{0, 0, 0}, privacySettings{}, false},
	} {
		if got, ok := decodePrivacy(c.state); ok != c.ok || got != c.want {
			t.Errorf("decodePrivacy(%v) = %+v, %v; want %+v, %v", c.state, got, ok, c.want, c.ok)
		}
	}
}
