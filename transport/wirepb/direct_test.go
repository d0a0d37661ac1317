package wirepb

import "testing"

func TestDirectPeer(t *testing.T) {
	for _, tc := range []struct {
		conv, user, peer string
		ok               bool
	}{
		{"d:alice:bob", "alice", "bob", true},
		{"d:alice:bob", "bob", "alice", true},
		{"d:alice:bob", "carol", "", false},
		{"d:alice:alice", "alice", "", false},
		{"g:alice:bob", "alice", "", false},
		{"d:alice:", "alice", "", false},
		{"d:bob:alice", "alice", "", false}, // not in order: no conversation DirectConvID makes
	} {
		peer, ok := DirectPeer(tc.conv, tc.user)
		if peer != tc.peer || ok != tc.ok {
			t.Errorf("DirectPeer(%q, %q) = %q, %v; want %q, %v", tc.conv, tc.user, peer, ok, tc.peer, tc.ok)
		}
	}
}
