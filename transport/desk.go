package transport

import (
	"context"
	"strings"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Service desk requests (docs/PROTOCOL.md, "Service desk").

func (c *conn) deskHandover(ctx context.Context, op *wirepb.DeskHandoverRequest) *wirepb.Response {
	ds, refused := c.deskSession()
	if refused != nil {
		return refused
	}
	r, err := ds.DeskHandover(ctx, op.Conv)
	if err != nil {
		return c.fail(err)
	}
	return &wirepb.Response{Result: &wirepb.Response_DeskHandover{DeskHandover: &wirepb.DeskHandoverResult{
		Session: r.Session, State: r.State, QueuePosition: uint32(max(r.QueuePosition, 0)), Agent: r.Agent}}}
}

// Limits of the desk requests' free-text fields, checked before a request
// reaches the node (the desk checks a transfer note's own limit).
const (
	MaxDeskSceneBytes  = 300 // NAME/DATA: a 32-byte name and up to 256 bytes of data
	MaxDeskReasonBytes = 200
	MaxDeskTargetBytes = 140 // user:ID or queue:SKILL
)

// checkScene bounds the scene (and data) an entry or a reach-out names.
func checkScene(req, scene, data string) error {
	if scene == "" {
		return invalid("%s names no scene", req)
	}
	if n := len(scene) + len(data); n > MaxDeskSceneBytes {
		return invalid("scene and data are %d bytes, limit %d", n, MaxDeskSceneBytes)
	}
	return nil
}

func validateDesk(r *wirepb.Request) error {
	switch op := r.Op.(type) {
	case *wirepb.Request_DeskEnter:
		return checkScene("desk_enter", op.DeskEnter.Scene, op.DeskEnter.Data)
	case *wirepb.Request_DeskReach:
		return checkScene("desk_reach", op.DeskReach.Scene, op.DeskReach.Data)
	case *wirepb.Request_DeskStatus:
		switch op.DeskStatus.Status {
		case "", "online", "away", "offline":
		default:
			return invalid("status %q (want online, away or offline)", op.DeskStatus.Status)
		}
	case *wirepb.Request_DeskQueue:
		if s := op.DeskQueue.Skill; s == "" || len(s) > MaxDeskTargetBytes {
			return invalid("bad skill %q", s)
		}
	case *wirepb.Request_DeskTransfer:
		if t := op.DeskTransfer.To; !strings.HasPrefix(t, "user:") && !strings.HasPrefix(t, "queue:") || len(t) > MaxDeskTargetBytes {
			return invalid("transfer to %q (want user:ID or queue:SKILL)", t)
		}
		return checkConv(op.DeskTransfer.Conv)
	case *wirepb.Request_DeskClose:
		if n := len(op.DeskClose.Reason); n > MaxDeskReasonBytes {
			return invalid("close reason is %d bytes, limit %d", n, MaxDeskReasonBytes)
		}
		return checkConv(op.DeskClose.Conv)
	case *wirepb.Request_DeskRate:
		// The desk checks the score and the comment (its own limits).
		return checkConv(op.DeskRate.Conv)
	case *wirepb.Request_DeskNote:
		// The desk checks the note's length (its own limit); the frame
		// bounds what reaches it.
		return checkConv(op.DeskNote.Conv)
	case *wirepb.Request_DeskSession:
		return checkConv(op.DeskSession.Conv)
	case *wirepb.Request_DeskTag:
		// The desk checks the tags (its own limits).
		return checkConv(op.DeskTag.Conv)
	case *wirepb.Request_DeskReplies:
		r := op.DeskReplies
		if l := r.Line; (l == "" && r.Conv == "") || len(l) > MaxDeskTargetBytes {
			return invalid("bad line %q", l)
		}
		if r.Conv != "" {
			return checkConv(r.Conv)
		}
	}
	return nil
}

func (c *conn) deskSession() (session.DeskSession, *wirepb.Response) {
	ds, ok := c.sess.(session.DeskSession)
	if !ok {
		return nil, &wirepb.Response{Error: &wirepb.Error{Code: wirepb.Code_INVALID, Message: "this node has no service desk"}}
	}
	return ds, nil
}

func wireDeskSession(s session.DeskSessionInfo) *wirepb.DeskSession {
	out := &wirepb.DeskSession{Conv: s.Conv, Session: s.Session, State: s.State, QueuePosition: uint32(max(s.QueuePosition, 0)), Agent: s.Agent, Queue: s.Queue,
		QueueWaitMs: s.QueueWaitMs, AfterHours: s.AfterHours, OpensAtMs: s.OpensAt, FirstResponseTargetMs: s.FirstResponseTargetMs, FirstResponseDueMs: s.FirstResponseDueMs, StartedMs: s.StartedMs,
		AnswerByMs: s.AnswerByMs}
	for _, n := range s.Notes {
		out.Notes = append(out.Notes, &wirepb.DeskNote{By: n.By, AtMs: n.AtMs, Text: n.Text})
	}
	out.Tags = s.Tags
	out.CustomerAttributes = s.CustomerAttributes
	return out
}

// desk serves the desk requests that act as the connection's user.
func (c *conn) desk(ctx context.Context, r *wirepb.Request) *wirepb.Response {
	ds, refused := c.deskSession()
	if refused != nil {
		return refused
	}
	switch op := r.Op.(type) {
	case *wirepb.Request_DeskEnter:
		s, err := ds.DeskEnter(ctx, op.DeskEnter.Scene, op.DeskEnter.Data)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskEnter{DeskEnter: wireDeskSession(s)}}
	case *wirepb.Request_DeskStatus:
		var a session.DeskAgentInfo
		var err error
		switch {
		case op.DeskStatus.User != "" && (op.DeskStatus.Status != "" || op.DeskStatus.EndWrapUp):
			a, err = ds.DeskManageAgent(ctx, op.DeskStatus.User, op.DeskStatus.Status, op.DeskStatus.EndWrapUp)
		case op.DeskStatus.User != "":
			a, err = ds.DeskAgent(ctx, op.DeskStatus.User)
		case op.DeskStatus.EndWrapUp:
			if op.DeskStatus.Status != "" {
				_, err = ds.DeskStatus(ctx, op.DeskStatus.Status)
			}
			if err == nil {
				a, err = ds.DeskEndWrapUp(ctx)
			}
		default:
			a, err = ds.DeskStatus(ctx, op.DeskStatus.Status)
		}
		if err != nil {
			return c.fail(err)
		}
		out := &wirepb.DeskAgent{User: a.User, Name: a.Name, Status: a.Status, Capacity: uint32(max(a.Capacity, 0)), Skills: a.Skills, Load: uint32(max(a.Load, 0)), Sessions: a.Sessions, Supervisor: a.Supervisor,
			StatusBy: a.StatusBy, StatusSinceMs: a.StatusSinceMs}
		for _, w := range a.WrapUp {
			out.WrapUp = append(out.WrapUp, &wirepb.DeskWrapUp{Session: w.Session, UntilMs: w.UntilMs})
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskStatus{DeskStatus: out}}
	case *wirepb.Request_DeskQueue:
		q, err := ds.DeskQueue(ctx, op.DeskQueue.Skill)
		if err != nil {
			return c.fail(err)
		}
		out := &wirepb.DeskQueueResult{Skill: q.Skill, TotalWaiting: uint32(max(q.Total, 0))}
		for _, w := range q.Waiting {
			out.Waiting = append(out.Waiting, &wirepb.DeskWaiting{Conv: w.Conv, Session: w.Session, Position: uint32(max(w.Position, 0)), SinceMs: w.SinceMs, FirstResponseDueMs: w.DueMs, Priority: uint32(max(w.Priority, 0)),
				Customer: w.Customer, CustomerName: w.CustomerName})
		}
		for _, a := range q.Agents {
			out.Agents = append(out.Agents, &wirepb.DeskQueueAgent{User: a.User, Name: a.Name, Status: a.Status, Load: uint32(max(a.Load, 0)), Capacity: uint32(max(a.Capacity, 0))})
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskQueue{DeskQueue: out}}
	case *wirepb.Request_DeskReach:
		s, err := ds.DeskReach(ctx, op.DeskReach.Customer, op.DeskReach.Scene, op.DeskReach.Data)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskReach{DeskReach: wireDeskSession(s)}}
	case *wirepb.Request_DeskTransfer:
		s, err := ds.DeskTransfer(ctx, op.DeskTransfer.Conv, op.DeskTransfer.To, op.DeskTransfer.Note)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskTransfer{DeskTransfer: wireDeskSession(s)}}
	case *wirepb.Request_DeskClose:
		s, err := ds.DeskClose(ctx, op.DeskClose.Conv, op.DeskClose.Reason)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskClose{DeskClose: wireDeskSession(s)}}
	case *wirepb.Request_DeskNote:
		s, err := ds.DeskNote(ctx, op.DeskNote.Conv, op.DeskNote.Text)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskNote{DeskNote: wireDeskSession(s)}}
	case *wirepb.Request_DeskTag:
		s, err := ds.DeskTag(ctx, op.DeskTag.Conv, op.DeskTag.Add, op.DeskTag.Remove)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskTag{DeskTag: wireDeskSession(s)}}
	case *wirepb.Request_DeskSession:
		s, err := ds.DeskSessionOf(ctx, op.DeskSession.Conv)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskSession{DeskSession: wireDeskSession(s)}}
	case *wirepb.Request_DeskRate:
		rt, err := ds.DeskRate(ctx, op.DeskRate.Conv, int(op.DeskRate.Score), op.DeskRate.Comment)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskRate{DeskRate: &wirepb.DeskRateResult{
			Session: rt.Session, Score: uint32(max(rt.Score, 0)), Comment: rt.Comment, Duplicate: rt.Duplicate}}}
	case *wirepb.Request_DeskReplies:
		list, err := ds.DeskSavedReplies(ctx, op.DeskReplies.Line, op.DeskReplies.Conv)
		if err != nil {
			return c.fail(err)
		}
		out := &wirepb.DeskReplies{Replies: make([]*wirepb.DeskSavedReply, len(list))}
		for i, r := range list {
			out.Replies[i] = &wirepb.DeskSavedReply{Name: r.Name, Text: r.Text}
		}
		return &wirepb.Response{Result: &wirepb.Response_DeskReplies{DeskReplies: out}}
	}
	return &wirepb.Response{Error: wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "unknown operation")}
}
