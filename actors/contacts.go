package actors

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Contact details: a marketplace keeps its buyers and sellers on the
// platform, where it can protect a payment and settle a dispute, by
// hiding the phone numbers and e-mail addresses they write to each other.
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
	// dateLike: a run of digits that is a date people write (2026-12-03,
	// 03.12.2026, 3/12/26), maybe with the hour after it (2026-12-03 10
	// of "2026-12-03 10:00"), not a phone number.
	dateLike = regexp.MustCompile(`^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4})(?: {1,2}\d{1,2})?$`)

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
	digits := 0
	for _, b := range body {
		if b >= '0' && b <= '9' {
			digits++
		}
	}
	if digits < p.minDigits {
		return spans
	}
	for _, s := range p.phone.FindAllIndex(body, -1) {
		if !dateLike.Match(body[s[0]:s[1]]) && !inWord(body, s) {
			spans = append(spans, s)
		}
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
	p := c.rt.contacts
	if p == nil || !p.in[c.kind] || role == storage.RoleAgent || m.Kind != pb.MessageKind_NORMAL || len(m.Body) == 0 {
		return m.Body, false, false, nil
	}
	spans := p.find(m.Body)
	if len(spans) == 0 {
		return m.Body, false, false, nil
	}
	contactMatches.WithLabelValues(string(p.mode)).Inc()
	switch p.mode {
	case PolicyBlock:
		return nil, false, false, pbErr(pb.Code_REJECTED_POLICY, "rejected: the message contains a phone number or an e-mail address")
	case PolicyFlag:
		c.log.Info("contact details in a message", "conv", c.id, "sender", m.Sender)
		return m.Body, true, false, nil
	}
	return mask(m.Body, spans), false, true, nil
}
