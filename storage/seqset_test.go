package storage

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestSeqSet(t *testing.T) {
	for _, seqs := range [][]uint64{nil, {1}, {3, 4, 200, 1 << 40}, {math.MaxInt64}} {
		got, err := ParseSeqs(AppendSeqs(nil, seqs))
		if err != nil || !slices.Equal(got, seqs) {
			t.Fatalf("round trip of %v: %v, %v", seqs, got, err)
		}
		if err := CheckSeqSet("s", seqs); err != nil {
			t.Fatalf("check %v: %v", seqs, err)
		}
	}
	if b := AppendSeqs(nil, []uint64{100, 101, 102}); len(b) != 3 {
		t.Fatalf("three nearby seqs take %d bytes, want 3", len(b))
	}
	for _, bad := range [][]byte{{0x80}, {5, 0}} { // a cut varint; a seq twice
		if _, err := ParseSeqs(bad); err == nil {
			t.Fatalf("ParseSeqs(%x) took it", bad)
		}
	}
	for _, bad := range [][]uint64{{0}, {2, 2}, {3, 1}, {math.MaxInt64 + 1}} {
		if err := CheckSeqSet("s", bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("CheckSeqSet(%v) = %v, want ErrInvalid", bad, err)
		}
	}
}
