package wirepb

import (
	"errors"
	"fmt"
)

// Error makes *Error a Go error, so a rejection travels as one value from
// the server's handler to the client's caller.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.GetCode(), e.GetMessage()) }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of an *Error in err's chain, OK for nil and
// INTERNAL for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return Code_OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.GetCode()
	}
	return Code_INTERNAL
}

// Transient reports whether a request that failed with code may succeed
// when retried unchanged (for a send: with the same client_msg_id).
func Transient(code Code) bool {
	switch code {
	case Code_RETRY, Code_INTERNAL, Code_RATE_LIMITED, Code_TIMEOUT, Code_UNAVAILABLE, Code_GOING_AWAY, Code_SLOW_CONSUMER,
		Code_BUSY, Code_STORAGE_UNAVAILABLE:
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
