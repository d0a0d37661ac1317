package actors

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/storage"
)

// Starred messages: a user marks messages they read to find them again
// in one list across their conversations — the address a customer gave,
// the homework, the agreed price. The list is the user's alone (nobody
// is told) and lives in the user grain as one checkpoint row, newest
// first, at most Config.MaxStarredMessages entries; it is read from the
// store at each request (stars are rare, and an idle grain keeps nothing
// of it). An entry names the message only: listing reads each through
// history's rules as the user now (a text with its newest edit's text),
// so a message recalled, expired or cleared drops out, and the entry with
// it.

func starredKey(user string) string { return "user/starred/" + user }

// loadStarred reads user's starred list (empty when there is none).
func loadStarred(ctx context.Context, store storage.Store, user string) (*pb.StarredList, *pb.Error) {
	return loadRow[pb.StarredList](ctx, store, starredKey(user))
}

func (u *user) setStarred(ctx actor.Context, m *pb.SetStarred) {
	bg := context.Background()
	l, e := loadStarred(bg, u.rt.store, u.id)
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.SetStarredResponse{Error: e})
		return
	}
	i := slices.IndexFunc(l.Entries, func(s *pb.StarredEntry) bool { return s.Conv == m.Conv && s.Seq == m.Seq })
	var hadReminder int64 // the entry's reminder before the change
	if i >= 0 {
		hadReminder = l.Entries[i].RemindAtMs
	}
	switch {
	case !m.Starred && i < 0, m.Starred && i >= 0 && hadReminder == m.RemindAtMs:
		respond(ctx, ctx.Sender(), &pb.SetStarredResponse{Count: uint32(len(l.Entries))}) // nothing changes
		return
	case !m.Starred:
		l.Entries = slices.Delete(l.Entries, i, i+1)
	case i >= 0:
		l.Entries[i].RemindAtMs = m.RemindAtMs // only the reminder changes
	case len(l.Entries) >= u.rt.cfg.MaxStarredMessages:
		respond(ctx, ctx.Sender(), &pb.SetStarredResponse{Error: pbErr(pb.Code_TOO_MANY,
			"%s keeps %d messages starred, the limit: unstar one first", u.id, len(l.Entries))})
		return
	default:
		// Entries stay newest first with distinct times, so a time is a
		// cursor to page from.
		at := time.Now().UnixMilli()
		if len(l.Entries) > 0 {
			at = max(at, l.Entries[0].AtMs+1)
		}
		l.Entries = slices.Insert(l.Entries, 0, &pb.StarredEntry{Conv: m.Conv, Seq: m.Seq, AtMs: at, RemindAtMs: m.RemindAtMs})
	}
	// The reminder's row in the schedule first: one left without its
	// entry (the save below failed) finds no reminder when due, and goes.
	if m.Starred && m.RemindAtMs > 0 {
		if e := u.scheduleReminder(bg, m.Conv, m.Seq, m.RemindAtMs); e != nil {
			respond(ctx, ctx.Sender(), &pb.SetStarredResponse{Error: e})
			return
		}
	}
	if err := saveRow(bg, u.rt.store, starredKey(u.id), l); err != nil {
		respond(ctx, ctx.Sender(), &pb.SetStarredResponse{Error: storeErr(err)})
		return
	}
	if hadReminder > 0 && (!m.Starred || m.RemindAtMs == 0) {
		u.dropReminder(bg, m.Conv, m.Seq)
	}
	u.listChanged(pb.ListsUpdate_STARRED, "")
	respond(ctx, ctx.Sender(), &pb.SetStarredResponse{Count: uint32(len(l.Entries))})
}

// listChanged tells the user's connected devices that their list changed
// (a best-effort push: one offline reads the list when it shows it); conv
// names the conversation a list is of (JOIN_REQUESTS; "" for the user's
// own lists).
func (u *user) listChanged(list pb.ListsUpdate_List, conv string) {
	u.pushAll(&pb.Push{User: u.id, Event: &pb.Push_Lists{Lists: &pb.ListsUpdate{List: list, Conv: conv}}}, "")
}

func (u *user) listStarred(ctx actor.Context, m *pb.ListStarred) {
	l, e := loadStarred(context.Background(), u.rt.store, u.id)
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.ListStarredResponse{Error: e})
		return
	}
	from := 0
	if m.BeforeMs > 0 {
		from = slices.IndexFunc(l.Entries, func(s *pb.StarredEntry) bool { return s.AtMs < m.BeforeMs })
		if from < 0 {
			from = len(l.Entries)
		}
	}
	to := min(len(l.Entries), from+int(m.Limit))
	respond(ctx, ctx.Sender(), &pb.ListStarredResponse{Entries: l.Entries[from:to], More: to < len(l.Entries)})
}

// Star stars (or unstars) message seq of conv for user, who must read
// it (history's rules) when starring: a text, a card, a poll or a file,
// not an edit, an update or an annotation. It answers how many messages
// user keeps starred. Starring a starred message takes its reminder
// away (Remind).
func (n *Runtime) Star(ctx context.Context, user, conv string, seq uint64, starred bool) (int, error) {
	if err := n.checkStar(ctx, user, conv, seq, starred); err != nil {
		return 0, err
	}
	return n.setStarred(ctx, &pb.SetStarred{User: user, Conv: conv, Seq: seq, Starred: starred})
}

// checkStar checks a star: ids, and a message user reads and may star.
func (n *Runtime) checkStar(ctx context.Context, user, conv string, seq uint64, starred bool) error {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return err
	}
	if seq == 0 {
		return invalid("star names a message's seq")
	}
	if starred {
		msgs, err := n.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: seq, ToSeq: seq, Limit: 1})
		if err != nil {
			return err
		}
		if len(msgs) != 1 || msgs[0].Seq != seq || msgs[0].Recalled {
			return fromPB(pbErr(pb.Code_NOT_FOUND, "no message %d of %s to star", seq, conv))
		}
		if !starrable(msgs[0]) {
			return invalid("message %d of %s is a %v: a text, a card, a poll or a file is starred", seq, conv, msgs[0].Kind)
		}
	}
	return nil
}

func (n *Runtime) setStarred(ctx context.Context, m *pb.SetStarred) (int, error) {
	res, err := n.request(ctx, KindUser, m.User, m)
	if err != nil {
		return 0, err
	}
	r := res.(*pb.SetStarredResponse)
	return int(r.Count), fromPB(r.Error)
}

// starrable: a message of its own (not an edit, a card's update, a
// poll's close, a reaction or a vote) that holds content.
func starrable(m *pb.Message) bool {
	return storage.MessageKind(m.Kind).Content() && m.RefSeq == 0
}

// Starred lists user's starred messages starred before before (zero:
// from the newest), newest first, at most limit (0 or above
// session.MaxStarredPage: that), each as user reads it now. An entry
// whose message user no longer reads (recalled, expired, cleared, the
// conversation left before it) is left out and taken off the list.
func (n *Runtime) Starred(ctx context.Context, user string, before time.Time, limit int) ([]session.Starred, time.Time, error) {
	if err := checkUser(user); err != nil {
		return nil, time.Time{}, err
	}
	if limit <= 0 || limit > session.MaxStarredPage {
		limit = session.MaxStarredPage
	}
	var beforeMs int64
	if !before.IsZero() {
		beforeMs = before.UnixMilli()
	}
	res, err := n.request(ctx, KindUser, user, &pb.ListStarred{User: user, BeforeMs: beforeMs, Limit: uint32(limit)})
	if err != nil {
		return nil, time.Time{}, err
	}
	r := res.(*pb.ListStarredResponse)
	if r.Error != nil {
		return nil, time.Time{}, fromPB(r.Error)
	}
	out := make([]session.Starred, 0, len(r.Entries))
	for _, s := range r.Entries {
		msgs, err := n.History(ctx, &pb.GetHistory{Conv: s.Conv, User: user, FromSeq: s.Seq, ToSeq: s.Seq, Limit: 1})
		gone := (err == nil && (len(msgs) != 1 || msgs[0].Seq != s.Seq || msgs[0].Recalled)) ||
			CodeOf(err) == pb.Code_NOT_MEMBER || CodeOf(err) == pb.Code_NOT_FOUND
		switch {
		case gone:
			if _, err := n.Star(ctx, user, s.Conv, s.Seq, false); err != nil {
				n.log.Warn("unstar a message gone", "user", user, "conv", s.Conv, "seq", s.Seq, "err", err)
			}
			continue
		case err != nil:
			return nil, time.Time{}, err
		}
		if err := n.applyNewestEdit(ctx, user, s.Conv, msgs[0]); err != nil {
			return nil, time.Time{}, err
		}
		st := session.Starred{Message: msgs[0], StarredAt: time.UnixMilli(s.AtMs)}
		if s.RemindAtMs > 0 {
			st.RemindAt = time.UnixMilli(s.RemindAtMs)
		}
		out = append(out, st)
	}
	var next time.Time
	if r.More && len(r.Entries) > 0 {
		next = time.UnixMilli(r.Entries[len(r.Entries)-1].AtMs)
	}
	return out, next, nil
}
