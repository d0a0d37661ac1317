package actors

import (
	"context"
	"errors"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// DeskEvent appends a desk step (a system message and the membership change
// it implies) to a service conversation; it returns the message's seq.
// For the desk grains of package actors/desk only.
func (n *Runtime) DeskEvent(ctx context.Context, req *pb.DeskEvent) (uint64, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.Actor)); err != nil {
		return 0, err
	}
	for _, list := range [][]string{req.AddAgents, req.AddMembers, req.Remove} {
		for _, u := range list {
			if err := checkUser(u); err != nil {
				return 0, err
			}
		}
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return 0, err
	}
	r := res.(*pb.DeskEventResponse)
	return r.Seq, fromPB(r.Error)
}

// Call sends a DeskCall to grain kind/identity (a kind registered besides
// the runtime's, such as the desk's) with the runtime's placement retries.
func (n *Runtime) Call(ctx context.Context, kind, identity string, call *pb.DeskCall) (*pb.DeskReply, error) {
	res, err := n.request(ctx, kind, identity, call)
	if err != nil {
		return nil, err
	}
	r, ok := res.(*pb.DeskReply)
	if !ok {
		return nil, invalid("%s/%s answered %T", kind, identity, res)
	}
	return r, fromPB(r.Error)
}

// NewError builds the *Error of a rejection, for grains outside this package.
func NewError(code pb.Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// DeskPosition tells user's connected devices (best effort, never stored)
// that the session of conv is at position pos of its queue (0: it left
// it) and that the queue estimates its wait at wait (0: no estimate).
func (n *Runtime) DeskPosition(ctx context.Context, user, conv string, pos int, wait time.Duration) {
	n.routeSignal(ctx, user, &pb.Signal{Kind: pb.Signal_QUEUE_POSITION, Conv: conv, User: user, Seq: uint64(max(pos, 0)),
		WaitMs: uint64(max(wait.Milliseconds(), 0))})
}

// DeskNoteAdded tells user's connected devices (best effort, never stored)
// that by added an internal note to the session of conv, which now holds
// count notes.
func (n *Runtime) DeskNoteAdded(ctx context.Context, user, conv, by string, count int) {
	n.routeSignal(ctx, user, &pb.Signal{Kind: pb.Signal_DESK_NOTE, Conv: conv, User: by, Seq: uint64(count)})
}

// DeskAgentChanged tells agent's connected devices (best effort, never
// stored) that by changed its desk state (a supervisor, "admin", or
// "desk" for the desk itself).
func (n *Runtime) DeskAgentChanged(ctx context.Context, agent, by string) {
	n.routeSignal(ctx, agent, &pb.Signal{Kind: pb.Signal_DESK_AGENT, User: by})
}

// MergeMember moves from's membership of conv to to (identity merge; see
// pb.MergeMember). For the desk's merge grain only.
func (n *Runtime) MergeMember(ctx context.Context, req *pb.MergeMember) (*pb.MergeMemberResponse, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.From), checkUser(req.To), checkUser(req.Actor)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.MergeMemberResponse)
	return r, fromPB(r.Error)
}
