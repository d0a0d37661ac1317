package actors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/storage"
)

// Reminders on starred messages ("remind me about this tomorrow at 9": a
// seller's follow-up, an agent's promise to call back). A user stars a
// message with a time (Runtime.Remind): the starred entry holds the time,
// and the node's schedule holds a row for it — the rows scheduled sends
// use (storage.ScheduledSend), so every node's sweep finds what is due
// without knowing whose it is — whose payload names the message instead
// of a send. When it is due the sweep reads the message as the user (its
// preview; nothing if they no longer read it) and hands the user grain a
// ReminderDue. The grain takes the reminder off the entry (the message
// stays starred) and tells the connected devices (a lists push,
// REMINDER, naming the message) or, none online, the user's phone (a
// notification of kind "reminder"). A reminder moved or taken away after
// its row was read is no longer on the entry when it comes, and goes
// silently. The user chose the time, so quiet hours do not hold it back.

var starReminders = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_star_reminders_total",
	Help: "Reminders on starred messages the schedule found due, by result: told (the user's devices or phone), gone (the message no longer read, or the reminder moved), retried (refused for now) or dropped (refused for good, or unreadable).",
}, []string{"result"})

func init() { prometheus.MustRegister(starReminders) }

// ReminderID is the schedule row's id of user's reminder on message seq
// of conv: one per starred message, so moving it replaces the row.
func ReminderID(user, conv string, seq uint64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00reminder\x00%s\x00%d", user, conv, seq))
	return hex.EncodeToString(h[:16])
}

// Remind stars message seq of conv for user (Star's rules) with a
// reminder at at, ahead by at most Config.MaxScheduleAhead; a starred
// message's reminder moves to at. It answers how many messages user keeps
// starred. Starring it again (Star) takes the reminder away.
func (n *Runtime) Remind(ctx context.Context, user, conv string, seq uint64, at time.Time) (int, error) {
	if err := n.checkAhead("a reminder", at); err != nil {
		return 0, err
	}
	if err := n.checkStar(ctx, user, conv, seq, true); err != nil {
		return 0, err
	}
	return n.setStarred(ctx, &pb.SetStarred{User: user, Conv: conv, Seq: seq, Starred: true, RemindAtMs: at.UnixMilli()})
}

// scheduleReminder writes (or moves) the schedule's row of the user's
// reminder on conv's seq, due at atMs.
func (u *user) scheduleReminder(ctx context.Context, conv string, seq uint64, atMs int64) *pb.Error {
	payload, err := proto.Marshal(&pb.ScheduledMessage{Reminder: &pb.StarredEntry{Conv: conv, Seq: seq, RemindAtMs: atMs}})
	if err != nil {
		return pbErr(pb.Code_INTERNAL, "encode a reminder: %v", err)
	}
	row := storage.ScheduledSend{User: u.id, ID: ReminderID(u.id, conv, seq), DueAt: time.UnixMilli(atMs), CreatedAt: time.Now(), Send: payload}
	if err := u.rt.store.PutScheduled(ctx, row); err != nil {
		return storeErr(err)
	}
	return nil
}

// dropReminder deletes the schedule's row of a reminder taken away; a row
// left behind (the store failed) finds no reminder on the entry when due.
func (u *user) dropReminder(ctx context.Context, conv string, seq uint64) {
	if err := u.rt.store.DeleteScheduled(ctx, u.id, ReminderID(u.id, conv, seq)); err != nil {
		u.rt.log.Warn("delete the schedule's row of a reminder taken away", "user", u.id, "conv", conv, "seq", seq, "err", err)
	}
}

// remindDue hands reminder r of s's user, due, to their grain with the
// message's preview, and deletes its row; done false: it is tried again
// at the next sweep. Only the store failing to delete the row is an
// error.
func (n *Runtime) remindDue(ctx context.Context, s storage.ScheduledSend, r *pb.StarredEntry) (done bool, err error) {
	sctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	due := &pb.ReminderDue{User: s.User, Conv: r.Conv, Seq: r.Seq, DueMs: r.RemindAtMs}
	msgs, err := n.History(sctx, &pb.GetHistory{Conv: r.Conv, User: s.User, FromSeq: r.Seq, ToSeq: r.Seq, Limit: 1})
	switch code := CodeOf(err); {
	case err == nil && (len(msgs) != 1 || msgs[0].Seq != r.Seq || msgs[0].Recalled), code == pb.Code_NOT_MEMBER, code == pb.Code_NOT_FOUND:
		due.Gone = true // recalled, cleared, expired, or the user left
	case err == nil:
		if n.push != nil && n.applyNewestEdit(sctx, s.User, r.Conv, msgs[0]) == nil {
			var words push.Words
			due.Text, words = messagePreview(msgs[0], n.push.preview)
			due.LocKey, due.LocArgs = words.Key, words.Args
		}
	}
	if err == nil || due.Gone {
		var res any
		if res, err = n.request(sctx, KindUser, s.User, due); err == nil {
			err = fromPB(res.(*pb.ReminderDueResponse).Error)
		}
	}
	switch code := CodeOf(err); {
	case err == nil && due.Gone:
		starReminders.WithLabelValues("gone").Inc()
	case err == nil:
		starReminders.WithLabelValues("told").Inc()
	case ctx.Err() != nil:
		return false, nil // the node stops: the next sweep tells it
	case refusedForNow(code) && time.Since(s.DueAt) < scheduleGiveUp:
		starReminders.WithLabelValues("retried").Inc()
		return false, nil
	default:
		n.log.Info("a reminder on a starred message was refused when due", "user", s.User, "conv", r.Conv, "seq", r.Seq, "err", err)
		starReminders.WithLabelValues("dropped").Inc()
	}
	return true, n.deleteScheduled(ctx, s)
}

// reminderDue takes the due reminder off its starred entry, if the entry
// still holds it, and tells the user (above).
func (u *user) reminderDue(ctx actor.Context, m *pb.ReminderDue) {
	bg := context.Background()
	l, e := loadStarred(bg, u.rt.store, u.id)
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.ReminderDueResponse{Error: e})
		return
	}
	i := slices.IndexFunc(l.Entries, func(s *pb.StarredEntry) bool {
		return s.Conv == m.Conv && s.Seq == m.Seq && s.RemindAtMs == m.DueMs
	})
	if i < 0 {
		respond(ctx, ctx.Sender(), &pb.ReminderDueResponse{}) // moved, taken away or unstarred since
		return
	}
	l.Entries[i].RemindAtMs = 0
	if err := saveRow(bg, u.rt.store, starredKey(u.id), l); err != nil {
		respond(ctx, ctx.Sender(), &pb.ReminderDueResponse{Error: storeErr(err)})
		return
	}
	switch {
	case m.Gone || u.suspendedForPush():
		u.listChanged(pb.ListsUpdate_STARRED, "")
	case u.online():
		u.pushAll(&pb.Push{User: u.id, Event: &pb.Push_Lists{Lists: &pb.ListsUpdate{List: pb.ListsUpdate_REMINDER, Conv: m.Conv, Seq: m.Seq}}}, "")
	case u.rt.push != nil:
		n := push.Notification{ID: fmt.Sprintf("reminder:%s:%d:%d", m.Conv, m.Seq, m.DueMs), Kind: push.KindReminder,
			User: u.id, Conv: m.Conv, Seq: m.Seq, Text: m.Text, LocKey: m.LocKey, LocArgs: m.LocArgs, Badge: int(u.totalUnread())}
		if u.hidesPreviews() || m.Text == "" { // a card's has no text to show
			n.Say(push.Say(push.KeyReminder))
		}
		u.rt.push.d.Enqueue(n)
	}
	respond(ctx, ctx.Sender(), &pb.ReminderDueResponse{})
}
