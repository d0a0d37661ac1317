package actors

import (
	"context"
	"maps"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// A conversation's meta is the app's own data about it, as a message's
// meta is about the message (meta.go): a marketplace's listing title,
// price and picture beside the chat about it, a school's course id beside
// the class group. The operator's backend sets it (the admin API); every
// member's conversation list carries it (summaries, membership pushes),
// and the node never shows or reads it. It lives in the conversation's
// settings blob, as a freeze does; a change records no system message
// (nobody is shown anything) and reaches every active member's user
// grain with a membership notice. A service conversation's data is the
// desk's (customer attributes).

// ConversationMetaAsOperator reads conv's meta.
func (n *Runtime) ConversationMetaAsOperator(ctx context.Context, conv string) (map[string]string, error) {
	if err := checkConv(conv); err != nil {
		return nil, err
	}
	return n.convMeta(ctx, &pb.SetConvMeta{Conv: conv})
}

// SetConversationMetaAsOperator replaces conv's meta with meta (empty:
// none), within the bounds of a message's meta (Config.MaxMetaBytes), and
// answers it as it is now.
func (n *Runtime) SetConversationMetaAsOperator(ctx context.Context, conv string, meta map[string]string) (map[string]string, error) {
	if err := checkConv(conv); err != nil {
		return nil, err
	}
	if e := validMeta(meta, n.cfg.MaxMetaBytes); e != nil {
		return nil, fromPB(e)
	}
	return n.convMeta(ctx, &pb.SetConvMeta{Conv: conv, Set: true, Meta: meta})
}

func (n *Runtime) convMeta(ctx context.Context, req *pb.SetConvMeta) (map[string]string, error) {
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.ConvMetaResponse)
	return r.Meta, fromPB(r.Error)
}

func (c *conversation) setMeta(ctx actor.Context, m *pb.SetConvMeta) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, meta map[string]string) {
		respond(ctx, sender, &pb.ConvMetaResponse{Error: e, Meta: meta})
	}
	if !c.ready(func(e *pb.Error) { reply(e, nil) }) {
		return
	}
	if c.kind == storage.KindService {
		reply(pbErr(pb.Code_FORBIDDEN, "%s is a service conversation: the desk keeps what the business says of its customer", c.id), nil)
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), nil)
		return
	}
	if !m.Set || maps.Equal(s.Meta, m.Meta) {
		reply(nil, s.Meta)
		return
	}
	next := *s
	next.Meta = nil
	if len(m.Meta) > 0 {
		next.Meta = maps.Clone(m.Meta)
	}
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), nil)
		return
	}
	for user, mem := range c.members {
		if mem.Active() {
			c.fanout.notice(c.noticeFor(user)) // the conversation lists show it
		}
	}
	reply(nil, next.Meta)
}
