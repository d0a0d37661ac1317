package session

// idByte marks the bytes ids may hold: letters, digits and ._@- for users
// (and devices); conversation ids also allow ':'. A table, not a regexp:
// every request checks its ids, and a regexp match of a 16-byte id took
// ~0.7 µs against ~15 ns here.
var idByte = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = userByte | convByte
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = userByte | convByte
		t[c-'a'+'A'] = userByte | convByte
	}
	for _, c := range "._@-" {
		t[c] = userByte | convByte
	}
	t[':'] = convByte
	return t
}()

const (
	userByte = 1 << iota
	convByte
)

func validID(id string, max int, class uint8) bool {
	if len(id) == 0 || len(id) > max {
		return false
	}
	for i := 0; i < len(id); i++ {
		if idByte[id[i]]&class == 0 {
			return false
		}
	}
	return true
}

// ValidUserID reports whether id is a well-formed user (or device) id:
// 1–64 of letters, digits and ._@-
func ValidUserID(id string) bool { return validID(id, 64, userByte) }

// ValidConvID reports whether id is a well-formed conversation id: 1–128
// of letters, digits and ._:@-
func ValidConvID(id string) bool { return validID(id, 128, convByte) }

// MaxTopicBytes bounds a direct conversation's topic (wirepb.DirectTopicConvID).
const MaxTopicBytes = 64

// ValidTopic reports whether topic is a well-formed topic of a direct
// conversation: 1–64 of letters, digits and ._@- (a user id's alphabet:
// no ':', so the conversation's id parses back).
func ValidTopic(topic string) bool { return validID(topic, MaxTopicBytes, userByte) }

// VisitorPrefix begins the ids of anonymous visitors: a website's visitors
// who chat with the desk without signing in (serve --visitor-scenes mints
// their tokens). The namespace is the node's: such an id is never taken
// from an identity provider's token, and a visitor is only ever a desk
// customer (actors.visitorRefusal).
const VisitorPrefix = "visitor-"

// IsVisitor reports whether user is an anonymous visitor.
func IsVisitor(user string) bool {
	return len(user) > len(VisitorPrefix) && user[:len(VisitorPrefix)] == VisitorPrefix
}
