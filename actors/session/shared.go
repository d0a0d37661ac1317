package session

import (
	"sync"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// SharedBatch is one read fan-out group's pushes delivered together to
// many sessions of a node: every message of the group that arrived at the
// node since the previous round, in seq order, the same for every member
// (Push.User is empty). A sink that implements SharedSink encodes the
// batch once, with Encoded, and writes the same bytes to every connection.
type SharedBatch struct {
	Pushes []*pb.Push
	once   sync.Once
	enc    any
}

// NewSharedBatch wraps pushes for delivery to several sinks.
func NewSharedBatch(pushes []*pb.Push) *SharedBatch { return &SharedBatch{Pushes: pushes} }

// Encoded returns what encode made of the batch the first time any sink
// asked; every later caller gets that same value (its type tells a sink
// whether another kind of sink made it).
func (b *SharedBatch) Encoded(encode func([]*pb.Push) any) any {
	b.once.Do(func() { b.enc = encode(b.Pushes) })
	return b.enc
}

// SharedSink is a Sink that can take a batch shared with other sinks. It
// calls done exactly once, when the batch has left for the client or was
// dropped (the node paces its fan-out on it); like every Sink method it
// never blocks.
type SharedSink interface {
	PushShared(b *SharedBatch, done func())
}
