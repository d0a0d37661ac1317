package actors

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Links as contact details (Config.ContactLinks): a link to a messenger
// (wa.me/…, t.me/…), a payment page or a shop elsewhere takes a deal off
// the platform as surely as a phone number does. Links to the
// marketplace's own domains (Config.ContactLinksAllow) stay.

var (
	// webLink is a link the way people paste or type one: with a scheme,
	// from "www.", or a bare domain of a common top-level domain, with its
	// path. The bare domain's top-level domain is lower case, as people
	// type domains, so that a sentence that lost its space ("I sold
	// it.It was…") is not taken for one.
	webLink = regexp.MustCompile(`(?i:https?://|www\.)[^\s<>"'` + "`" + `]+|\b(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+(?:` +
		strings.Join(commonTLDs, "|") + `)\b(?:[/?#][^\s<>"'` + "`" + `]*)?`)
	// linkHostName is a domain Config.ContactLinksAllow may name.
	linkHostName = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9\-]*[a-z0-9]$`)
)

// linkPolicy finds the links of a text that are not to allowed domains.
type linkPolicy struct {
	allow []string // lower-case domains; each allows its subdomains too
}

func newLinkPolicy(allow []string) (*linkPolicy, error) {
	p := &linkPolicy{}
	for _, d := range allow {
		d = strings.ToLower(strings.TrimSpace(d))
		if !linkHostName.MatchString(d) {
			return nil, fmt.Errorf("contact links allow %q: want a domain such as shop.example (no scheme, no path)", d)
		}
		p.allow = append(p.allow, d)
	}
	return p, nil
}

// find appends to spans the links of body that go elsewhere.
func (p *linkPolicy) find(body []byte, spans [][]int) [][]int {
	if !mayHaveLink(body) {
		return spans // most chat lines end here, without the expression
	}
	for _, s := range webLink.FindAllIndex(body, -1) {
		// A sentence's end is not the link's.
		for s[1] > s[0] && strings.IndexByte(`.,;:!?)]}`, body[s[1]-1]) >= 0 {
			s[1]--
		}
		if s[1]-s[0] > len(contactMask) && !p.allowed(body[s[0]:s[1]]) {
			spans = append(spans, s)
		}
	}
	return spans
}

// mayHaveLink reports whether body has what every link webLink finds
// has: "://", or a dot between a letter or digit and two letters (a
// domain's last dot, or www.'s). A sentence's full stop has a space or the
// end after it.
func mayHaveLink(body []byte) bool {
	if bytes.Contains(body, []byte("://")) {
		return true
	}
	for i := bytes.IndexByte(body, '.'); i >= 0 && i+2 < len(body); {
		if i > 0 && isAlnum(rune(body[i-1])) && isASCIILetter(body[i+1]) && isASCIILetter(body[i+2]) {
			return true
		}
		next := bytes.IndexByte(body[i+1:], '.')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

// allowed reports whether link goes to an allowed domain.
func (p *linkPolicy) allowed(link []byte) bool {
	if len(p.allow) == 0 {
		return false
	}
	host := strings.ToLower(string(link))
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:] // user@host: the host is where it goes
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	for _, d := range p.allow {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
