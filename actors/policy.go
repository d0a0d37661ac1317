package actors

import (
	"strings"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
)

// policy matches message bodies against the sensitive-word list with an
// Aho-Corasick automaton: one pass over the body whatever the list's size.
type policy struct {
	mode PolicyMode
	ac   *ahocorasick.AhoCorasick
}

func newPolicy(mode PolicyMode, words []string) *policy {
	p := &policy{mode: mode}
	var pats []string
	for _, w := range words {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			pats = append(pats, w)
		}
	}
	if mode == PolicyOff || len(pats) == 0 {
		p.mode = PolicyOff
		return p
	}
	b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{
		AsciiCaseInsensitive: true,
		MatchKind:            ahocorasick.LeftMostLongestMatch,
		DFA:                  true,
	})
	ac := b.Build(pats)
	p.ac = &ac
	return p
}

// matches reports whether body contains a listed word (case-insensitively,
// also for non-ASCII letters: the body is lower-cased first when it has any).
func (p *policy) matches(body []byte) bool {
	if p.mode == PolicyOff {
		return false
	}
	text := string(body)
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			text = strings.ToLower(text)
			break
		}
	}
	ac := *p.ac // the automaton is read-only; the copy carries its own counters
	return ac.Iter(text).Next() != nil
}
