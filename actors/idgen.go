package actors

import (
	"hash/fnv"
	"sync"
	"time"
)

// idGen makes globally unique, time-ordered 64-bit message ids:
// 42 bits of milliseconds since idEpoch, 10 bits of node, 12 bits of
// sequence within the millisecond. Past 4096 ids in one millisecond (or when
// the clock steps back) it borrows the following millisecond, so ids from
// one node are strictly increasing.
type idGen struct {
	mu     sync.Mutex
	node   uint64
	lastMs uint64
	seq    uint64
}

var idEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newIDGen(nodeName string) *idGen {
	h := fnv.New32a()
	_, _ = h.Write([]byte(nodeName))
	return &idGen{node: uint64(h.Sum32()) & 0x3ff}
}

func (g *idGen) next(now time.Time) uint64 {
	ms := uint64(max(0, now.Sub(idEpoch).Milliseconds()))
	g.mu.Lock()
	defer g.mu.Unlock()
	if ms <= g.lastMs {
		ms = g.lastMs
		g.seq++
		if g.seq > 0xfff {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.lastMs = ms
	return ms<<22 | g.node<<12 | g.seq
}
