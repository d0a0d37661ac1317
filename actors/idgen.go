package actors

import (
	"sync"
	"time"
)

// idGen makes globally unique, time-ordered 64-bit message ids:
// 42 bits of milliseconds since idEpoch, 10 bits of node number, 12 bits of
// sequence within the millisecond. The node number is leased from the store
// (nodeSlot), so two live nodes never share it. Past 4096 ids in one
// millisecond (or when the clock steps back) it borrows the following
// millisecond, so ids from one node are strictly increasing.
type idGen struct {
	mu     sync.Mutex
	node   uint64
	lastMs uint64
	seq    uint64
}

var idEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newIDGen(slot uint32) *idGen { return &idGen{node: uint64(slot) & 0x3ff} }

// setNode switches to a newly leased node number. It moves on to the next
// millisecond, so ids stay strictly increasing even if the new number is
// lower.
func (g *idGen) setNode(slot uint32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.node = uint64(slot) & 0x3ff
	g.lastMs++
	g.seq = 0
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

// NodeOfMsgID returns the node number a message id was made with.
func NodeOfMsgID(id uint64) uint32 { return uint32(id>>12) & 0x3ff }
