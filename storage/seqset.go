package storage

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A set of seqs (a member's hidden messages) as stored by every backend:
// ascending seqs as uvarint deltas, so a set of nearby seqs costs about a
// byte each.

// AppendSeqs appends the encoding of seqs (ascending) to b.
func AppendSeqs(b []byte, seqs []uint64) []byte {
	prev := uint64(0)
	for _, seq := range seqs {
		b = binary.AppendUvarint(b, seq-prev)
		prev = seq
	}
	return b
}

// ParseSeqs decodes what AppendSeqs wrote; nil for an empty b.
func ParseSeqs(b []byte) ([]uint64, error) {
	var seqs []uint64
	prev := uint64(0)
	for len(b) > 0 {
		delta, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("seq set: bad varint after %d seqs", len(seqs))
		}
		if len(seqs) > 0 && delta == 0 {
			return nil, fmt.Errorf("seq set: seq %d twice", prev)
		}
		prev += delta
		seqs = append(seqs, prev)
		b = b[n:]
	}
	return seqs, nil
}

// CheckSeqSet refuses a set a store could not keep as given: seqs not
// strictly ascending, a zero, or one above the int64 range a CQL bigint
// holds.
func CheckSeqSet(what string, seqs []uint64) error {
	for i, seq := range seqs {
		if seq == 0 || seq > math.MaxInt64 || i > 0 && seq <= seqs[i-1] {
			return fmt.Errorf("%s: %d at %d is zero, above %d or not above the one before: %w", what, seq, i, int64(math.MaxInt64), ErrInvalid)
		}
	}
	return nil
}
