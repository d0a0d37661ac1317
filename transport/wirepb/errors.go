package wirepb

import (
	"errors"
	"fmt"
	"strings"
)

// Error makes *Error a Go error, so a rejection travels as one value from
// the server's handler to the client's caller.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.GetCode(), e.GetMessage()) }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodedError is an error carrying a code of the protocol's vocabulary
// without being an *Error: the grains' errors (actors.Error), whose codes
// are the wire's 0–31 number for number.
type CodedError interface {
	error
	ProtocolCode() int32
}

// CodeOf returns the code of the *Error or CodedError in err's chain, OK
// for nil and INTERNAL for any other error: the one place that reads a code
// out of an error, for the grains and the wire alike.
func CodeOf(err error) Code {
	if err == nil {
		return Code_OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.GetCode()
	}
	var ce CodedError
	if errors.As(err, &ce) {
		if _, ok := Code_name[ce.ProtocolCode()]; ok {
			return Code(ce.ProtocolCode())
		}
	}
	return Code_INTERNAL
}

// Transient reports whether a request that failed with code may succeed
// when retried unchanged (for a send: with the same client_msg_id).
// STORAGE_UNAVAILABLE is retryable too, but can last: it goes to the
// application with its retry hint rather than being resent blindly.
func Transient(code Code) bool {
	switch code {
	case Code_RETRY, Code_INTERNAL, Code_RATE_LIMITED, Code_TIMEOUT, Code_UNAVAILABLE, Code_GOING_AWAY, Code_SLOW_CONSUMER,
		Code_BUSY:
		return true
	}
	return false
}

// DirectConvID is the id of the direct conversation between users a and b:
// "d:" + the smaller id + ":" + the larger (byte order), the same whichever
// of them asks.
func DirectConvID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// DirectTopicConvID is the id of the pair's direct conversation about
// topic (a listing, an order): DirectConvID + ":" + topic, or the pair's
// plain conversation for an empty topic. A pair has one conversation per
// topic, each a direct conversation of its own (PROTOCOL.md, "Topics").
func DirectTopicConvID(a, b, topic string) string {
	if topic == "" {
		return DirectConvID(a, b)
	}
	return DirectConvID(a, b) + ":" + topic
}

// ParseDirect splits a direct conversation's id into its two users, in
// the id's order, and its topic ("" for the pair's plain conversation);
// ok is false for any id DirectTopicConvID does not make. User ids hold
// no ':', so the id's third ':' starts the topic.
func ParseDirect(conv string) (a, b, topic string, ok bool) {
	rest, found := strings.CutPrefix(conv, "d:")
	if !found {
		return "", "", "", false
	}
	a, rest, found = strings.Cut(rest, ":")
	if !found {
		return "", "", "", false
	}
	b, topic, hasTopic := strings.Cut(rest, ":")
	if a == "" || b == "" || a >= b || hasTopic && (topic == "" || strings.Contains(topic, ":")) {
		return "", "", "", false
	}
	return a, b, topic, true
}

// DirectPeer is the other user of direct conversation conv (about any
// topic) when user is one of its two; ok is false for any other id.
func DirectPeer(conv, user string) (peer string, ok bool) {
	a, b, _, ok := ParseDirect(conv)
	switch {
	case !ok:
		return "", false
	case user == a:
		return b, true
	case user == b:
		return a, true
	}
	return "", false
}

// DirectTopic is the topic of direct conversation conv, "" for the
// pair's plain one or an id that is no direct conversation's.
func DirectTopic(conv string) string {
	_, _, topic, _ := ParseDirect(conv)
	return topic
}
