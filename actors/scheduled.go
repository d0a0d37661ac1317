package actors

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
)

// Scheduled messages ("send later"): a teacher's announcement for 7 am, an
// agent's follow-up for when the shop opens. The node keeps a scheduled
// send in the store (storage.ScheduledSend: under its user, and indexed
// by when it is due) and sends it then as the user, through the same
// Send as any message, under the rules that hold at that time (a member
// who left by then cannot post). Its id comes from the user and the
// send's client message id, and the send keeps that client message id:
// scheduling again is idempotent, and a send made twice (two nodes, or a
// retry after a crash) is stored once. Every node looks for what is due
// every Config.ScheduleInterval, from the last UTC day any node finished
// (a checkpoint) to now; one refused for now (BUSY, RETRY, …) is tried
// again for a day, one refused for good is kept, failed and parked out of
// the sweeps' way, so that its user learns of it (ScheduledSends) until
// they cancel it.

var scheduledSends = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_scheduled_sends_total",
	Help: "Scheduled messages a node tried to send when due, by result: sent, failed (refused for good: kept for its sender to see), retried (refused for now) or dropped (unreadable).",
}, []string{"result"})

func init() { prometheus.MustRegister(scheduledSends) }

// scheduleSweepKey is the checkpoint holding the last UTC day whose
// scheduled sends were all sent (or dropped).
const scheduleSweepKey = "schedule-sweep"

// scheduleGiveUp is how long past its time a send refused for now is
// still tried: a message a day late is news to nobody.
const scheduleGiveUp = 24 * time.Hour

// scheduleParked is where a send refused for good is kept (its user sees
// it failed until they cancel it): a time no sweep reads up to.
var scheduleParked = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// scheduleBacklog is how far back a first sweep starts: a send due while
// every node was down that long ago still goes out.
const scheduleBacklog = 30 * 24 * time.Hour

// ScheduledID is the id of user's send scheduled with clientMsgID.
func ScheduledID(user, clientMsgID string) string {
	h := sha256.Sum256([]byte(user + "\x00" + clientMsgID))
	return hex.EncodeToString(h[:16])
}

// Schedule schedules req, a new message of user's to req.Conv or (to set)
// to the direct conversation with to, for at: within
// Config.MaxScheduleAhead, a text, card or poll (no file: an upload
// expires long before; no edit, reaction or vote), with a client message
// id, that user may send now (the rules are applied again when it goes
// out). Scheduling the same client message id again replaces it.
func (n *Runtime) Schedule(ctx context.Context, user, to string, req *pb.SendMessage, at time.Time) (session.Scheduled, error) {
	req.Sender = user
	if err := n.checkSchedule(ctx, to, req, at); err != nil {
		return session.Scheduled{}, err
	}
	msg, err := proto.Marshal(&pb.ScheduledMessage{Send: req, To: to})
	if err != nil {
		return session.Scheduled{}, fromPB(pbErr(pb.Code_INTERNAL, "encode a scheduled send: %v", err))
	}
	id := ScheduledID(user, req.ClientMsgId)
	res, err := n.request(ctx, KindUser, user, &pb.PutScheduled{User: user, Id: id, DueMs: at.UnixMilli(), Message: msg})
	if err != nil {
		return session.Scheduled{}, err
	}
	if err := fromPB(res.(*pb.PutScheduledResponse).Error); err != nil {
		return session.Scheduled{}, err
	}
	return session.Scheduled{ID: id, To: to, Send: req, At: storage.Millis(at), Created: storage.Millis(time.Now())}, nil
}

func (n *Runtime) checkSchedule(ctx context.Context, to string, req *pb.SendMessage, at time.Time) error {
	if err := checkUser(req.Sender); err != nil {
		return err
	}
	if err := n.checkAhead("a message scheduled", at); err != nil {
		return err
	}
	switch {
	case req.ClientMsgId == "":
		return invalid("a scheduled message needs a client message id")
	case isForward(req) || req.MediaId != "" || req.Location != nil:
		return invalid("a file, a location or a forward is not scheduled: send it when it is due")
	case req.RefSeq != 0 || (req.Kind != pb.MessageKind_NORMAL && req.Kind != pb.MessageKind_CARD && req.Kind != pb.MessageKind_POLL):
		return invalid("a new text, card or poll is scheduled, not an edit, an update, a reaction or a vote")
	case len(req.Body) == 0:
		return invalid("empty message body")
	case len(req.Body) > n.cfg.MaxBodyBytes:
		return fromPB(pbErr(pb.Code_TOO_LARGE, "message body is %d bytes, limit %d", len(req.Body), n.cfg.MaxBodyBytes))
	case len(req.Mentions) > n.cfg.MaxMentions:
		// Who the mentions name is checked when it goes out (the members
		// then); their number now, so that what is kept stays small.
		return invalid("%d mentions, limit %d", len(req.Mentions), n.cfg.MaxMentions)
	}
	if err := n.limits.CheckOptionalID("client message", req.ClientMsgId); err != nil {
		return invalid("%v", err)
	}
	if e := checkMeta(req, n.cfg.MaxMetaBytes); e != nil {
		return fromPB(e)
	}
	if to != "" {
		if _, err := directTarget(req.Sender, to, req.Topic); err != nil {
			return err
		}
		req.Conv = ""
		return nil // a first contact is checked when it goes out, as any
	}
	if req.Topic != "" {
		return invalid("a topic goes with a message to a user: conversation %s names its own", req.Conv)
	}
	if err := checkConv(req.Conv); err != nil {
		return err
	}
	if _, err := n.authorize(ctx, req.Conv, req.Sender, ActSend); err != nil {
		return err
	}
	return n.checkNotFrozen(ctx, req.Conv)
}

// checkAhead refuses a time for what the schedule keeps (a send, a
// reminder) that is not ahead, or further ahead than
// Config.MaxScheduleAhead.
func (n *Runtime) checkAhead(what string, at time.Time) error {
	switch now := time.Now(); {
	case !at.After(now):
		return invalid("%s for %v, which is not ahead", what, at.UTC())
	case at.Sub(now) > n.cfg.MaxScheduleAhead:
		return invalid("%s for %v, more than %v ahead", what, at.UTC(), n.cfg.MaxScheduleAhead)
	}
	return nil
}

// mineScheduled counts the user's scheduled sends (up to one past the
// bound) and tells whether id is one of them.
func (u *user) mineScheduled(id string) (count int, has bool, e *pb.Error) {
	mine, err := u.rt.scheduledSendsOf(context.Background(), u.id)
	if err != nil {
		return 0, false, storeErr(err)
	}
	return len(mine), slices.ContainsFunc(mine, func(s storage.ScheduledSend) bool { return s.ID == id }), nil
}

// scheduledSendsOf reads user's rows of the schedule that are sends (up
// to one past their bound), leaving out the reminders on starred
// messages that share the schedule (star_reminders.go).
func (n *Runtime) scheduledSendsOf(ctx context.Context, user string) ([]storage.ScheduledSend, error) {
	rows, err := n.store.ScheduledOf(ctx, user, n.cfg.MaxScheduledMessages+n.cfg.MaxStarredMessages+1)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(rows, func(s storage.ScheduledSend) bool {
		var m pb.ScheduledMessage
		return proto.Unmarshal(s.Send, &m) == nil && m.Reminder != nil
	}), nil
}

func (u *user) putScheduled(ctx actor.Context, m *pb.PutScheduled) {
	count, again, e := u.mineScheduled(m.Id)
	switch {
	case e != nil:
	case !again && count >= u.rt.cfg.MaxScheduledMessages:
		e = pbErr(pb.Code_TOO_MANY, "%s has %d messages scheduled, the limit: cancel one first", u.id, count)
	default:
		s := storage.ScheduledSend{User: u.id, ID: m.Id, DueAt: time.UnixMilli(m.DueMs), CreatedAt: time.Now(), Send: m.Message}
		if err := u.rt.store.PutScheduled(context.Background(), s); err != nil {
			e = storeErr(err)
		} else {
			u.listChanged(pb.ListsUpdate_SCHEDULED, "")
		}
	}
	respond(ctx, ctx.Sender(), &pb.PutScheduledResponse{Error: e})
}

func (u *user) dropScheduled(ctx actor.Context, m *pb.DropScheduled) {
	_, found, e := u.mineScheduled(m.Id)
	switch {
	case e != nil:
	case !found:
		e = pbErr(pb.Code_NOT_FOUND, "%s has no message scheduled as %s (sent already?)", u.id, m.Id)
	default:
		if err := u.rt.store.DeleteScheduled(context.Background(), u.id, m.Id); err != nil {
			e = storeErr(err)
		} else {
			u.listChanged(pb.ListsUpdate_SCHEDULED, "")
		}
	}
	respond(ctx, ctx.Sender(), &pb.DropScheduledResponse{Error: e})
}

// Unschedule cancels user's scheduled send id; one already sent (or
// never scheduled) is NOT_FOUND.
func (n *Runtime) Unschedule(ctx context.Context, user, id string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := n.limits.CheckID("scheduled send", id); err != nil {
		return invalid("%v", err)
	}
	res, err := n.request(ctx, KindUser, user, &pb.DropScheduled{User: user, Id: id})
	if err != nil {
		return err
	}
	return fromPB(res.(*pb.DropScheduledResponse).Error)
}

// ScheduledSends lists user's messages scheduled and not yet sent,
// soonest first.
func (n *Runtime) ScheduledSends(ctx context.Context, user string) ([]session.Scheduled, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	rows, err := n.scheduledSendsOf(ctx, user)
	if err != nil {
		return nil, fromPB(storeErr(err))
	}
	out := make([]session.Scheduled, 0, len(rows))
	for _, r := range rows {
		var m pb.ScheduledMessage
		if err := proto.Unmarshal(r.Send, &m); err != nil || m.Send == nil {
			n.log.Warn("a scheduled send that cannot be read", "user", user, "id", r.ID, "err", err)
			continue
		}
		sc := session.Scheduled{ID: r.ID, To: m.To, Send: m.Send, At: r.DueAt, Created: r.CreatedAt, Failed: m.Failed}
		if m.Failed != "" {
			sc.At = time.UnixMilli(m.DueMs)
		}
		out = append(out, sc)
	}
	sortScheduled(out)
	return out, nil
}

func sortScheduled(s []session.Scheduled) {
	slices.SortFunc(s, func(a, b session.Scheduled) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
	})
}

// sendDue sends the scheduled messages due by now, day by day from the
// sweep's checkpoint, and moves the checkpoint past every day before
// today that has none left, up to the first that has (a send refused for
// now, which must not hold up the days after it). It answers how many it
// settled (sent, or dropped for good).
func (n *Runtime) sendDue(ctx context.Context, now time.Time) (int, error) {
	today := storage.ScheduleDay(now)
	from := storage.ScheduleDay(now.Add(-scheduleBacklog))
	cp, err := n.store.LoadCheckpoint(ctx, scheduleSweepKey)
	switch {
	case err == nil && len(cp.State) == 8:
		from = time.UnixMilli(int64(binary.BigEndian.Uint64(cp.State))).Add(24 * time.Hour)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return 0, fmt.Errorf("read the schedule sweep's checkpoint: %w", err)
	}
	sent, held := 0, false
	for day := storage.ScheduleDay(from); !day.After(today); day = day.Add(24 * time.Hour) {
		left := false
		for {
			const page = 100
			due, err := n.store.ScheduledDue(ctx, day, now, page)
			if err != nil {
				return sent, fmt.Errorf("read the sends due on %v: %w", day, err)
			}
			progress := false
			for _, s := range due {
				ok, err := n.sendScheduled(ctx, s)
				if err != nil {
					return sent, err
				}
				if ok {
					sent++
					progress = true
				} else {
					left = true
				}
			}
			if len(due) < page || !progress {
				break
			}
		}
		held = held || left
		if held || !day.Before(today) {
			continue // today, or a day at or after one with sends refused for now
		}
		state := binary.BigEndian.AppendUint64(nil, uint64(day.UnixMilli()))
		if err := n.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: scheduleSweepKey, State: state, At: now}); err != nil {
			return sent, fmt.Errorf("save the schedule sweep's checkpoint: %w", err)
		}
	}
	return sent, nil
}

// sendScheduled sends s as its user and deletes it, unless it is refused
// for now (then it stays, done false) or for good (then it is parked,
// failed, for its user to see). Only the store failing to delete or park
// it is an error.
func (n *Runtime) sendScheduled(ctx context.Context, s storage.ScheduledSend) (done bool, err error) {
	var m pb.ScheduledMessage
	uerr := proto.Unmarshal(s.Send, &m)
	if uerr == nil && m.Reminder != nil {
		return n.remindDue(ctx, s, m.Reminder) // a reminder on a starred message, not a send
	}
	if uerr == nil && m.DisappearConv != "" {
		return n.disappearDue(ctx, s, m.DisappearConv) // a conversation's disappearing messages are due
	}
	if err := uerr; err != nil || m.Send == nil || m.Send.Sender != s.User {
		n.log.Warn("dropping a scheduled send that cannot be read", "user", s.User, "id", s.ID, "err", err)
		scheduledSends.WithLabelValues("dropped").Inc()
		return true, n.deleteScheduled(ctx, s)
	}
	sctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	if m.To != "" {
		_, err = n.SendDirect(sctx, m.To, m.Send)
	} else {
		_, err = n.Send(sctx, m.Send)
	}
	// Sent or failed, it leaves the user's list as it was: their devices
	// read it again (a send refused for now stays as it is).
	changed := func() { n.tell(KindUser, s.User, &pb.ListChanged{User: s.User, List: pb.ListsUpdate_SCHEDULED}) }
	switch code := CodeOf(err); {
	case err == nil:
		scheduledSends.WithLabelValues("sent").Inc()
		defer changed()
	case ctx.Err() != nil:
		return false, nil // the node stops: the next sweep sends it
	case refusedForNow(code) && time.Since(s.DueAt) < scheduleGiveUp:
		scheduledSends.WithLabelValues("retried").Inc()
		return false, nil
	default:
		n.log.Info("a scheduled message was refused when due", "user", s.User, "id", s.ID, "conv", m.Send.Conv, "to", m.To, "err", err)
		scheduledSends.WithLabelValues("failed").Inc()
		defer changed()
		return true, n.parkFailed(ctx, s, &m, err)
	}
	return true, n.deleteScheduled(ctx, s)
}

// parkFailed keeps s, refused for good by err, out of every sweep's way
// for its user to see (ScheduledSends says why) until they cancel it.
func (n *Runtime) parkFailed(ctx context.Context, s storage.ScheduledSend, m *pb.ScheduledMessage, err error) error {
	m.Failed, m.DueMs = fmt.Sprintf("%v: %v", CodeOf(err), err), s.DueAt.UnixMilli()
	state, merr := proto.Marshal(m)
	if merr != nil {
		return n.deleteScheduled(ctx, s)
	}
	s.DueAt, s.Send = scheduleParked, state
	if err := n.store.PutScheduled(ctx, s); err != nil {
		return fmt.Errorf("keep the failed scheduled send %s of %s: %w", s.ID, s.User, err)
	}
	return nil
}

// refusedForNow: a refusal for now (overload, a moving activation, a store
// that refuses writes, a rate, or no answer at all: INTERNAL), not one
// for good.
func refusedForNow(code pb.Code) bool {
	switch code {
	case pb.Code_BUSY, pb.Code_RETRY, pb.Code_STORAGE_UNAVAILABLE, pb.Code_RATE_LIMITED, pb.Code_SLOW_MODE, pb.Code_INTERNAL:
		return true
	}
	return false
}

func (n *Runtime) deleteScheduled(ctx context.Context, s storage.ScheduledSend) error {
	if err := n.store.DeleteScheduled(ctx, s.User, s.ID); err != nil {
		return fmt.Errorf("delete scheduled send %s of %s: %w", s.ID, s.User, err)
	}
	return nil
}

// startScheduleSweep runs sendDue every ScheduleInterval (jittered, so
// the nodes of a cluster do not look together) until stop.
func (n *Runtime) startScheduleSweep() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			wait := n.cfg.ScheduleInterval/2 + rand.N(n.cfg.ScheduleInterval)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			sent, err := n.sendDue(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				slog.Warn("sending scheduled messages", "err", err, "sent", sent)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
