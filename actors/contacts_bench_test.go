package actors

import "testing"

// BenchmarkContactDetails: the contact-details policy on a chat line
// without contact details (the common case: a scan, no expression), with
// a phone number, with an e-mail address and with a phone number spelled
// out (found and masked).
func BenchmarkContactDetails(b *testing.B) {
	p, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactDetailsIn: []string{"direct"}, ContactMinDigits: defaultContactMinDigits})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, body string }{
		{"plain", "Hi, is the bike still for sale? I could pick it up on Friday."},
		{"phone", "Hi, is the bike still for sale? Call me at +49 151 2345 6789."},
		{"email", "Hi, is the bike still for sale? Write to ann.lee@example.com."},
		{"spelled", "Hi, is the bike still for sale? Call zero one five one two three four five six."},
		{"at-prose", "Hi, is the bike still for sale? I could pick it up at five. Thanks"},
		{"at-email", "Hi, is the bike still for sale? Write to ann at example dot com."},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.ReportAllocs()
			for range b.N {
				if s := p.find(body); s != nil {
					_ = mask(body, s)
				}
			}
		})
	}
}
