package actors

import (
	"math"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Locations: a text may share a place (a meeting point, a shop, where the
// courier is): WGS 84 coordinates and an optional name, with the text as
// its caption, which may then be empty. It is the message's content as
// its text is: a recall, retention or a disappearing timer takes it, a
// forward copies it, a reply, a reaction or a pin names its message. A
// new text only: not beside a file, and not on an edit (an edit changes
// the caption; the place stays), a card, a poll or a reaction.

// checkLocation checks m's location, if any, and returns it as stored.
func (c *conversation) checkLocation(m *pb.SendMessage) (*storage.Location, *pb.Error) {
	l := m.Location
	switch {
	case l == nil:
		return nil, nil
	case m.Kind != pb.MessageKind_NORMAL || m.RefSeq != 0:
		return nil, pbErr(pb.Code_INVALID, "a location goes with a new text: not with an edit, a card, a poll, a vote or a reaction")
	case m.MediaId != "":
		return nil, pbErr(pb.Code_INVALID, "a message shares a file or a location, not both")
	case math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90:
		return nil, pbErr(pb.Code_INVALID, "latitude %v: want -90 to 90 degrees", l.Lat)
	case math.IsNaN(l.Lng) || l.Lng < -180 || l.Lng > 180:
		return nil, pbErr(pb.Code_INVALID, "longitude %v: want -180 to 180 degrees", l.Lng)
	case len(l.Name) > c.rt.cfg.MaxLocationNameBytes:
		return nil, pbErr(pb.Code_INVALID, "a location's name of %d bytes, limit %d", len(l.Name), c.rt.cfg.MaxLocationNameBytes)
	}
	if err := printable(l.Name, false); err != nil {
		return nil, pbErr(pb.Code_INVALID, "a location's name: %v", err)
	}
	return locationFromPB(l), nil
}

func locationToPB(l *storage.Location) *pb.Location {
	if l == nil {
		return nil
	}
	return &pb.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name}
}

func locationFromPB(l *pb.Location) *storage.Location {
	if l == nil {
		return nil
	}
	return &storage.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name}
}
