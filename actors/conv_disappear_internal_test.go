package actors

import "testing"

// The spans of disappearing messages: closed spans with nothing left to
// sweep (or nothing at all) go; past maxDisappearSpans the two oldest
// merge into one under the longer timer, from the older one's progress.
func TestPruneSpans(t *testing.T) {
	spans := []disappearSpan{
		{From: 1, To: 4, AfterMs: 10, Through: 4}, // swept: goes
		{From: 6, To: 5, AfterMs: 20},             // nothing sent: goes
	}
	for i := range maxDisappearSpans + 1 { // with the open one, two past the bound: two merges
		from := uint64(10 + 10*i)
		spans = append(spans, disappearSpan{From: from, To: from + 5, AfterMs: int64(100 + i), Through: from + 1})
	}
	spans = append(spans, disappearSpan{From: 500, AfterMs: 7}) // open: stays
	got := pruneSpans(spans)
	if len(got) != maxDisappearSpans {
		t.Fatalf("%d spans kept, want %d", len(got), maxDisappearSpans)
	}
	if want := (disappearSpan{From: 10, To: 35, AfterMs: 102, Through: 11}); got[0] != want {
		t.Fatalf("the oldest spans merged into %+v, want %+v", got[0], want)
	}
	if last := got[len(got)-1]; last.From != 500 || last.To != 0 {
		t.Fatalf("the open span: %+v", last)
	}
	if kept := pruneSpans(got[1:3]); len(kept) != 2 {
		t.Fatalf("spans under the bound, with rows to sweep, are kept: %+v", kept)
	}
}
