package transport

import (
	"context"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Service desk requests (docs/PROTOCOL.md, "Service desk").

func (c *conn) deskHandover(ctx context.Context, op *wirepb.DeskHandoverRequest) *wirepb.Response {
	ds, ok := c.sess.(session.DeskSession)
	if !ok {
		return &wirepb.Response{Error: &wirepb.Error{Code: wirepb.Code_INVALID, Message: "this node has no service desk"}}
	}
	r, err := ds.DeskHandover(ctx, op.Conv)
	if err != nil {
		return c.fail(err)
	}
	return &wirepb.Response{Result: &wirepb.Response_DeskHandover{DeskHandover: &wirepb.DeskHandoverResult{
		Session: r.Session, State: r.State, QueuePosition: uint32(max(r.QueuePosition, 0)), Agent: r.Agent}}}
}
