package actors

import "testing"

// BenchmarkContactDetails: the contact-details policy on a chat line
// without contact details (the common case: a scan, no expression), with
// a phone number, with an e-mail address and with a phone number spelled
// out (found and masked); and, with links read too, on the plain line,
// one with a link elsewhere and one with a link to the shop.
func BenchmarkContactDetails(b *testing.B) {
	p, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactDetailsIn: []string{"direct"}, ContactMinDigits: defaultContactMinDigits})
	if err != nil {
		b.Fatal(err)
	}
	links, err := newContactPolicy(Config{ContactDetails: PolicyMask, ContactDetailsIn: []string{"direct"}, ContactMinDigits: defaultContactMinDigits,
		ContactLinks: true, ContactLinksAllow: []string{"shop.example"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, body string
		links      bool
	}{
		{"plain", "Hi, is the bike still for sale? I could pick it up on Friday.", false},
		{"phone", "Hi, is the bike still for sale? Call me at +49 151 2345 6789.", false},
		{"email", "Hi, is the bike still for sale? Write to ann.lee@example.com.", false},
		{"spelled", "Hi, is the bike still for sale? Call zero one five one two three four five six.", false},
		{"at-prose", "Hi, is the bike still for sale? I could pick it up at five. Thanks", false},
		{"at-email", "Hi, is the bike still for sale? Write to ann at example dot com.", false},
		{"links-plain", "Hi, is the bike still for sale? I could pick it up on Friday.", true},
		{"links-elsewhere", "Hi, is the bike still for sale? It is cheaper at https://other-shop.com/bikes/42.", true},
		{"links-shop", "Hi, is the bike still for sale? This one: https://shop.example/item/42.", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := p
			if c.links {
				p = links
			}
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
