package actors

import (
	"context"
	"encoding/json"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// deskEvent appends a desk step to a service conversation: the membership
// change it implies and one system message with the desk's body, at one
// seq. Unlike MembershipChange it skips the role rules: the desk grains,
// not a member, decide who answers the customer.
func (c *conversation) deskEvent(ctx actor.Context, m *pb.DeskEvent) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, seq uint64) { respond(ctx, sender, &pb.DeskEventResponse{Error: e, Seq: seq}) }
	if !c.ready(func(e *pb.Error) { reply(e, 0) }) {
		return
	}
	switch {
	case c.kind != storage.KindService:
		reply(pbErr(pb.Code_INVALID, "%s is not a service conversation", c.id), 0)
		return
	case len(m.Body) == 0 || len(m.Body) > c.rt.cfg.MaxBodyBytes:
		reply(pbErr(pb.Code_INVALID, "desk event body is %d bytes, want 1..%d", len(m.Body), c.rt.cfg.MaxBodyBytes), 0)
		return
	case len(m.AddAgents)+len(m.AddMembers)+len(m.Remove) > 16:
		reply(pbErr(pb.Code_INVALID, "a desk event changes at most 16 members"), 0)
		return
	}
	seq := c.lastSeq + 1
	if e := c.reserveFor(ctx, seq); e != nil {
		reply(e, 0)
		return
	}
	now := time.Now()
	var changed []storage.Member
	join := func(users []string, role storage.Role) {
		from := seq
		if role == storage.RoleAgent {
			// An agent answers what the customer wrote while waiting, and
			// one who takes over (a transfer, a return) needs what was
			// said before: agents see the conversation from its start.
			from = 1
		}
		for _, u := range users {
			if old := c.members[u]; old != nil && old.Active() && old.Role == role {
				continue
			}
			changed = append(changed, storage.Member{ConvID: c.id, UserID: u, Role: role, JoinedSeq: from, JoinedAt: now})
		}
	}
	join(m.AddAgents, storage.RoleAgent)
	join(m.AddMembers, storage.RoleMember)
	for _, u := range m.Remove {
		if old := c.members[u]; old != nil && old.Active() {
			mem := *old
			mem.LeftSeq = seq
			changed = append(changed, mem)
		}
	}
	if len(changed)+c.active > c.rt.cfg.MaxGroupMembers {
		reply(pbErr(pb.Code_GROUP_FULL, "limit %d members", c.rt.cfg.MaxGroupMembers), 0)
		return
	}
	if err := c.putMembers(context.Background(), changed); err != nil {
		reply(storeErr(err), 0)
		return
	}
	wasLarge := c.large()
	for _, mem := range changed {
		c.addMember(mem)
	}
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.Actor, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: m.Body, ServerTS: now}
	c.enqueue(ctx, &ev, func(e *pb.Error) {
		reply(e, ev.Seq)
		if e != nil {
			return
		}
		for _, mem := range changed {
			if c.large() || wasLarge || !mem.Active() {
				c.fanout.notice(c.noticeFor(mem.UserID))
			}
		}
	})
}

// mergeMember moves from's membership to to (identity merge, see
// pb.MergeMember). to joins at from's joined seq, so it sees the history
// from saw; if to is already an active member its row stays as it is. A
// row from had left before the merge is copied as a left row without a
// system message. Repeating it changes nothing: from has left and to
// holds a row.
func (c *conversation) mergeMember(ctx actor.Context, m *pb.MergeMember) {
	sender := ctx.Sender()
	reply := func(r *pb.MergeMemberResponse) { respond(ctx, sender, r) }
	if !c.ready(func(e *pb.Error) { reply(&pb.MergeMemberResponse{Error: e}) }) {
		return
	}
	from, to := c.members[m.From], c.members[m.To]
	toActive := to != nil && to.Active()
	if from != nil {
		if e := visitorRefusal(c.kind, m.To, from.Role); e != nil {
			reply(&pb.MergeMemberResponse{Error: e})
			return
		}
	}
	switch {
	case m.From == m.To:
		reply(&pb.MergeMemberResponse{Error: pbErr(pb.Code_INVALID, "merge of %s into itself", m.From)})
		return
	case from == nil:
		// Never a member (or a listing that raced a removal): nothing to move.
		reply(&pb.MergeMemberResponse{Moved: to != nil, ToBefore: toActive})
		return
	case !from.Active():
		if to == nil {
			row := *from
			row.UserID = m.To
			if err := c.rt.store.PutMember(context.Background(), row); err != nil {
				reply(&pb.MergeMemberResponse{Error: storeErr(err)})
				return
			}
			c.addMember(row)
		}
		// Told again on a repeat: the notice puts the conversation in to's
		// inbox, and the first one may have been cut by a crash.
		c.fanout.notice(c.noticeFor(m.To))
		reply(&pb.MergeMemberResponse{Moved: true, ToBefore: toActive})
		return
	}
	seq := c.lastSeq + 1
	if e := c.reserveFor(ctx, seq); e != nil {
		reply(&pb.MergeMemberResponse{Error: e})
		return
	}
	now := time.Now()
	// to first, then from's leave: a crash between the two leaves both
	// active, and the repeat finishes it (never neither).
	var changed []storage.Member
	if !toActive {
		row := storage.Member{ConvID: c.id, UserID: m.To, Role: from.Role, JoinedSeq: from.JoinedSeq, Muted: from.Muted, JoinedAt: now}
		if to != nil { // to had left: it keeps what it saw before, and sees from's history
			row.JoinedSeq = min(to.JoinedSeq, from.JoinedSeq)
		}
		changed = append(changed, row)
	}
	left := *from
	left.LeftSeq = seq
	changed = append(changed, left)
	for _, row := range changed {
		if err := c.rt.store.PutMember(context.Background(), row); err != nil {
			reply(&pb.MergeMemberResponse{Error: storeErr(err)})
			return
		}
		c.addMember(row)
	}
	body, _ := json.Marshal(map[string]any{"op": "merge", "actor": m.Actor, "from": m.From, "to": m.To})
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.Actor, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: body, ServerTS: now}
	c.enqueue(ctx, &ev, func(e *pb.Error) {
		reply(&pb.MergeMemberResponse{Error: e, Seq: ev.Seq, Moved: e == nil, ToBefore: toActive})
		if e != nil {
			return
		}
		// Both hear of it whatever the fan-out mode: to's grain loads the
		// conversation (and its unread) from the new row.
		c.fanout.notice(c.noticeFor(m.From))
		c.fanout.notice(c.noticeFor(m.To))
	})
}

// deskWords are the fields of a desk step's body that hold what its actor
// typed (actors/desk: a rating's comment, a close's reason), which an
// erasure of that actor takes out. The rest of the step (its score, who
// and when) is the service's record and stays: the metrics count it.
var deskWords = []string{"comment", "reason"}

// deskFields parses a desk step's body (nil: not one) and reports whether
// it holds any of the deskWords.
func deskFields(body []byte) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields["desk"] == nil {
		return nil, false
	}
	for _, k := range deskWords {
		if _, ok := fields[k]; ok {
			return fields, true
		}
	}
	return fields, false
}

// redactDeskBody returns body without the deskWords, and whether there
// were any.
func redactDeskBody(body []byte) ([]byte, bool) {
	fields, found := deskFields(body)
	if !found {
		return nil, false
	}
	for _, k := range deskWords {
		delete(fields, k)
	}
	out, err := json.Marshal(fields)
	return out, err == nil
}

// redactDeskStep takes user's words out of a desk step user took
// (pb.RedactDeskStep). Repeating it changes nothing.
func (c *conversation) redactDeskStep(ctx actor.Context, m *pb.RedactDeskStep) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, redacted bool) {
		respond(ctx, sender, &pb.RedactDeskStepResponse{Error: e, Redacted: redacted})
	}
	if !c.ready(func(e *pb.Error) { reply(e, false) }) {
		return
	}
	if c.kind != storage.KindService || m.Seq == 0 || m.Seq > c.durable {
		reply(pbErr(pb.Code_NOT_FOUND, "no desk step %d in %s", m.Seq, c.id), false)
		return
	}
	bg := context.Background()
	step, err := c.rt.store.GetMessage(bg, c.id, m.Seq)
	if err != nil {
		reply(storeErr(err), false)
		return
	}
	if step.Kind != storage.MsgSystem || step.Sender != m.User {
		reply(pbErr(pb.Code_INVALID, "message %d of %s is not a desk step %s took", m.Seq, c.id, m.User), false)
		return
	}
	body, found := redactDeskBody(step.Body)
	if !found {
		reply(nil, false)
		return
	}
	if err := c.rt.store.RedactMessage(bg, c.id, m.Seq, body); err != nil {
		reply(storeErr(err), false)
		return
	}
	if c.lastMsg != nil && c.lastMsg.Seq == m.Seq {
		last := *c.lastMsg
		last.Body = body
		c.lastMsg = &last
	}
	reply(nil, true)
}
