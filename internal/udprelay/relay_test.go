package udprelay

import (
	"net"
	"testing"
	"time"
)

// echo answers every datagram with its own name.
func echo(t *testing.T, name string) string {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteToUDP([]byte(name), from)
		}
	}()
	return pc.LocalAddr().String()
}

// client dials the relay from a port of its own (a flow).
func client(t *testing.T, r *Relay) func() string {
	t.Helper()
	c, err := net.Dial("udp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return func() string {
		t.Helper()
		buf := make([]byte, 64)
		for range 5 { // a datagram may be lost while a flow is cut
			if _, err := c.Write([]byte("?")); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := c.Read(buf); err == nil {
				return string(buf[:n])
			}
		}
		t.Fatal("no answer through the relay")
		return ""
	}
}

// Point moves every flow to the new target (a node taken out of rotation);
// PointNew sends only new flows there and keeps the existing ones on the
// node they were opened to (a node back in rotation).
func TestPointAndPointNew(t *testing.T) {
	a, b, c := echo(t, "a"), echo(t, "b"), echo(t, "c")
	r, err := New(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	first := client(t, r)
	if got := first(); got != "a" {
		t.Fatalf("first flow answered by %q, want a", got)
	}
	if err := r.PointNew(b); err != nil {
		t.Fatal(err)
	}
	if got := first(); got != "a" {
		t.Fatalf("after PointNew the existing flow is answered by %q, want a (kept)", got)
	}
	second := client(t, r)
	if got := second(); got != "b" {
		t.Fatalf("after PointNew a new flow is answered by %q, want b", got)
	}
	if err := r.Point(c); err != nil {
		t.Fatal(err)
	}
	if got, got2 := first(), second(); got != "c" || got2 != "c" {
		t.Fatalf("after Point the flows are answered by %q and %q, want c and c (cut and reopened)", got, got2)
	}
}

// DelayBack holds the answers to the clients it names, and only theirs.
func TestDelayBack(t *testing.T) {
	r, err := New(echo(t, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	slow, fast := client(t, r), client(t, r)
	fast() // its flow opens first: the first address the delay sees
	r.DelayBack(FirstFlowDelay(0, 300*time.Millisecond))
	start := time.Now()
	fast()
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("the undelayed client's answer took %s", d)
	}
	start = time.Now()
	slow()
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("the delayed client's answer took %s, want at least 300ms", d)
	}
}
