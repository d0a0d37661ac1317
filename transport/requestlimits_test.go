package transport_test

import (
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestServerAppliesItsRequestLimits: a server configured with limits of
// its own applies them to what clients send over the wire, at the edge.
func TestServerAppliesItsRequestLimits(t *testing.T) {
	e := newEnv(t, envOptions{transport: transport.Config{Requests: transport.RequestLimits{MaxListUsers: 3, MaxTitle: 4}}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	if _, err := alice.CreateGroup(ctx, "g:three", "four", []string{"bob", "carol", "dave"}); err != nil {
		t.Fatalf("three members, title of four bytes: %v", err)
	}
	_, err := alice.CreateGroup(ctx, "g:four", "four", []string{"bob", "carol", "dave", "erin"})
	if codeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), "4 users, limit 3") {
		t.Fatalf("four members: %v, want INVALID naming the limit", err)
	}
	if _, err := alice.CreateGroup(ctx, "g:title", "fives", nil); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("title of five bytes: %v, want INVALID", err)
	}
	if _, err := alice.AddMembers(ctx, "g:three", "erin", "frank", "gina", "hank"); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("adding four: %v, want INVALID", err)
	}
	if _, err := alice.AddMembers(ctx, "g:three", "erin", "frank", "gina"); err != nil {
		t.Fatalf("adding three: %v", err)
	}
}
