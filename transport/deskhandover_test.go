package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A robot hands a session over to the human queue with a protocol request
// over QUIC: the session is assigned to the online agent. A stranger's
// request is FORBIDDEN, a second one INVALID (no longer with the robot),
// and a malformed conversation id is refused before it reaches the node.
func TestDeskHandoverRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	d := e.nodes[0].Desk
	setUpDesk(t, e, []string{"bot", "queue:sales"}, desk.Online, "a1")
	s, err := d.Enter(ctx, "c1", "listing/1")
	if err != nil || s.State != desk.StateBot {
		t.Fatalf("enter: %+v %v, want the robot", s, err)
	}
	bot, stranger := e.dial("bot", "bot-1"), e.dial("eve", "phone")
	if _, err := stranger.DeskHandover(ctx, s.Conv); wirepb.CodeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("stranger's hand-over: %v, want FORBIDDEN", err)
	}
	if _, err := bot.DeskHandover(ctx, "not a conv"); wirepb.CodeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("bad conv: %v, want INVALID", err)
	}
	r, err := bot.DeskHandover(ctx, s.Conv)
	if err != nil || r.Session != s.Session || (r.State != desk.StateQueued && r.State != desk.StateAssigned) {
		t.Fatalf("robot's hand-over: %+v %v", r, err)
	}
	eventually(t, "a1 has the session", func() bool {
		s, err := d.Session(ctx, "a1", s.Conv)
		return err == nil && s.Agent != nil && *s.Agent == "a1"
	})
	if _, err := bot.DeskHandover(ctx, s.Conv); wirepb.CodeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("second hand-over: %v, want INVALID", err)
	}
}
