package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/openhours"
)

// Quiet hours: the hours of the week a user's offline notifications
// pause, in their own time zone (a teacher's nights and weekends, an
// agent's days off). Messages still arrive, count as unread and sync;
// only the notification of a phone with no device online is not sent
// (nor sent later: the badge catches up with the next one). They are
// written as a desk line's opening hours are (internal/openhours): a zone
// and intervals per weekday, here the quiet ones.
//
// The setting is one checkpoint row, read by the grain the first time a
// notification is due in an activation.

func quietKey(user string) string { return "user/quiet/" + user }

// userQuiet is the user grain's copy of its quiet hours (hours nil: none).
type userQuiet struct {
	hours *openhours.Schedule
}

// quietLimits bound quiet hours as openhours reads them: no closed dates
// and no message, which are a desk line's.
func (c Config) quietLimits() openhours.Limits {
	return openhours.Limits{DayIntervals: c.MaxQuietIntervals}
}

// parseQuiet reads quiet hours as stored or asked for; nil for none.
func (c Config) parseQuiet(q *pb.QuietHours) (*openhours.Schedule, error) {
	if q == nil || len(q.Week) == 0 {
		return nil, nil
	}
	return openhours.Parse(openhours.Hours{TZ: q.Zone, Week: q.Week}, c.quietLimits())
}

// quietNow reports whether the user's notifications pause now. A read
// that fails is not tried again in the activation: the user is taken as
// having none (a notification too many rather than one lost silently).
func (u *user) quietNow() bool {
	if u.quiet == nil {
		u.quiet = &userQuiet{}
		q, e := loadRow[pb.QuietHours](context.Background(), u.rt.store, quietKey(u.id))
		if e != nil {
			u.rt.log.Warn("quiet hours not read; notifications go out in this activation", "user", u.id, "err", e.Message)
			return false
		}
		hours, err := u.rt.cfg.parseQuiet(q)
		if err != nil {
			u.rt.log.Warn("stored quiet hours no longer parse; notifications go out", "user", u.id, "err", err)
		}
		u.quiet.hours = hours
	}
	return u.quiet.hours != nil && u.quiet.hours.Open(u.rt.cfg.Now())
}

func (u *user) setQuietHours(ctx actor.Context, m *pb.SetQuietHours) {
	if m.Set == nil && !m.Off { // a read: from the store, so that one that fails says so
		q, e := loadRow[pb.QuietHours](context.Background(), u.rt.store, quietKey(u.id))
		if e == nil && len(q.Week) == 0 {
			q = nil
		}
		respond(ctx, ctx.Sender(), &pb.SetQuietHoursResponse{Error: e, Quiet: q})
		return
	}
	next := m.Set
	if m.Off {
		next = &pb.QuietHours{}
	}
	hours, err := u.rt.cfg.parseQuiet(next) // checked by SetQuietHours: a second look costs nothing
	if err != nil {
		respond(ctx, ctx.Sender(), &pb.SetQuietHoursResponse{Error: pbErr(pb.Code_INVALID, "quiet hours: %v", err)})
		return
	}
	if err := saveRow(context.Background(), u.rt.store, quietKey(u.id), next); err != nil {
		respond(ctx, ctx.Sender(), &pb.SetQuietHoursResponse{Error: storeErr(err)})
		return
	}
	u.quiet = &userQuiet{hours: hours}
	u.listChanged(pb.ListsUpdate_QUIET_HOURS, "")
	res := &pb.SetQuietHoursResponse{}
	if hours != nil {
		res.Quiet = next
	}
	respond(ctx, ctx.Sender(), res)
}

// SetQuietHours sets user's quiet hours (set: a zone and at least one
// interval), takes them away (off) or reads them (neither). The answer is
// nil when none are set. Hours that do not parse (an unknown zone or day,
// an interval out of order, more than Config.MaxQuietIntervals a day)
// are INVALID, saying what is wrong.
func (n *Runtime) SetQuietHours(ctx context.Context, user string, set *pb.QuietHours, off bool) (*pb.QuietHours, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	switch {
	case set != nil && off:
		return nil, invalid("quiet hours are set or taken away, not both")
	case set != nil && len(set.Week) == 0:
		return nil, invalid("quiet hours with no interval: take them away instead (off)")
	case set != nil:
		if _, err := n.cfg.parseQuiet(set); err != nil {
			return nil, invalid("quiet hours: %v", err)
		}
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetQuietHours{User: user, Set: set, Off: off})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SetQuietHoursResponse)
	return r.Quiet, fromPB(r.Error)
}
