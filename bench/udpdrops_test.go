package bench

import (
	"strings"
	"testing"
)

// RcvbufErrors is read from the Udp lines of /proc/net/snmp, not from the
// UdpLite lines after them; a file without it reads as not measured.
func TestParseUDPReceiveDrops(t *testing.T) {
	snmp := `Tcp: RtoAlgorithm RtoMin
Tcp: 1 200
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 77771308 465715 3758506 81110812 3758507 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 9 0 0 0 0
`
	if n, ok := parseUDPReceiveDrops(strings.NewReader(snmp)); !ok || n != 3758507 {
		t.Fatalf("RcvbufErrors %d (ok %v), want 3758507", n, ok)
	}
	for _, bad := range []string{"", "Udp: InDatagrams NoPorts\nUdp: 1 2\n", "Udp: InDatagrams RcvbufErrors\nUdp: 1 x\n"} {
		if n, ok := parseUDPReceiveDrops(strings.NewReader(bad)); ok {
			t.Errorf("%q: read %d, want not measured", bad, n)
		}
	}
}
