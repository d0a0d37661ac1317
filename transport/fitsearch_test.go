package transport

import (
	"bytes"
	"testing"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestFitSearch: an answer over the frame keeps its first matches and
// goes on from the last one kept: in its conversation for a search of
// every conversation, in the same conversation otherwise.
func TestFitSearch(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1000)
	page := func() *wirepb.SearchResult {
		return &wirepb.SearchResult{Messages: []*wirepb.Message{
			{Conv: "g:a", Seq: 9, Body: big}, {Conv: "g:b", Seq: 7, Body: big}, {Conv: "g:b", Seq: 3, Body: big},
		}}
	}
	res := page()
	fitSearch(res, 2500, true)
	if len(res.Messages) != 2 || res.NextConv != "g:b" || res.NextBeforeSeq != 7 {
		t.Fatalf("everywhere: %d kept, next %q/%d; want 2, g:b/7", len(res.Messages), res.NextConv, res.NextBeforeSeq)
	}
	res = page()
	fitSearch(res, 2500, false)
	if len(res.Messages) != 2 || res.NextConv != "" || res.NextBeforeSeq != 7 {
		t.Fatalf("one conversation: %d kept, next %q/%d; want 2, -/7", len(res.Messages), res.NextConv, res.NextBeforeSeq)
	}
	res = page()
	fitSearch(res, 1<<20, true)
	if len(res.Messages) != 3 || res.NextConv != "" || res.NextBeforeSeq != 0 {
		t.Fatalf("an answer that fits changed: %d kept, next %q/%d", len(res.Messages), res.NextConv, res.NextBeforeSeq)
	}
}
