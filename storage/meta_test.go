package storage

import (
	"bytes"
	"maps"
	"testing"
)

// A message's meta reads back as written, in one encoding whatever the
// map's order; bytes it cannot have written are an error, not data.
func TestMetaEncoding(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{"order": "A-1001"},
		{"listing": "7", "price": "120 €", "empty": ""},
	} {
		b := EncodeMeta(m)
		got, err := DecodeMeta(b)
		if err != nil || !maps.Equal(got, m) || (m == nil) != (got == nil) {
			t.Fatalf("%v: read back %v %v", m, got, err)
		}
		for range 5 { // a map's order varies from run to run
			if again := EncodeMeta(maps.Clone(m)); !bytes.Equal(again, b) {
				t.Fatalf("%v: encoded %x, then %x", m, b, again)
			}
		}
	}
	if EncodeMeta(map[string]string{}) != nil {
		t.Fatal("an empty meta is stored as none")
	}
	for _, bad := range [][]byte{{5, 'a'}, {1, 'a'}, {1, 'a', 9, 'b'}, {0xff}} {
		if m, err := DecodeMeta(bad); err == nil {
			t.Fatalf("%x read as %v", bad, m)
		}
	}
}
