package bench

import (
	"strings"
	"testing"
)

// InDatagrams and RcvbufErrors are read from the Udp lines of
// /proc/net/snmp, not from the UdpLite lines after them; a file without
// both reads as not measured.
func TestParseUDPStats(t *testing.T) {
	snmp := `Tcp: RtoAlgorithm RtoMin
Tcp: 1 200
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 77771308 465715 3758506 81110812 3758507 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 5 0 0 0 9 0 0 0 0
`
	if s, ok := parseUDPStats(strings.NewReader(snmp)); !ok || s.Received != 77771308 || s.ReceiveDrops != 3758507 {
		t.Fatalf("read %+v (ok %v), want InDatagrams 77771308 and RcvbufErrors 3758507", s, ok)
	}
	for _, bad := range []string{"", "Udp: InDatagrams NoPorts\nUdp: 1 2\n", "Udp: InDatagrams RcvbufErrors\nUdp: 1 x\n", "Udp: InDatagrams RcvbufErrors\nUdp: 1\n"} {
		if s, ok := parseUDPStats(strings.NewReader(bad)); ok {
			t.Errorf("%q: read %+v, want not measured", bad, s)
		}
	}
}
