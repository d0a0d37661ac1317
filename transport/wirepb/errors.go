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

// DirectPeer is the other user of direct conversation conv when user is
// one of its two; ok is false for any other id.
func DirectPeer(conv, user string) (peer string, ok bool) {
	for _, p := range []string{strings.TrimPrefix(conv, "d:"+user+":"), strings.TrimSuffix(strings.TrimPrefix(conv, "d:"), ":"+user)} {
		if p != "" && p != user && p != conv && DirectConvID(user, p) == conv {
			return p, true
		}
	}
	return "", false
}
