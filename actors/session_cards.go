package actors

import (
	"context"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// CardClicker serves a click on a business card (package actors/cards,
// wired by boot.StartNode): it calls the business's webhook and posts the
// answer.
type CardClicker func(ctx context.Context, click *pb.CardClick) (*pb.CardClickResult, error)

// SetCardClicker installs the card clicker; nil: clicks are refused.
func (n *Runtime) SetCardClicker(f CardClicker) { n.cardClicker.Store(&f) }

// ClickCard serves user's click through the installed clicker.
func (n *Runtime) ClickCard(ctx context.Context, click *pb.CardClick) (*pb.CardClickResult, error) {
	if err := checkConv(click.Conv); err != nil {
		return nil, err
	}
	if err := checkUser(click.User); err != nil {
		return nil, err
	}
	f := n.cardClicker.Load()
	if f == nil || *f == nil {
		return nil, invalid("this node has no card webhook")
	}
	return (*f)(ctx, click)
}

func (s *deviceSession) ClickCard(ctx context.Context, conv string, seq uint64, action string) (*pb.CardClickResult, error) {
	return s.rt.ClickCard(ctx, &pb.CardClick{User: s.user, Conv: conv, Seq: seq, Action: action})
}
