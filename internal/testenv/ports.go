package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{} // ports FreePort returned in this process
)

// FreePort returns a loopback port that is free for TCP and UDP alike
// (memberlist binds both) and that no other caller in this process got.
//
// It is picked below the kernel's ephemeral range: a port the kernel
// handed out (":0") returns to that range when its user exits, and any
// outgoing connection or fresh socket may take it before a restarted
// node binds it again ("address already in use").
func FreePort(tb testing.TB) int {
	tb.Helper()
	lo, _ := ephemeralRange()
	first := max(lo-16384, 1024)
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range 200 {
		port := first + rand.IntN(lo-first)
		if handedOut[port] || !bindable(port) {
			continue
		}
		handedOut[port] = true
		return port
	}
	tb.Fatalf("no free port in %d-%d", first, lo-1)
	return 0
}

// bindable reports whether port can be bound on loopback for TCP and UDP.
func bindable(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// ephemeralRange is Linux's ip_local_port_range, or the usual default.
func ephemeralRange() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if _, err := fmt.Sscan(string(b), &lo, &hi); err == nil && lo > 1024+1024 {
			return lo, hi
		}
	}
	return 32768, 60999
}
