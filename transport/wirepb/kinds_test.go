package wirepb

import "testing"

// Which sends may be empty: the takebacks, a poll's close, a file; never
// a text, a card, a new poll or an edit.
func TestEmptyBodyAllowed(t *testing.T) {
	for _, c := range []struct {
		kind   MessageKind
		refSeq uint64
		file   bool
		want   bool
	}{
		{MessageKind_REACTION, 3, false, true},
		{MessageKind_VOTE, 3, false, true},
		{MessageKind_POLL, 3, false, true},
		{MessageKind_NORMAL, 0, true, true},
		{MessageKind_NORMAL, 0, false, false},
		{MessageKind_NORMAL, 3, false, false},
		{MessageKind_CARD, 0, false, false},
		{MessageKind_POLL, 0, false, false},
	} {
		if got := EmptyBodyAllowed(c.kind, c.refSeq, c.file); got != c.want {
			t.Errorf("%v ref %d file %v: %v, want %v", c.kind, c.refSeq, c.file, got, c.want)
		}
	}
}
