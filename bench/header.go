package bench

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// Every bench message starts with a header that lets any recipient check
// it without asking anyone: which sender sent it, its number in that
// sender's stream (1, 2, …, with no gaps), and when the schedule meant it
// to be sent (nanoseconds since the run started, so latency is taken from
// the intended time, not the actual one). Warm-up messages are verified
// like the others but kept out of the latency and throughput figures.
//
//	sb1 <m|w> <sender> <n> <intended_ns> xxxx…
type header struct {
	warmup   bool
	sender   int
	n        uint64
	intended time.Duration
}

var headerMagic = []byte("sb1 ")

// encode writes the header, padded with 'x' to size bytes when that is
// longer.
func (h header) encode(size int) []byte {
	b := make([]byte, 0, max(size, 48))
	b = append(b, headerMagic...)
	if h.warmup {
		b = append(b, 'w', ' ')
	} else {
		b = append(b, 'm', ' ')
	}
	b = strconv.AppendInt(b, int64(h.sender), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, h.n, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(h.intended), 10)
	b = append(b, ' ')
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

var errNoHeader = errors.New("bench: not a bench message")

func parseHeader(b []byte) (header, error) {
	var h header
	if !bytes.HasPrefix(b, headerMagic) || len(b) < len(headerMagic)+2 {
		return h, errNoHeader
	}
	b = b[len(headerMagic):]
	switch b[0] {
	case 'w':
		h.warmup = true
	case 'm':
	default:
		return h, errNoHeader
	}
	b = b[2:]
	var fields [3]uint64
	for i := range fields {
		j := bytes.IndexByte(b, ' ')
		if j <= 0 {
			return h, errNoHeader
		}
		v, err := strconv.ParseUint(string(b[:j]), 10, 64)
		if err != nil {
			return h, errNoHeader
		}
		fields[i], b = v, b[j+1:]
	}
	h.sender, h.n, h.intended = int(fields[0]), fields[1], time.Duration(fields[2])
	return h, nil
}
