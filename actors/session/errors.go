package session

import (
	"errors"
	"fmt"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Error is a rejection the node answered with: a code from the protocol and
// a sentence for people.
type Error struct {
	Code    pb.Code
	Message string
	// RetryAfterMs, with BUSY and STORAGE_UNAVAILABLE, is how long to wait
	// before retrying.
	RetryAfterMs uint32
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf makes an *Error.
func Errorf(code pb.Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of an *Error in err's chain, INTERNAL for any other
// error and OK for nil.
func CodeOf(err error) pb.Code {
	if err == nil {
		return pb.Code_OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return pb.Code_INTERNAL
}

// ProtocolCode makes *Error a coded error for wirepb.CodeOf: the grains'
// codes are the wire's 0–31, number for number (a transport test proves the
// two enums equal).
func (e *Error) ProtocolCode() int32 { return int32(e.Code) }
