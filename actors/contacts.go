package actors

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Contact details: a marketplace keeps its buyers and sellers on the
// platform, where it can protect a payment and settle a dispute, by
// hiding the phone numbers and e-mail addresses they write to each other,
// also when written around a filter (spelled out, "at" for '@').
// Config.ContactDetails says what the node does with one in a text (a
// message, a caption, an edit): mask it ("***" in its place, the rest
// delivered), flag it (delivered as written, flagged for the moderators,
// like a monitored word) or refuse the send (REJECTED_POLICY). It applies
// in the conversation kinds of Config.ContactDetailsIn (default: direct
// ones) to every sender but a desk's agents, the business's own staff.
// Cards, which the business writes, and reactions are not read.

// PolicyMask masks what matched and delivers the rest (contact details).
const PolicyMask PolicyMode = "mask"

// defaultContactMinDigits is Config.ContactMinDigits' default: shorter
// runs are prices, quantities and order numbers more often than phones.
const defaultContactMinDigits = 8

// contactMask replaces each contact detail: never longer than one (an
// e-mail address has at least 6 bytes, a phone number MinDigits ≥ 6), so
// a masked body stays within the body limit.
const contactMask = "***"

var (
	// emailAddress is a mailbox@domain.tld the way people type one.
	emailAddress = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// emailSpelled is an address written around a filter: "ann at
	// example dot com", "ann(at)example(dot)com", "ann [at] mail.example.de".
	// Its last label must be a common top-level domain and a '.' has no
	// space around it, so that prose ("we're at home. At five…") is not
	// taken for one.
	emailSpelled = regexp.MustCompile(`(?i)\b[a-z0-9._%+\-]+\s*(?:[(\[{]\s*at\s*[)\]}]|\sat\s)\s*[a-z0-9\-]+(?:(?:\s*(?:[(\[{]\s*dot\s*[)\]}]|\sdot\s)\s*|\.)[a-z0-9\-]+)*(?:\s*(?:[(\[{]\s*dot\s*[)\]}]|\sdot\s)\s*|\.)(?:` + strings.Join(commonTLDs, "|") + `)\b`)
	// dateLike: a run of digits that is a date people write (2026-12-03,
	// 03.12.2026, 3/12/26), maybe with the hour after it (2026-12-03 10
	// of "2026-12-03 10:00"), not a phone number.
	dateLike = regexp.MustCompile(`^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4})(?: {1,2}\d{1,2})?$`)

	// commonTLDs end the addresses emailSpelled finds.
	commonTLDs = []string{"com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "me", "de", "at", "ch", "uk", "fr", "es", "it", "nl", "be", "pl", "se", "no", "dk", "fi", "ru", "ua", "br", "mx", "ar", "in", "jp", "cn", "kr", "au", "nz", "ca", "us"}

	contactMatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_policy_contact_details_total",
		Help: "Sends with a phone number or an e-mail address where the contact-details policy applies, by what it did: mask, flag or block.",
	}, []string{"action"})
)

func init() { prometheus.MustRegister(contactMatches) }

// contactPolicy is Config.ContactDetails compiled; nil when off.
type contactPolicy struct {
	mode PolicyMode
	in   map[storage.ConvKind]bool
	// phone is a run of at least MinDigits digits, each group of them
	// apart by at most two of the separators people type in a number.
	phone     *regexp.Regexp
	minDigits int
	// words are the digits people spell out to get a number past a
	// filter ("five five five, one two three…"), lower-cased; nil: none.
	words map[string]byte
	// shortestWord and longestWord are the lengths of words' keys, in
	// bytes, from the shortest to the longest.
	shortestWord, longestWord int
	// links finds the links that count as contact details; nil: links
	// are not read (contacts_links.go).
	links *linkPolicy
}

// englishNumberWords are Config.ContactNumberWords' default.
var englishNumberWords = []string{"zero=0", "oh=0", "one=1", "two=2", "three=3", "four=4", "five=5", "six=6", "seven=7", "eight=8", "nine=9"}

// maxNumberWordBytes bounds one word of Config.ContactNumberWords.
const maxNumberWordBytes = 32

// numberWords parses Config.ContactNumberWords.
func numberWords(list []string) (map[string]byte, error) {
	if len(list) == 0 {
		list = englishNumberWords
	}
	if len(list) == 1 && list[0] == "none" {
		return nil, nil
	}
	words := make(map[string]byte, len(list))
	for _, e := range list {
		word, digit, ok := strings.Cut(e, "=")
		word = strings.ToLower(strings.TrimSpace(word))
		digit = strings.TrimSpace(digit)
		if !ok || len(digit) != 1 || digit[0] < '0' || digit[0] > '9' {
			return nil, fmt.Errorf("contact number word %q: want word=digit", e)
		}
		if word == "" || len(word) > maxNumberWordBytes || strings.IndexFunc(word, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
			return nil, fmt.Errorf("contact number word %q: want letters only, at most %d bytes", e, maxNumberWordBytes)
		}
		words[word] = digit[0]
	}
	return words, nil
}

// convKindNames are the names Config.ContactDetailsIn takes.
var convKindNames = map[string]storage.ConvKind{"direct": storage.KindDirect, "group": storage.KindGroup, "service": storage.KindService}

func newContactPolicy(cfg Config) (*contactPolicy, error) {
	if cfg.ContactDetails == PolicyOff {
		return nil, nil
	}
	p := &contactPolicy{mode: cfg.ContactDetails, in: map[storage.ConvKind]bool{}, minDigits: cfg.ContactMinDigits}
	for _, k := range cfg.ContactDetailsIn {
		kind, ok := convKindNames[k]
		if !ok {
			return nil, fmt.Errorf("contact details in %q: want direct, group or service", k)
		}
		p.in[kind] = true
	}
	var err error
	if p.words, err = numberWords(cfg.ContactNumberWords); err != nil {
		return nil, err
	}
	p.shortestWord = maxNumberWordBytes
	for w := range p.words {
		p.shortestWord, p.longestWord = min(p.shortestWord, len(w)), max(p.longestWord, len(w))
	}
	if cfg.ContactLinks {
		if p.links, err = newLinkPolicy(cfg.ContactLinksAllow); err != nil {
			return nil, err
		}
	}
	p.phone, err = regexp.Compile(fmt.Sprintf(`\+?\(?\d(?:[ ().\-/]{0,2}\d){%d,}`, cfg.ContactMinDigits-1))
	return p, err
}

// find returns the spans of body that are contact details, in order and
// apart.
func (p *contactPolicy) find(body []byte) [][]int {
	// The expressions cost microseconds on a chat line: most lines have
	// no '@' and fewer digits than a phone number, which a scan tells.
	var spans [][]int
	if bytes.IndexByte(body, '@') >= 0 {
		spans = emailAddress.FindAllIndex(body, -1)
	}
	if mayBeSpelledEmail(body) {
		spans = append(spans, emailSpelled.FindAllIndex(body, -1)...)
	}
	digits := 0
	for _, b := range body {
		if b >= '0' && b <= '9' {
			digits++
		}
	}
	if digits >= p.minDigits {
		for _, s := range p.phone.FindAllIndex(body, -1) {
			if !dateLike.Match(body[s[0]:s[1]]) && !inWord(body, s) {
				spans = append(spans, s)
			}
		}
	}
	if p.words != nil {
		spans = p.spelled(body, spans)
	}
	if p.links != nil {
		spans = p.links.find(body, spans)
	}
	if len(spans) < 2 {
		return spans
	}
	// A phone number inside an address ("ann1234567890@…") is the
	// address's: merge what overlaps.
	slices.SortFunc(spans, func(a, b []int) int { return a[0] - b[0] })
	out := spans[:1]
	for _, s := range spans[1:] {
		if last := out[len(out)-1]; s[0] < last[1] {
			last[1] = max(last[1], s[1])
			continue
		}
		out = append(out, s)
	}
	return out
}

// spelled appends to spans the phone numbers of body spelled out, in
// whole or in part ("five five five 1234 five six"): runs of number words
// and digit groups, apart by at most three of the separators people type
// in a number, with MinDigits digits in all and at least one word (a run
// of digits alone is the phone expression's).
func (p *contactPolicy) spelled(body []byte, spans [][]int) [][]int {
	start, end, digits, words := -1, 0, 0, 0
	closeRun := func() {
		if start >= 0 && words > 0 && digits >= p.minDigits && !inWord(body, []int{start, end}) {
			spans = append(spans, []int{start, end})
		}
		start, digits, words = -1, 0, 0
	}
	for i := 0; i < len(body); {
		r, size := rune(body[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(body[i:])
		}
		if !isAlnum(r) {
			if !numberSeparator(r) {
				closeRun()
			}
			i += size
			continue
		}
		j := i // the token: letters and digits up to the next other rune
		for j < len(body) {
			r, size := rune(body[j]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(body[j:])
			}
			if !isAlnum(r) {
				break
			}
			j += size
		}
		n, word := p.tokenDigits(body[i:j])
		if n == 0 || start >= 0 && i-end > 3 {
			closeRun()
		}
		if n > 0 {
			if start < 0 {
				start = i
			}
			end, digits = j, digits+n
			if word {
				words++
			}
		}
		i = j
	}
	closeRun()
	return spans
}

// tokenDigits is how many digits a token of letters and digits stands
// for in a phone number: its length if all digits, 1 if it is a number
// word (word true), else 0.
func (p *contactPolicy) tokenDigits(tok []byte) (n int, word bool) {
	allDigits := true
	for _, b := range tok {
		if b < '0' || b > '9' {
			allDigits = false
			break
		}
	}
	if allDigits {
		return len(tok), false
	}
	if len(tok) < p.shortestWord || len(tok) > p.longestWord {
		return 0, false
	}
	var buf [maxNumberWordBytes]byte
	lower := buf[:0]
	for i := 0; i < len(tok); {
		if b := tok[i]; b < utf8.RuneSelf {
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			lower = append(lower, b)
			i++
			continue
		}
		r, size := utf8.DecodeRune(tok[i:])
		lower = utf8.AppendRune(lower, unicode.ToLower(r))
		i += size
	}
	if _, ok := p.words[string(lower)]; ok {
		return 1, true
	}
	return 0, false
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsLetter(r)
}

// numberSeparator: what people type between the parts of a number.
func numberSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '(', ')', '.', '-', '/', ',', ':':
		return true
	}
	return false
}

// mayBeSpelledEmail tells, in one scan, whether body may hold an address
// spelled out (the expression costs microseconds on every line it reads):
// an "at" standing alone or in brackets, and after it a "dot" or a '.'
// right before a common top-level domain.
func mayBeSpelledEmail(body []byte) bool {
	at := -1
	for i := 1; i+1 < len(body); i++ {
		if body[i]|0x20 == 'a' && body[i+1]|0x20 == 't' && !isAlnum(rune(body[i-1])) && (i+2 == len(body) || !isAlnum(rune(body[i+2]))) {
			at = i
			break
		}
	}
	if at < 0 {
		return false
	}
	rest := body[at+2:]
	for i := 0; i < len(rest); i++ {
		switch {
		case rest[i] == '.':
			j := i + 1
			for j < len(rest) && j-i <= 5 && isAlnum(rune(rest[j])) {
				j++
			}
			if j-i-1 >= 2 && j-i-1 <= 4 && isCommonTLD(rest[i+1:j]) {
				return true
			}
		case i+2 < len(rest) && rest[i]|0x20 == 'd' && rest[i+1]|0x20 == 'o' && rest[i+2]|0x20 == 't':
			return true
		}
	}
	return false
}

// isCommonTLD reports whether label (any case) is one of commonTLDs.
func isCommonTLD(label []byte) bool {
	var buf [4]byte
	for i, b := range label {
		buf[i] = b | 0x20
	}
	return slices.Contains(commonTLDs, string(buf[:len(label)]))
}

// inWord reports whether the digits at span are part of a word, a link or
// an id (item/12345678, ref=12345678, AB12345678) rather than a number
// standing alone.
func inWord(body []byte, span []int) bool {
	wordish := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '/' || b == '=' || b == '_' || b == '#' || b == '&' || b == '?'
	}
	return span[0] > 0 && wordish(body[span[0]-1]) || span[1] < len(body) && wordish(body[span[1]])
}

// mask returns body with each span replaced by contactMask.
func mask(body []byte, spans [][]int) []byte {
	out := make([]byte, 0, len(body))
	at := 0
	for _, s := range spans {
		out = append(append(out, body[at:s[0]]...), contactMask...)
		at = s[1]
	}
	return append(out, body[at:]...)
}

// screenContacts applies the contact-details policy to a send by a member
// of role: the body to store, whether to flag it and whether the body is
// masked, or the refusal.
func (c *conversation) screenContacts(m *pb.SendMessage, role storage.Role) (body []byte, flagged, masked bool, e *pb.Error) {
	if m.Kind != pb.MessageKind_NORMAL {
		return m.Body, false, false, nil
	}
	return c.screenText("the message", m.Sender, role, m.Body)
}

// screenPlaceName holds a shared place's name to the same policy as the
// text (a name is free text: "call 0170 …" must not slip past it): it
// refuses, flags, or masks m.Location.Name in place.
func (c *conversation) screenPlaceName(m *pb.SendMessage, role storage.Role) (flagged, masked bool, e *pb.Error) {
	if m.Location == nil {
		return false, false, nil
	}
	name, flagged, masked, e := c.screenText("the location's name", m.Sender, role, []byte(m.Location.Name))
	if masked {
		m.Location.Name = string(name)
	}
	return flagged, masked, e
}

// screenText is the contact-details policy on one text of a send (what
// names it in a refusal): the text to store, whether to flag it and
// whether it is masked, or the refusal.
func (c *conversation) screenText(what, sender string, role storage.Role, text []byte) (out []byte, flagged, masked bool, e *pb.Error) {
	p := c.rt.contacts
	if p == nil || !p.in[c.kind] || role == storage.RoleAgent || len(text) == 0 {
		return text, false, false, nil
	}
	spans := p.find(text)
	if len(spans) == 0 {
		return text, false, false, nil
	}
	contactMatches.WithLabelValues(string(p.mode)).Inc()
	switch p.mode {
	case PolicyBlock:
		return nil, false, false, pbErr(pb.Code_REJECTED_POLICY, "rejected: %s contains a phone number or an e-mail address", what)
	case PolicyFlag:
		c.log.Info("contact details in "+what, "conv", c.id, "sender", sender)
		return text, true, false, nil
	}
	return mask(text, spans), false, true, nil
}
