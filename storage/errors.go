package storage

import "errors"

// Sentinel errors. Backends wrap them with context; test with errors.Is.
var (
	ErrNotFound  = errors.New("storage: not found")
	ErrExists    = errors.New("storage: already exists")
	ErrSeqExists = errors.New("storage: seq already stored")
	ErrEpochLost = errors.New("storage: epoch lost to another activation")
	ErrTooLarge  = errors.New("storage: value over the limit")
	ErrInvalid   = errors.New("storage: invalid argument")
	ErrClosed    = errors.New("storage: store closed")
	// ErrUnavailable: the store cannot write now (disk full, I/O error)
	// and nothing of the request was acknowledged; retry later. Reads may
	// still work.
	ErrUnavailable = errors.New("storage: unavailable")
)
