package session

import (
	"sync"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// SharedPush is one push delivered to many sessions of a node (a read
// fan-out group's message reaches every member connected there). A sink
// that implements SharedSink encodes it once, with Encoded, and writes the
// same bytes to every connection.
type SharedPush struct {
	Push *pb.Push // Push.User is empty: the push is the same for every member
	once sync.Once
	enc  any
}

// NewSharedPush wraps p for delivery to several sinks.
func NewSharedPush(p *pb.Push) *SharedPush { return &SharedPush{Push: p} }

// Encoded returns what encode made of the push the first time any sink
// asked; every later caller gets that same value (its type tells a sink
// whether another kind of sink made it).
func (s *SharedPush) Encoded(encode func(*pb.Push) any) any {
	s.once.Do(func() { s.enc = encode(s.Push) })
	return s.enc
}

// SharedSink is a Sink that can take a push shared with other sinks.
type SharedSink interface {
	PushShared(p *SharedPush)
}
