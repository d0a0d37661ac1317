package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
)

// hub is one per node: read fan-out groups send each message once per node
// to it, and it forwards the message to the connections on this node that
// subscribed to the group. Subscriptions are local and soft: a connection
// subscribes after connecting (RegisterDeviceResponse.large_convs) and
// when it is told it joined a large group; the hub forgets a connection
// when it stops (it watches it).
type hub struct {
	rt   *Runtime
	subs map[string]map[string]hubSub // conv → connection key → subscriber
	// byConn lets a stopped connection be dropped from every group.
	byConn map[string][]string
}

type hubSub struct {
	user string
	conn *actor.PID
}

func newHub(rt *Runtime) *hub {
	return &hub{rt: rt, subs: map[string]map[string]hubSub{}, byConn: map[string][]string{}}
}

func (h *hub) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pb.Subscribe:
		conn := ctx.Sender()
		if conn == nil {
			return
		}
		key := conn.String()
		for _, conv := range m.Convs {
			if m.Unsubscribe {
				delete(h.subs[conv], key)
				continue
			}
			if h.subs[conv] == nil {
				h.subs[conv] = map[string]hubSub{}
			}
			if _, ok := h.subs[conv][key]; !ok {
				h.byConn[key] = append(h.byConn[key], conv)
			}
			h.subs[conv][key] = hubSub{user: m.User, conn: conn}
		}
		ctx.Watch(conn)
		respond(ctx, conn, &pb.Ack{})
	case *actor.Terminated:
		key := m.Who.String()
		for _, conv := range h.byConn[key] {
			delete(h.subs[conv], key)
			if len(h.subs[conv]) == 0 {
				delete(h.subs, conv)
			}
		}
		delete(h.byConn, key)
	case *pb.GroupPush:
		// One push for every member here: the transport encodes it once.
		subs := h.subs[m.Conv]
		if len(subs) == 0 {
			return
		}
		p := session.NewSharedPush(&pb.Push{Event: &pb.Push_Message{Message: m.Message}})
		for _, s := range subs {
			ctx.Send(s.conn, p)
		}
	}
}
