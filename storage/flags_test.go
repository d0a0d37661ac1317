package storage_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/storage"
)

// A copy's count of forwards sits beside its other flags, and stops at
// MaxForwardHops.
func TestForwardHops(t *testing.T) {
	flags := storage.FlagForwarded | storage.FlagFlagged
	for _, c := range []struct{ set, want uint32 }{{0, 0}, {1, 1}, {storage.MaxForwardHops, storage.MaxForwardHops}, {storage.MaxForwardHops + 1, storage.MaxForwardHops}, {1 << 20, storage.MaxForwardHops}} {
		got := storage.WithForwardHops(flags, c.set)
		if storage.ForwardHops(got) != c.want || got&0xff != flags {
			t.Errorf("%d forwards: flags %#x, counted %d, want %d beside %#x", c.set, got, storage.ForwardHops(got), c.want, flags)
		}
	}
	if storage.ForwardHops(storage.WithForwardHops(storage.WithForwardHops(0, 9), 2)) != 2 {
		t.Error("a count set again replaces the one before")
	}
}
