package actors

import (
	"errors"
	"fmt"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
)

// Error is a rejection a grain answered with (see package session).
type Error = session.Error

// CodeOf returns the code of an *Error in err's chain, INTERNAL for any other
// error and OK for nil.
func CodeOf(err error) pb.Code { return session.CodeOf(err) }

func pbErr(code pb.Code, format string, args ...any) *pb.Error {
	return &pb.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// fromPB turns an answer's error field into a Go error (nil for none).
func fromPB(e *pb.Error) error {
	if e == nil || e.Code == pb.Code_OK {
		return nil
	}
	return &Error{Code: e.Code, Message: e.Message, RetryAfterMs: e.RetryAfterMs}
}

// storageRetryAfterMs is the retry hint sent with STORAGE_UNAVAILABLE: the
// store rechecks free space on every write and recovers within a second.
const storageRetryAfterMs = 1000

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
	case errors.Is(err, storage.ErrUnavailable):
		e := pbErr(pb.Code_STORAGE_UNAVAILABLE, "%v", err)
		e.RetryAfterMs = storageRetryAfterMs
		return e
	}
	return pbErr(pb.Code_INTERNAL, "storage: %v", err)
}
