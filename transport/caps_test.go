package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestConnectionCaps: connections per source address and devices per user
// are capped at their configured edge, with TOO_MANY.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		transport: transport.Config{MaxConnsPerAddr: 3},
		actors:    actors.Config{MaxOnlineDevices: 2},
	})
	// Two devices of one user: the edge of the device cap.
	e.dial("ann", "phone")
	e.dial("ann", "laptop")
	_, err := client.Dial(tctx(t), e.config("ann", "tablet"))
	if codeOf(err) != wirepb.Code_TOO_MANY {
		t.Fatalf("third device online: %v, want TOO_MANY", err)
	}
	// The third connection from this address is the edge of the address
	// cap once the refused one above is gone (the server lingers a moment
	// after its Error frame); a fourth is refused.
	eventually(t, "a third connection from the address", func() bool {
		c, err := client.Dial(tctx(t), e.config("bea", "phone"))
		if err != nil {
			return false
		}
		t.Cleanup(func() { _ = c.Close() })
		return true
	})
	_, err = client.Dial(tctx(t), e.config("cid", "phone"))
	if codeOf(err) != wirepb.Code_TOO_MANY {
		t.Fatalf("fourth connection from one address: %v, want TOO_MANY", err)
	}
}
