package bench

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// udpReceiveDrops is the machine's count of UDP datagrams dropped because
// a socket's receive buffer was full (Linux: RcvbufErrors in
// /proc/net/snmp); ok is false where it cannot be read. Each drop is a
// QUIC packet the sender retransmits later, which shows as a latency tail
// that neither process's CPU explains; with node and bench on one
// machine the count covers both.
func udpReceiveDrops() (n int64, ok bool) {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return parseUDPReceiveDrops(f)
}

// parseUDPReceiveDrops reads RcvbufErrors from the "Udp:" header line and
// the "Udp:" value line after it.
func parseUDPReceiveDrops(r io.Reader) (int64, bool) {
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
		for i, name := range header {
			if name == "RcvbufErrors" && i < len(fields) {
				v, err := strconv.ParseInt(fields[i], 10, 64)
				return v, err == nil
			}
		}
		return 0, false
	}
	return 0, false
}
