package actors

import (
	"context"

	"github.com/switchboard-im/switchboard/actors/session"
)

// Desk types of the session seam, for the desk's side of the wire.
type (
	DeskSessionInfo = session.DeskSessionInfo
	DeskAgentInfo   = session.DeskAgentInfo
	DeskQueueInfo   = session.DeskQueueInfo
	DeskWaiting     = session.DeskWaiting
	DeskQueueAgent  = session.DeskQueueAgent
	DeskRating      = session.DeskRating
	DeskSavedReply  = session.DeskSavedReply
	DeskNote        = session.DeskNote
	DeskWrapUp      = session.DeskWrapUp
)

// DeskWire serves the desk requests a connected user makes for themselves
// (package actors/desk, wired by boot.StartNode). by is always the
// connection's user, never a name from the request: the desk decides what
// that user may do (its agent record, the session's agent and customer).
type DeskWire interface {
	Enter(ctx context.Context, by, scene, data string) (DeskSessionInfo, error)
	Status(ctx context.Context, by, status string) (DeskAgentInfo, error)
	Agent(ctx context.Context, by, agent string) (DeskAgentInfo, error)
	ManageAgent(ctx context.Context, by, agent, status string, endWrapUp bool) (DeskAgentInfo, error)
	EndWrapUp(ctx context.Context, by string) (DeskAgentInfo, error)
	Queue(ctx context.Context, by, skill string) (DeskQueueInfo, error)
	Reach(ctx context.Context, by, customer, scene, data string) (DeskSessionInfo, error)
	Transfer(ctx context.Context, by, conv, to, note string) (DeskSessionInfo, error)
	Close(ctx context.Context, by, conv, reason string) (DeskSessionInfo, error)
	Session(ctx context.Context, by, conv string) (DeskSessionInfo, error)
	Note(ctx context.Context, by, conv, text string) (DeskSessionInfo, error)
	Tag(ctx context.Context, by, conv string, add, remove []string) (DeskSessionInfo, error)
	Rate(ctx context.Context, by, conv string, score int, comment string) (DeskRating, error)
	SavedReplies(ctx context.Context, by, line, conv string) ([]DeskSavedReply, error)
	// MayReadMetrics answers nil when by may read the metrics rows of key
	// (their own always; others' as the desk's supervisor).
	MayReadMetrics(ctx context.Context, by, key string) error
}

type deskWireBox struct{ w DeskWire }

// SetDeskWire installs the desk's wire requests; nil: refused.
func (n *Runtime) SetDeskWire(w DeskWire) { n.deskWire.Store(&deskWireBox{w}) }

func (n *Runtime) wire(by string, convs ...string) (DeskWire, error) {
	if err := checkUser(by); err != nil {
		return nil, err
	}
	for _, c := range convs {
		if err := checkConv(c); err != nil {
			return nil, err
		}
	}
	b := n.deskWire.Load()
	if b == nil || b.w == nil {
		return nil, invalid("this node has no service desk")
	}
	return b.w, nil
}

var _ session.DeskSession = (*deviceSession)(nil)

// DeskEnter is the device's user entering as a customer.
func (s *deviceSession) DeskEnter(ctx context.Context, scene, data string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Enter(ctx, s.user, scene, data)
}

// DeskStatus is the device's user setting (or reading) their agent status.
func (s *deviceSession) DeskStatus(ctx context.Context, status string) (DeskAgentInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskAgentInfo{}, err
	}
	return w.Status(ctx, s.user, status)
}

// DeskEndWrapUp is the device's user, an agent, done with the sessions it
// closed: their slots in wrap-up free at once.
func (s *deviceSession) DeskEndWrapUp(ctx context.Context) (DeskAgentInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskAgentInfo{}, err
	}
	return w.EndWrapUp(ctx, s.user)
}

// DeskAgent is the device's user, a supervisor, reading another agent.
func (s *deviceSession) DeskAgent(ctx context.Context, agent string) (DeskAgentInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskAgentInfo{}, err
	}
	if err := checkUser(agent); err != nil {
		return DeskAgentInfo{}, err
	}
	return w.Agent(ctx, s.user, agent)
}

// DeskManageAgent is the device's user, a supervisor, changing another
// agent's status or ending its wrap-up.
func (s *deviceSession) DeskManageAgent(ctx context.Context, agent, status string, endWrapUp bool) (DeskAgentInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskAgentInfo{}, err
	}
	if err := checkUser(agent); err != nil {
		return DeskAgentInfo{}, err
	}
	return w.ManageAgent(ctx, s.user, agent, status, endWrapUp)
}

// DeskQueue is the device's user, an agent, looking at a queue.
func (s *deviceSession) DeskQueue(ctx context.Context, skill string) (DeskQueueInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskQueueInfo{}, err
	}
	return w.Queue(ctx, s.user, skill)
}

// DeskReach is the device's user, an agent, writing to a customer first.
func (s *deviceSession) DeskReach(ctx context.Context, customer, scene, data string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	if err := checkUser(customer); err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Reach(ctx, s.user, customer, scene, data)
}

// DeskTransfer is the device's user handing a session on.
func (s *deviceSession) DeskTransfer(ctx context.Context, conv, to, note string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user, conv)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Transfer(ctx, s.user, conv, to, note)
}

// DeskClose is the device's user closing a session.
func (s *deviceSession) DeskClose(ctx context.Context, conv, reason string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user, conv)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Close(ctx, s.user, conv, reason)
}

// DeskSessionOf is the device's user looking at a session.
func (s *deviceSession) DeskSessionOf(ctx context.Context, conv string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user, conv)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Session(ctx, s.user, conv)
}

// DeskNote is the device's user, an agent, writing an internal note.
func (s *deviceSession) DeskNote(ctx context.Context, conv, text string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user, conv)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Note(ctx, s.user, conv, text)
}

// DeskTag is the device's user, an agent, tagging a session.
func (s *deviceSession) DeskTag(ctx context.Context, conv string, add, remove []string) (DeskSessionInfo, error) {
	w, err := s.rt.wire(s.user, conv)
	if err != nil {
		return DeskSessionInfo{}, err
	}
	return w.Tag(ctx, s.user, conv, add, remove)
}

// DeskRate is the device's user, the customer, rating a closed session.
func (s *deviceSession) DeskRate(ctx context.Context, conv string, score int, comment string) (DeskRating, error) {
	w, err := s.rt.wire(s.user, conv)
	if err != nil {
		return DeskRating{}, err
	}
	return w.Rate(ctx, s.user, conv, score, comment)
}

// DeskSavedReplies is the device's user, an agent, reading a line's saved
// replies.
func (s *deviceSession) DeskSavedReplies(ctx context.Context, line, conv string) ([]DeskSavedReply, error) {
	w, err := s.rt.wire(s.user)
	if err != nil {
		return nil, err
	}
	return w.SavedReplies(ctx, s.user, line, conv)
}
