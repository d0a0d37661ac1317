package actors

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Away messages: a seller on holiday, a tutor off for the week sets a
// text that answers whoever writes to them meanwhile. While it holds, the
// first message from the other member in each of the user's direct
// conversations is answered with it, once per setting: the user grain
// sees the message arrive (its Deliver) and asks the conversation's grain
// to post the text as a message of the user's, flagged as an automatic
// reply (storage.FlagAutoReply) and with the system's sender role, so it
// answers nothing in the response-time metrics and moves nobody's read
// cursor. The conversation grain dedupes it like a resend (its client
// message id names the setting; dedupe keys are per sender, so only the
// away user's own client could ever collide with it), so a grain that
// moved or restarted does not answer twice.
//
// The setting is one checkpoint row, read by the grain the first time a
// direct message reaches it (an idle grain holds nothing of it).

func awayKey(user string) string { return "user/away/" + user }

// userAway is the user grain's copy of its away message (msg nil: none)
// and the conversations it answered in this activation.
type userAway struct {
	msg  *pb.AwayMessage
	told map[string]struct{}
}

// awayClientMsgID is the client message id of the automatic reply to the
// setting made at sinceMs.
func awayClientMsgID(sinceMs int64) string {
	return "switchboard:away:" + strconv.FormatInt(sinceMs, 10)
}

// loadAway reads the grain's away message once per activation. A read
// that fails is not tried again in it (no read and no warning per
// message while the store refuses): the user is taken as not away until
// the grain activates again or the user sets the message.
func (u *user) loadAway() *userAway {
	if u.away == nil {
		u.away = &userAway{}
		a, e := loadRow[pb.AwayMessage](context.Background(), u.rt.store, awayKey(u.id))
		switch {
		case e != nil:
			u.rt.log.Warn("away message not read; no automatic replies in this activation", "user", u.id, "err", e.Message)
		case a.Text != "":
			u.away.msg = a
		}
	}
	return u.away
}

// answerWhileAway posts the away message in the direct conversation conv
// when fresh holds a message from the other member, once per conversation
// and setting.
func (u *user) answerWhileAway(conv string, uc *userConv, fresh []*pb.Message) {
	if uc.kind != storage.KindDirect || !uc.member.Active() {
		return
	}
	if !slices.ContainsFunc(fresh, func(m *pb.Message) bool {
		return m.Sender != u.id && !m.AutoReply && pbIsNews(m) && (m.Kind == pb.MessageKind_NORMAL || m.Kind == pb.MessageKind_CARD)
	}) {
		return
	}
	a := u.loadAway()
	if a.msg == nil || a.msg.UntilMs != 0 && time.Now().UnixMilli() >= a.msg.UntilMs {
		return
	}
	if _, ok := a.told[conv]; ok {
		return
	}
	if a.told == nil {
		a.told = map[string]struct{}{}
	}
	a.told[conv] = struct{}{}
	rt, req := u.rt, &pb.PostAway{Conv: conv, User: u.id, Away: a.msg}
	go func() { // off the mailbox: the conversation's grain may be elsewhere
		ctx, cancel := context.WithTimeout(context.Background(), rt.cfg.RequestTimeout)
		defer cancel()
		res, err := rt.request(ctx, KindConversation, conv, req)
		if err == nil {
			err = fromPB(res.(*pb.PostAwayResponse).Error)
		}
		if err != nil {
			rt.log.Debug("away message not posted", "user", req.User, "conv", conv, "err", err)
		}
	}()
}

func (u *user) setAway(ctx actor.Context, m *pb.SetAway) {
	if m.Text == nil { // a read: from the store, so that one that fails says so
		a, e := loadRow[pb.AwayMessage](context.Background(), u.rt.store, awayKey(u.id))
		if e == nil && a.Text == "" {
			a = nil
		}
		respond(ctx, ctx.Sender(), &pb.SetAwayResponse{Error: e, Away: a})
		return
	}
	a := u.loadAway()
	next := &pb.AwayMessage{}
	if *m.Text != "" {
		since := time.Now().UnixMilli()
		if a.msg != nil {
			since = max(since, a.msg.SinceMs+1) // a new setting answers again
		}
		next = &pb.AwayMessage{Text: *m.Text, SinceMs: since, UntilMs: m.UntilMs}
	}
	if err := saveRow(context.Background(), u.rt.store, awayKey(u.id), next); err != nil {
		respond(ctx, ctx.Sender(), &pb.SetAwayResponse{Error: storeErr(err)})
		return
	}
	u.away = &userAway{}
	if next.Text != "" {
		u.away.msg = next
	}
	u.listChanged(pb.ListsUpdate_AWAY, "")
	respond(ctx, ctx.Sender(), &pb.SetAwayResponse{Away: u.away.msg})
}

// plainText: t is UTF-8 without control characters but line breaks and
// tabs (an away message, a note to a group's managers).
func plainText(t string) bool {
	return utf8.ValidString(t) && strings.IndexFunc(t, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) < 0
}

// SetAway sets user's away message (text non-empty: at most
// Config.MaxAwayBytes of UTF-8 without control characters but line
// breaks and tabs, surrounding white space trimmed; ending at until, zero
// for until cleared, at most Config.MaxAwayFor ahead), clears it (text
// empty) or reads it (text nil). The answer is nil when none is set.
func (n *Runtime) SetAway(ctx context.Context, user string, text *string, until time.Time) (*pb.AwayMessage, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	req := &pb.SetAway{User: user}
	if text != nil {
		t := strings.TrimSpace(*text)
		switch now := time.Now(); {
		case len(t) > n.cfg.MaxAwayBytes:
			return nil, fromPB(pbErr(pb.Code_TOO_LARGE, "an away message of %d bytes, limit %d", len(t), n.cfg.MaxAwayBytes))
		case !plainText(t):
			return nil, invalid("an away message is UTF-8 text without control characters")
		case t == "" && *text != "":
			return nil, invalid("an away message of white space only: an empty text clears it")
		case t == "" && !until.IsZero():
			return nil, invalid("clearing the away message takes no end")
		case !until.IsZero() && !until.After(now):
			return nil, invalid("an away message ending at %s, in the past", until.UTC().Format(time.RFC3339))
		case until.Sub(now) > n.cfg.MaxAwayFor:
			return nil, invalid("an away message ending at %s: at most %v ahead", until.UTC().Format(time.RFC3339), n.cfg.MaxAwayFor)
		}
		req.Text, req.UntilMs = &t, millis(until)
	}
	res, err := n.request(ctx, KindUser, user, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SetAwayResponse)
	return r.Away, fromPB(r.Error)
}

// postAway posts user's away message in this direct conversation as an
// automatic reply of theirs, once per setting; not while either member
// blocks the other.
func (c *conversation) postAway(ctx actor.Context, m *pb.PostAway) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) { respond(ctx, sender, &pb.PostAwayResponse{Error: e}) }
	if !c.ready(reply) {
		return
	}
	mem := c.members[m.User]
	switch {
	case c.kind != storage.KindDirect || mem == nil || !mem.Active() || m.Away.GetText() == "":
		reply(pbErr(pb.Code_INVALID, "an away message is posted by a member of a direct conversation"))
		return
	case mem.Muted || c.blocksPeer(m.User):
		reply(nil) // a block silences it, as it does the user
		return
	}
	id := awayClientMsgID(m.Away.SinceMs)
	if _, ok := c.dedupe[dedupeKey{m.User, id}]; ok {
		reply(nil) // answered already for this setting
		return
	}
	now := time.Now()
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), ClientMsgID: id, Sender: m.User, SenderRole: storage.SenderSystem,
		Kind: storage.MsgNormal, Body: []byte(m.Away.Text), Flags: storage.FlagAutoReply, ServerTS: now}
	c.enqueue(ctx, &ev, reply)
}
