package session

import (
	"regexp"
	"strings"
	"testing"
)

// The id rules, written as the regexps they were first given as.
var (
	userIDSpec = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	convIDSpec = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)
)

func TestIDsFollowTheirSpec(t *testing.T) {
	ids := []string{"", "a", "alice", "Alice_1.x@y-z", "d:alice:bob", "a b", "a/b", "é", "a\x00", "a:b",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65),
		strings.Repeat("b", 127), strings.Repeat("b", 128), strings.Repeat("b", 129)}
	for c := 0; c < 256; c++ {
		ids = append(ids, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	for _, id := range ids {
		if got, want := ValidUserID(id), userIDSpec.MatchString(id); got != want {
			t.Errorf("ValidUserID(%q) = %v, want %v", id, got, want)
		}
		if got, want := ValidConvID(id), convIDSpec.MatchString(id); got != want {
			t.Errorf("ValidConvID(%q) = %v, want %v", id, got, want)
		}
	}
}

func FuzzIDsFollowTheirSpec(f *testing.F) {
	f.Add("d:alice:bob")
	f.Fuzz(func(t *testing.T, id string) {
		if ValidUserID(id) != userIDSpec.MatchString(id) || ValidConvID(id) != convIDSpec.MatchString(id) {
			t.Fatalf("%q: table and spec disagree", id)
		}
	})
}
