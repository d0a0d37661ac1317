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
		{"d:alice:bob:listing-7", "alice", "bob", true},
		{"d:alice:bob:listing-7", "bob", "alice", true},
		{"d:alice:bob:listing-7", "bob:listing-7", "", false},
		{"d:alice:bob:", "alice", "", false},
		{"d:alice:bob:a:b", "alice", "", false},
	} {
		peer, ok := DirectPeer(tc.conv, tc.user)
		if peer != tc.peer || ok != tc.ok {
			t.Errorf("DirectPeer(%q, %q) = %q, %v; want %q, %v", tc.conv, tc.user, peer, ok, tc.peer, tc.ok)
		}
	}
}

func TestDirectTopicConvID(t *testing.T) {
	if id := DirectTopicConvID("bob", "alice", "listing-7"); id != "d:alice:bob:listing-7" {
		t.Fatalf("id %q", id)
	}
	if id := DirectTopicConvID("bob", "alice", ""); id != DirectConvID("alice", "bob") {
		t.Fatalf("no topic: %q, want the plain conversation", id)
	}
	for conv, want := range map[string]string{"d:alice:bob:listing-7": "listing-7", "d:alice:bob": "", "g:team": "", "d:alice:bob:": ""} {
		if got := DirectTopic(conv); got != want {
			t.Errorf("DirectTopic(%q) = %q, want %q", conv, got, want)
		}
	}
}
