package actors

import (
	"errors"
	"fmt"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Error is a rejection a grain answered with: a code from the protocol and
// a sentence for people.
type Error struct {
	Code    pb.Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// ProtocolCode makes *Error a coded error for wirepb.CodeOf: the grains'
// codes are the wire's 0–15, number for number (the transport tests prove
// the two enums equal).
func (e *Error) ProtocolCode() int32 { return int32(e.Code) }

// CodeOf is wirepb.CodeOf with the grains' type: the code of the *Error
// (or wire error) in err's chain, INTERNAL for any other error, OK for nil.
func CodeOf(err error) pb.Code { return pb.Code(wirepb.CodeOf(err)) }

func pbErr(code pb.Code, format string, args ...any) *pb.Error {
	return &pb.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// fromPB turns an answer's error field into a Go error (nil for none).
func fromPB(e *pb.Error) error {
	if e == nil || e.Code == pb.Code_OK {
		return nil
	}
	return &Error{Code: e.Code, Message: e.Message}
}

// storeErr maps a storage error to an answer.
func storeErr(err error) *pb.Error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return pbErr(pb.Code_NOT_FOUND, "%v", err)
	case errors.Is(err, storage.ErrInvalid):
		return pbErr(pb.Code_INVALID, "%v", err)
	case errors.Is(err, storage.ErrTooLarge):
		return pbErr(pb.Code_TOO_LARGE, "%v", err)
	case errors.Is(err, storage.ErrExists):
		return pbErr(pb.Code_EXISTS, "%v", err)
	case errors.Is(err, storage.ErrEpochLost), errors.Is(err, storage.ErrSeqExists):
		return pbErr(pb.Code_RETRY, "conversation moved: %v", err)
	}
	return pbErr(pb.Code_INTERNAL, "storage: %v", err)
}
