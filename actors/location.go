package actors

import (
	"math"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Locations: a text may share a place (a meeting point, a shop, where the
// courier is): WGS 84 coordinates and an optional name, with the text as
// its caption, which may then be empty. It is the message's content as
// its text is: a recall, retention or a disappearing timer takes it, a
// forward copies it, a reply, a reaction or a pin names its message. A
// text's only: not beside a file, a card, a poll or a reaction; an edit
// changes the caption and the place stays.
//
// A live location (the courier on the way) has an end, at most
// Config.MaxLiveLocationFor ahead; until then its sender moves it with a
// revision of the message (RefSeq, no text, the new place), stored and
// delivered as an edit is: it counts as no unread and notifies nobody,
// and readers show the newest place and its end. A move may end the
// share early (its end is now); the newest move says whether the place is
// live, so the sender's next move shares again, until the share's end at
// most. A recall takes the moves with the message.

// checkLocation checks m's location, if any: its ranges and its name; on
// a new text, a live share's end within Config.MaxLiveLocationFor; on a
// revision (RefSeq set: a live location's move), no text beside it
// (checkMove does the rest, with the message it moves).
func (c *conversation) checkLocation(m *pb.SendMessage) *pb.Error {
	l := m.Location
	switch {
	case l == nil:
		return nil
	case m.Kind != pb.MessageKind_NORMAL:
		return pbErr(pb.Code_INVALID, "a location goes with a text: not with a card, a poll, a vote or a reaction")
	case m.RefSeq != 0 && len(m.Body) > 0:
		return pbErr(pb.Code_INVALID, "a live location's move carries no text: edit its caption on its own")
	case m.MediaId != "":
		return pbErr(pb.Code_INVALID, "a message shares a file or a location, not both")
	case math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90:
		return pbErr(pb.Code_INVALID, "latitude %v: want -90 to 90 degrees", l.Lat)
	case math.IsNaN(l.Lng) || l.Lng < -180 || l.Lng > 180:
		return pbErr(pb.Code_INVALID, "longitude %v: want -180 to 180 degrees", l.Lng)
	case len(l.Name) > c.rt.cfg.MaxLocationNameBytes:
		return pbErr(pb.Code_INVALID, "a location's name of %d bytes, limit %d", len(l.Name), c.rt.cfg.MaxLocationNameBytes)
	case l.LiveUntilMs < 0:
		return pbErr(pb.Code_INVALID, "live_until_ms %d: a time in Unix ms", l.LiveUntilMs)
	}
	if now := c.rt.cfg.Now(); m.RefSeq == 0 && l.LiveUntilMs != 0 &&
		(l.LiveUntilMs <= now.UnixMilli() || l.LiveUntilMs > now.Add(c.rt.cfg.MaxLiveLocationFor).UnixMilli()) {
		return pbErr(pb.Code_INVALID, "a live location's end %d: want a time after now and at most %v ahead", l.LiveUntilMs, c.rt.cfg.MaxLiveLocationFor)
	}
	if err := printable(l.Name, false); err != nil {
		return pbErr(pb.Code_INVALID, "a location's name: %v", err)
	}
	return nil
}

// checkMove checks m, a move of target's live location by its sender,
// and sets the move's end: the share's (live_until_ms 0), or now when m
// ends the share early (a time at or before now); never later than the
// share's.
func (c *conversation) checkMove(m *pb.SendMessage, target *storage.Message) *pb.Error {
	now := c.rt.cfg.Now()
	shared := target.Location
	switch {
	case shared == nil || shared.LiveUntil.IsZero():
		return pbErr(pb.Code_INVALID, "message %d shares no live location: a place is moved only while it is shared live", target.Seq)
	case !now.Before(shared.LiveUntil):
		return pbErr(pb.Code_EDIT_EXPIRED, "the live location of message %d ended at %v", target.Seq, shared.LiveUntil.UTC().Format(time.RFC3339))
	case m.Location.LiveUntilMs > shared.LiveUntil.UnixMilli():
		return pbErr(pb.Code_INVALID, "a move shares no longer than its share, until %v", shared.LiveUntil.UTC().Format(time.RFC3339))
	}
	switch l := m.Location; {
	case l.LiveUntilMs == 0:
		l.LiveUntilMs = shared.LiveUntil.UnixMilli()
	case l.LiveUntilMs <= now.UnixMilli():
		l.LiveUntilMs = now.UnixMilli() // the share ends here
	}
	return nil
}

// revisedUntil is how long after its message a revision of target may
// come: the edit window, or a live location's end if later.
func (c *conversation) revisedUntil(target *storage.Message) time.Time {
	until := target.ServerTS.Add(c.rt.cfg.EditWindow)
	if l := target.Location; l != nil && l.LiveUntil.After(until) {
		until = l.LiveUntil
	}
	return until
}

func locationToPB(l *storage.Location) *pb.Location {
	if l == nil {
		return nil
	}
	return &pb.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntilMs: millis(l.LiveUntil)}
}

func locationFromPB(l *pb.Location) *storage.Location {
	if l == nil {
		return nil
	}
	return &storage.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name, LiveUntil: fromMillis(l.LiveUntilMs)}
}
