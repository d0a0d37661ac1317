package session

import (
	"fmt"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/transport/wirepb"
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

// CodeOf returns the code of the *Error (or wire error) in err's chain,
// INTERNAL for any other error and OK for nil: wirepb.CodeOf, the one
// reader of codes, with the grains' type.
func CodeOf(err error) pb.Code { return pb.Code(wirepb.CodeOf(err)) }

// ProtocolCode makes *Error a coded error for wirepb.CodeOf: the grains'
// codes are the wire's 0–31, number for number (a transport test proves the
// two enums equal).
func (e *Error) ProtocolCode() int32 { return int32(e.Code) }
