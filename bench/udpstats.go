package bench

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// udpStats are the machine's UDP counters from /proc/net/snmp (Linux).
type udpStats struct {
	// Received: InDatagrams, every UDP datagram delivered to a socket.
	// With node and bench on one machine each QUIC packet between them is
	// received once, so over a run it is the packets both sent.
	Received int64
	// ReceiveDrops: RcvbufErrors, datagrams dropped because a socket's
	// receive buffer was full. Each is a QUIC packet its sender
	// retransmits later, which shows as a latency tail that neither
	// process's CPU explains.
	ReceiveDrops int64
}

// readUDPStats reads the counters; ok is false where they cannot be read.
func readUDPStats() (s udpStats, ok bool) {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return s, false
	}
	defer f.Close()
	return parseUDPStats(f)
}

// parseUDPStats reads InDatagrams and RcvbufErrors from the "Udp:" header
// line and the "Udp:" value line after it.
func parseUDPStats(r io.Reader) (udpStats, bool) {
	sc := bufio.NewScanner(r)
	var header []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = fields
			continue
		}
		var s udpStats
		want := map[string]*int64{"InDatagrams": &s.Received, "RcvbufErrors": &s.ReceiveDrops}
		found := 0
		for i, name := range header {
			dst, ok := want[name]
			if !ok {
				continue
			}
			if i >= len(fields) {
				return udpStats{}, false
			}
			v, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				return udpStats{}, false
			}
			*dst = v
			found++
		}
		return s, found == len(want)
	}
	return udpStats{}, false
}
