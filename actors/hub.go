package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// hub is one per node: read fan-out groups send each message once per node
// to it (from wherever the group's grain lives), and it hands the message
// to this node's broadcaster, which pushes it to the connections here that
// subscribed to the group (broadcast.go).
type hub struct {
	b *broadcaster
}

func (h *hub) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*pb.GroupPush); ok && m.Message != nil {
		h.b.add(m.Conv, m.Message)
	}
}
