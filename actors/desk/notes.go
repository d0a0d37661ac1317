package desk

import (
	"context"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Internal notes are what agents write about a session for each other
// ("refund approved, waiting for the courier"): kept in the session's
// state, never in the conversation, so its customer never sees them. A
// transfer may add one; the session's agent (and a supervisor) may add
// more at any time, also once it closed, and reads them with the session.

type noteReq struct {
	By   string `json:"by"`
	Text string `json:"text"`
}

// checkNote checks a note's text against the limits; count is how many
// the session holds already.
func (d *Desk) checkNote(text string, count int) error {
	switch {
	case strings.TrimSpace(text) == "":
		return invalid("an empty note")
	case len(text) > d.cfg.MaxNoteBytes:
		return rejected(pb.Code_TOO_LARGE, "note is %d bytes, limit %d", len(text), d.cfg.MaxNoteBytes)
	case count >= d.cfg.MaxNotes:
		return rejected(pb.Code_TOO_MANY, "the session has %d notes, limit %d", count, d.cfg.MaxNotes)
	}
	return nil
}

// addNote adds r's note to the current session (open or closed).
func (t *threadGrain) addNote(g *grain, ctx actor.Context, r noteReq) (any, error) {
	s := t.Session
	if s == nil {
		return nil, rejected(pb.Code_NOT_FOUND, "no session in %s", t.Conv)
	}
	if err := g.d.checkNote(r.Text, len(s.Notes)); err != nil {
		return nil, err
	}
	note := Note{By: r.By, At: nowMs(), Text: r.Text}
	s.Notes = append(s.Notes, note)
	if err := g.save(ctx); err != nil {
		s.Notes = s.Notes[:len(s.Notes)-1]
		return nil, err
	}
	if on := g.d.cfg.OnNote; on != nil {
		on(NoteEvent{Session: s.ID, Conv: t.Conv, Index: len(s.Notes) - 1, By: note.By, AtMs: note.At, Text: note.Text})
	}
	// The session's agent (once closed, its last one) hears of a note
	// someone else wrote, a supervisor's say, while the workbench is open.
	if to := s.Agent; to != "" && to != r.By {
		conv, count := t.Conv, len(s.Notes)
		go func() {
			sctx, cancel := context.WithTimeout(context.Background(), g.d.rt.Config().RequestTimeout)
			defer cancel()
			g.d.rt.DeskNoteAdded(sctx, to, conv, r.By, count)
		}()
	}
	return t.info(g, queueSpot{}), nil
}

// Note adds an internal note by by to the current session of conv (the
// admin API's: by is not checked; Wire.Note checks it).
func (d *Desk) Note(ctx context.Context, by, conv, text string) (SessionInfo, error) {
	if !actors.ValidUserID(by) {
		return SessionInfo{}, invalid("bad user id %q", by)
	}
	return d.onThread(ctx, conv, "note", noteReq{By: by, Text: text})
}

// mayReadNotes: a session's notes are its agent's (once closed, the
// agent who held it last: a wrap-up note) and the supervisors'.
func (w *Wire) mayReadNotes(ctx context.Context, by string, s SessionInfo) error {
	if s.Agent != nil && *s.Agent == by || s.State == StateClosed && s.LastAgent == by {
		return nil
	}
	a, err := w.d.Agent(ctx, by)
	if err != nil {
		return err
	}
	if !a.Supervisor {
		return rejected(pb.Code_FORBIDDEN, "the session of %s is its agent's and the supervisors'", s.Conv)
	}
	return nil
}

// Session is the session of conv as by sees it: its customer without the
// notes, its agent and supervisors with them; anyone else FORBIDDEN.
func (w *Wire) Session(ctx context.Context, by, conv string) (actors.DeskSessionInfo, error) {
	s, err := w.d.Session(ctx, by, conv)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	if by == s.Customer {
		return wireSession(s), nil
	}
	if err := w.mayReadNotes(ctx, by, s); err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return w.withNotes(ctx, s), nil
}

// withNotes is wireSession with the notes, the tags and the customer's
// attributes, for their readers only. Attributes the store fails to
// read are left out (logged): the session answers all the same.
func (w *Wire) withNotes(ctx context.Context, s SessionInfo) actors.DeskSessionInfo {
	out := wireSession(s)
	if a, err := w.d.rt.UserAttributes(ctx, s.Customer); err != nil {
		w.d.log.Warn("a customer's attributes not read", "customer", s.Customer, "conv", s.Conv, "err", err)
	} else {
		out.CustomerAttributes = a.Values
	}
	out.Tags = s.Tags
	out.FirstResponseTargetMs, out.FirstResponseDueMs, out.StartedMs = s.FirstResponseTargetMs, s.FirstResponseDueMs, s.StartedMs
	out.AnswerByMs = s.AnswerByMs
	for _, n := range s.Notes {
		out.Notes = append(out.Notes, actors.DeskNote{By: n.By, AtMs: n.At, Text: n.Text})
	}
	return out
}

// Note adds by's internal note to the session of conv; by is its agent
// or a supervisor.
func (w *Wire) Note(ctx context.Context, by, conv, text string) (actors.DeskSessionInfo, error) {
	s, err := w.d.Session(ctx, by, conv)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	if err := w.mayReadNotes(ctx, by, s); err != nil {
		return actors.DeskSessionInfo{}, err
	}
	s, err = w.d.Note(ctx, by, conv, text)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return w.withNotes(ctx, s), nil
}
