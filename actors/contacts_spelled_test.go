package actors

import (
	"strings"
	"testing"
)

// Phone numbers spelled out, in whole or in part, are contact details;
// prose with a few number words, number words inside longer runs of
// text, and runs too short for a phone number are not.
func TestContactDetailsSpelledOut(t *testing.T) {
	p, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactDetailsIn: []string{"direct"}, ContactMinDigits: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sent, masked string }{
		{"call zero one five one two three four five six", "call ***"},
		{"Call FIVE five five - one two three - four five six seven!", "Call ***!"},
		{"whatsapp: 0151 two three four five six seven", "whatsapp: ***"},
		{"oh one five one, 2345 6789 ok?", "*** ok?"},
		{"one two three four five six seven", "one two three four five six seven"}, // 7 digits: below the limit
		{"one two three four five six seven eight", "***"},                         // 8: the limit
		{"one two three four, five six seven eight", "***"},
		{"one two three four     five six seven eight", "one two three four     five six seven eight"}, // too far apart
		{"one of the two rooms has three beds, the other four", "one of the two rooms has three beds, the other four"},
		{"I have two bikes and one car, 2 helmets, 1 lock", "I have two bikes and one car, 2 helmets, 1 lock"},
		{"ref/one two three four five six seven eight", "ref/one two three four five six seven eight"}, // part of a link
		{"one two three four\nfive six seven eight", "one two three four\nfive six seven eight"},       // a new line ends a number
		{"someone twofold threesome", "someone twofold threesome"},
		// E-mail addresses written around the filter.
		{"write to ann at example dot com", "write to ***"},
		{"ann(at)example(dot)com", "***"},
		{"Ann.Lee [at] mail.example.de please", "*** please"},
		{"bob_1 AT gmail DOT co DOT uk", "***"},
		{"ann at gmail.com", "***"},
		{"we're at home. At five we go", "we're at home. At five we go"},
		{"meet me at the station.com", "meet me at the station.com"},
		{"I'm at the office dot later", "I'm at the office dot later"},
		{"at example dot company", "at example dot company"},
	} {
		got := string(maskOrSame(p, c.sent))
		if got != c.masked {
			t.Errorf("%q: got %q, want %q", c.sent, got, c.masked)
		}
	}

	// Other languages' words, set by the operator; "none" turns it off.
	de, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactMinDigits: 8, ContactNumberWords: []string{"null=0", "eins=1", "zwei=2", "drei=3", "vier=4", "fünf=5", "Sechs=6"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(maskOrSame(de, "ruf an: null eins FÜNF zwei drei vier sechs fünf")); got != "ruf an: ***" {
		t.Errorf("German words: %q", got)
	}
	if got := string(maskOrSame(de, "zero one five one two three four five")); got == "***" {
		t.Errorf("English words counted where the operator set German ones: %q", got)
	}
	off, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactMinDigits: 8, ContactNumberWords: []string{"none"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(maskOrSame(off, "zero one five one two three four five")); got != "zero one five one two three four five" {
		t.Errorf("with none: %q", got)
	}
}

func maskOrSame(p *contactPolicy, body string) []byte {
	if s := p.find([]byte(body)); s != nil {
		return mask([]byte(body), s)
	}
	return []byte(body)
}

// A bad word list is refused at start, naming the entry.
func TestContactNumberWordsRefused(t *testing.T) {
	for _, list := range [][]string{
		{"five"}, {"five=55"}, {"five=x"}, {"=5"}, {"fi ve=5"}, {"5=5"},
		{strings.Repeat("a", maxNumberWordBytes+1) + "=1"},
	} {
		if _, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactMinDigits: 8, ContactNumberWords: list}); err == nil || !strings.Contains(err.Error(), list[0]) {
			t.Errorf("%q: %v, want an error naming it", list, err)
		}
	}
	if _, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactMinDigits: 8, ContactNumberWords: []string{strings.Repeat("a", maxNumberWordBytes) + "=1"}}); err != nil {
		t.Errorf("a word of %d bytes: %v", maxNumberWordBytes, err)
	}
}
