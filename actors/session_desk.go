package actors

import (
	"context"

	"github.com/switchboard-im/switchboard/actors/session"
)

// DeskHandoverResult is where a handed-over session went.
type DeskHandoverResult = session.DeskHandoverResult

// DeskHandover hands the service session of conv from the robot to the
// next step of its route on by's request (package actors/desk, wired by
// boot.StartNode); the desk checks that by is the robot or the customer.
type DeskHandover func(ctx context.Context, by, conv string) (DeskHandoverResult, error)

// SetDeskHandover installs the hand-over; nil: refused.
func (n *Runtime) SetDeskHandover(f DeskHandover) { n.deskHandover.Store(&f) }

// Handover serves a hand-over through the installed desk.
func (n *Runtime) Handover(ctx context.Context, by, conv string) (DeskHandoverResult, error) {
	if err := checkConv(conv); err != nil {
		return DeskHandoverResult{}, err
	}
	if err := checkUser(by); err != nil {
		return DeskHandoverResult{}, err
	}
	f := n.deskHandover.Load()
	if f == nil || *f == nil {
		return DeskHandoverResult{}, invalid("this node has no service desk")
	}
	return (*f)(ctx, by, conv)
}

var _ session.DeskSession = (*deviceSession)(nil)

// DeskHandover is the device's user asking for a hand-over.
func (s *deviceSession) DeskHandover(ctx context.Context, conv string) (DeskHandoverResult, error) {
	return s.rt.Handover(ctx, s.user, conv)
}
