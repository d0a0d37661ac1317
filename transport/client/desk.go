package client

import (
	"context"
	"fmt"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// DeskHandover hands the service session of conv from the robot to the
// next step of its route (a human queue or agent). The robot or the
// customer may ask; anyone else gets FORBIDDEN, and a session no longer
// with the robot INVALID.
func (c *Client) DeskHandover(ctx context.Context, conv string) (*wirepb.DeskHandoverResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskHandover{DeskHandover: &wirepb.DeskHandoverRequest{Conv: conv}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskHandover(), nil
}

// The desk requests below act as the client's own user (the token's).

// DeskEnter enters the service desk as a customer from scene ("listing"
// with data "123", or "listing/123" and no data).
func (c *Client) DeskEnter(ctx context.Context, scene, data string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskEnter{DeskEnter: &wirepb.DeskEnterRequest{Scene: scene, Data: data}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskEnter(), nil
}

// DeskReach starts an outbound session: the user, an agent, writes to
// customer first, in the business line of scene (data apart, or
// "listing/123"). BUSY while the agent is offline or full; EXISTS when the
// customer has an open session in that line with someone else.
func (c *Client) DeskReach(ctx context.Context, customer, scene, data string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskReach{DeskReach: &wirepb.DeskReachRequest{Customer: customer, Scene: scene, Data: data}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskReach(), nil
}

// DeskStatus sets the user's agent status: online, away or offline; ""
// reads the agent's state. FORBIDDEN unless the user is a registered agent.
func (c *Client) DeskStatus(ctx context.Context, status string) (*wirepb.DeskAgent, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{Status: status}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskStatus(), nil
}

// DeskEndWrapUp tells the desk the user, an agent, is done with the
// sessions it closed: the slots they keep taken for the desk's wrap-up
// time (serve --desk-wrap-up) free at once.
func (c *Client) DeskEndWrapUp(ctx context.Context) (*wirepb.DeskAgent, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{EndWrapUp: true}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskStatus(), nil
}

// DeskManageAgent is a supervisor's change of another agent: its status
// ("" keeps it; offline hands its sessions back to their queues) and,
// with endWrapUp, the end of its wrap-up. FORBIDDEN unless the user is a
// supervisor; NOT_FOUND for a user who is no registered agent.
func (c *Client) DeskManageAgent(ctx context.Context, agent, status string, endWrapUp bool) (*wirepb.DeskAgent, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{User: agent, Status: status, EndWrapUp: endWrapUp}}})
	if err != nil {
		return nil, err
	}
	// A server that reads agents but cannot change them refuses it
	// INVALID; one older than the user field ignores it, and the answer
	// names the caller: the change was the caller's own.
	if a := res.GetDeskStatus(); a.GetUser() != agent {
		return nil, fmt.Errorf("desk_status: asked to change %s, answered %s: the server changed the caller instead", agent, a.GetUser())
	}
	return res.GetDeskStatus(), nil
}

// DeskAgent reads another agent's state, the sessions it holds included
// (to reassign one with DeskTransfer). FORBIDDEN unless the user is a
// supervisor; NOT_FOUND for a user who is no registered agent.
func (c *Client) DeskAgent(ctx context.Context, agent string) (*wirepb.DeskAgent, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskStatus{DeskStatus: &wirepb.DeskStatusRequest{User: agent}}})
	if err != nil {
		return nil, err
	}
	// A server older than the field ignores it and answers the caller's
	// own state.
	if a := res.GetDeskStatus(); a.GetUser() != agent {
		return nil, fmt.Errorf("desk_status: asked for %s, answered %s: the server cannot read other agents", agent, a.GetUser())
	}
	return res.GetDeskStatus(), nil
}

// DeskQueue lists the waiting sessions of a skill group the user is an
// agent of ("@USER": the user's own queue).
func (c *Client) DeskQueue(ctx context.Context, skill string) (*wirepb.DeskQueueResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskQueue{DeskQueue: &wirepb.DeskQueueRequest{Skill: skill}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskQueue(), nil
}

// DeskTransfer hands the session of conv, which the user holds, to
// "user:ID" or "queue:SKILL" with an internal note.
func (c *Client) DeskTransfer(ctx context.Context, conv, to, note string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskTransfer{DeskTransfer: &wirepb.DeskTransferRequest{Conv: conv, To: to, Note: note}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskTransfer(), nil
}

// DeskClose closes the session of conv; the user is its agent or customer.
func (c *Client) DeskClose(ctx context.Context, conv, reason string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskClose{DeskClose: &wirepb.DeskCloseRequest{Conv: conv, Reason: reason}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskClose(), nil
}

// DeskNote adds an internal note to the session of conv, as its agent or
// a supervisor; its customer never sees it. The answer carries every note.
func (c *Client) DeskNote(ctx context.Context, conv, text string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskNote{DeskNote: &wirepb.DeskNoteRequest{Conv: conv, Text: text}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskNote(), nil
}

// DeskTag adds and removes tags (contact reasons) of the session of conv,
// as its agent or a supervisor: removals first, then additions; tags are
// folded to lower case and its customer never sees them. The answer
// carries the session's tags and notes.
func (c *Client) DeskTag(ctx context.Context, conv string, add, remove []string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskTag{DeskTag: &wirepb.DeskTagRequest{Conv: conv, Add: add, Remove: remove}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskTag(), nil
}

// DeskSession reads the session of conv: as its customer (without the
// notes), or as its agent or a supervisor (with them).
func (c *Client) DeskSession(ctx context.Context, conv string) (*wirepb.DeskSession, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskSession{DeskSession: &wirepb.DeskSessionRequest{Conv: conv}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskSession(), nil
}

// DeskRate rates the closed session of conv, as its customer: score 1 (bad)
// to 5 (good) and an optional comment. A second rating is answered with the
// first (Duplicate).
func (c *Client) DeskRate(ctx context.Context, conv string, score uint32, comment string) (*wirepb.DeskRateResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskRate{DeskRate: &wirepb.DeskRateRequest{Conv: conv, Score: score, Comment: comment}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskRate(), nil
}

// DeskSavedReplies lists a business line's saved replies, as a registered
// agent, for sending one as the agent's own message.
func (c *Client) DeskSavedReplies(ctx context.Context, line string) ([]*wirepb.DeskSavedReply, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskReplies{DeskReplies: &wirepb.DeskRepliesRequest{Line: line}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskReplies().GetReplies(), nil
}

// DeskSavedRepliesFor lists the saved replies of the line of conv, a
// session this agent holds (or, as a supervisor, reads), their
// placeholders filled for it: "Hi {customer_name|there}" reads "Hi Sam"
// (docs/DESK.md, "Saved replies").
func (c *Client) DeskSavedRepliesFor(ctx context.Context, conv string) ([]*wirepb.DeskSavedReply, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskReplies{DeskReplies: &wirepb.DeskRepliesRequest{Conv: conv}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskReplies().GetReplies(), nil
}
