package actors

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzContactDetails: whatever a user types, finding contact details never
// panics, the spans are in order, apart and inside the text, and masking
// never makes a text longer (a masked body stays within the body limit)
// nor leaves a span's text in place.
func FuzzContactDetails(f *testing.F) {
	for _, s := range []string{
		"call me at +49 30 1234567 tonight",
		"mail ann.lee@example.co.uk or bob+shop@mail.example",
		"call zero one five one, two three 4567",
		"ann(at)example(dot)com and ann at gmail.com",
		"oh oh oh oh oh oh oh oh",
		"ruf an: null eins FÜNF zwei drei vier sechs fünf",
		"viewing on 2026-12-03 or 04.12.2026 at 10:00",
		"\xff\xfe at \xc3 dot com 1 2 3 4 5 6 7 8",
		"pay at https://paypal.me/ann. or wa.me/4915112345678), not https://shop.example/x",
		"http://user@evil.com:80/shop.example www.a.b.c.de/?#) it.It 3.50",
	} {
		f.Add([]byte(s), 8)
	}
	f.Fuzz(func(t *testing.T, body []byte, minDigits int) {
		minDigits = 6 + int(uint(minDigits)%15) // 6 to 20, as Config allows
		p, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactMinDigits: minDigits, ContactNumberWords: []string{"o=0", "oh=0", "one=1", "two=2", "fünf=5"},
			ContactLinks: true, ContactLinksAllow: []string{"shop.example"}})
		if err != nil {
			t.Fatal(err)
		}
		spans := p.find(body)
		at := 0
		for _, s := range spans {
			if s[0] < at || s[1] <= s[0] || s[1] > len(body) {
				t.Fatalf("spans %v of a %d-byte text", spans, len(body))
			}
			at = s[1]
		}
		masked := mask(body, spans)
		if len(masked) > len(body) {
			t.Fatalf("masked %q (%d bytes) is longer than %q (%d)", masked, len(masked), body, len(body))
		}
		if utf8.Valid(body) && !utf8.Valid(masked) {
			t.Fatalf("masking %q cut a character: %q", body, masked)
		}
		if len(spans) > 0 && bytes.Equal(masked, body) {
			t.Fatalf("spans %v found in %q, nothing masked", spans, body)
		}
	})
}
