package testenv

import (
	"fmt"
	"net"
	"testing"
)

func TestFreePortIsBelowTheEphemeralRangeAndNeverRepeats(t *testing.T) {
	lo, _ := ephemeralRange()
	seen := map[int]bool{}
	for range 100 {
		p := FreePort(t)
		if p >= lo || p < 1024 {
			t.Fatalf("port %d is outside 1024-%d", p, lo-1)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	// A port handed out is bindable for both networks a node uses.
	p := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", p)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	u.Close()
}
