package bench

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/switchboard-im/switchboard/transport/client"
)

// stream is what one recipient has seen of one sender: which message
// numbers arrived (a bitset), and the highest one with its conversation
// seq and the connection epoch it arrived in.
type stream struct {
	bits    []uint64
	maxN    uint64
	maxSeq  uint64
	maxEpoc uint64
}

func (s *stream) has(n uint64) bool {
	i := n / 64
	return i < uint64(len(s.bits)) && s.bits[i]&(1<<(n%64)) != 0
}

func (s *stream) set(n uint64) {
	i := n / 64
	for uint64(len(s.bits)) <= i {
		s.bits = append(s.bits, 0)
	}
	s.bits[i] |= 1 << (n % 64)
}

// recipient is one receiving user. Its clients call in concurrently.
type recipient struct {
	name      string
	c         *client.Client // its receiving client, for the final resync
	mu        sync.Mutex
	from      map[int]*stream
	epoch     atomic.Uint64 // bumped at every disconnect and resync
	resyncing atomic.Bool   // between a disconnect and the resync after it
	// disturbed: the client lost a connection once; from then on gap
	// fills may legitimately bring older messages after newer ones.
	disturbed atomic.Bool
	joined    atomic.Int64 // membership events seen
	// handedOff: this user's connection here was closed on purpose (it
	// sends from the sender process): its events mean nothing now.
	handedOff atomic.Bool
}

func newRecipient(name string) *recipient { return &recipient{name: name, from: map[int]*stream{}} }

// verdict is what a delivery turned out to be.
type verdict int

const (
	fresh verdict = iota
	duplicate
	outOfOrder
	reordered // after a resync filled a gap: not a fault, reported apart
)

// receive records message n of sender (conversation seq) and judges it.
// Out of order: the conversation's seqs disagree with the sender's order,
// or an older message came after a newer one on the same connection with
// no reconnect or resync in between (pushes of a conversation share one
// lane, in order). Once a client has reconnected, pushes and fetched
// history interleave, so older-after-newer is then only "reordered".
func (r *recipient) receive(sender int, n, seq uint64) verdict {
	ep, catchingUp := r.epoch.Load(), r.resyncing.Load() || r.disturbed.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stream(sender)
	if s.has(n) {
		return duplicate
	}
	s.set(n)
	v := fresh
	switch {
	case n > s.maxN:
		if s.maxN > 0 && seq < s.maxSeq {
			v = outOfOrder
		}
		s.maxN, s.maxSeq, s.maxEpoc = n, seq, ep
	case seq > s.maxSeq:
		v = outOfOrder
	case s.maxEpoc == ep && !catchingUp:
		v = outOfOrder
	default:
		v = reordered
	}
	return v
}

// found marks message n of sender as found by the final resync (not
// received live).
func (r *recipient) found(sender int, n uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stream(sender).set(n)
}

// stream is what r has seen of sender, made on first use; r.mu is held.
func (r *recipient) stream(sender int) *stream {
	s := r.from[sender]
	if s == nil {
		s = &stream{}
		r.from[sender] = s
	}
	return s
}

// missing counts the numbers in acked that r has not seen from sender,
// and the first of them.
func (r *recipient) missing(sender int, acked []uint64) (lost int64, first uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.from[sender]
	for i, w := range acked {
		var got uint64
		if s != nil && i < len(s.bits) {
			got = s.bits[i]
		}
		if miss := w &^ got; miss != 0 {
			if lost == 0 {
				first = uint64(i)*64 + uint64(bits.TrailingZeros64(miss))
			}
			lost += int64(popcount(miss))
		}
	}
	return lost, first
}

func popcount(x uint64) int { return bits.OnesCount64(x) }
