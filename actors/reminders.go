package actors

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/push"
)

// Unread reminders: the e-mail a marketplace sends a seller who has not
// read a buyer's question for a quarter of an hour. A message from
// someone else that is still unread ReminderConfig.After after it
// arrived, while none of the user's devices is online, becomes one
// reminder for its conversation, posted to the operator's servers (a
// signed webhook), which reach the user by mail or text. No second one
// for that conversation until the user reads it.
//
// The node keeps the schedule in memory, beside the user grains it
// hosts (not in them: an idle grain passivates long before a reminder is
// due): a reminder due when its node stops is not sent, and one whose
// user grain moved to another node may come twice. Receivers dedupe on
// the id.

// ReminderConfig turns unread reminders on (After and Gateway set).
type ReminderConfig struct {
	// After: how long a message stays unread before its reminder (0: off).
	After time.Duration
	// Gateway receives the reminders (push.Notification of Kind
	// "unread_reminder", no tokens): a push.Webhook to the operator.
	Gateway push.Gateway
	// MaxPending bounds the conversations with a reminder scheduled or
	// sent and not read since (default 100,000). At the bound the older
	// half of those reminded is forgotten (their next message may have
	// a reminder again); with only scheduled ones, a new one is not
	// scheduled (counted as dropped).
	MaxPending int
	// PreviewBytes bounds the newest message's text a reminder carries
	// (default 120; negative: none).
	PreviewBytes int
	// QueueSize bounds the reminders due and waiting for a sender
	// (default 1,024); past it one is dropped (counted).
	QueueSize int
}

// Defaults of ReminderConfig and the reminder sender's fixed bounds.
const (
	DefaultReminderMaxPending = 100_000
	DefaultReminderQueue      = 1024
	reminderWorkers           = 2
)

var reminderResults = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_unread_reminders_total",
	Help: "Unread reminders by outcome: sent, failed (the gateway or the check failed), read (read or seen online in time), dropped (over the pending bound or the sender's queue).",
}, []string{"result"})

func init() { prometheus.MustRegister(reminderResults) }

// reminderKey names a conversation of a user.
type reminderKey struct{ user, conv string }

// dueReminder is a reminder waiting for its time.
type dueReminder struct {
	first, newest uint64     // the unread messages it covers, by seq
	from, text    string     // the newest one's sender and preview
	words         push.Words // the preview's key, where it is the node's words
	mention       bool
	timer         *time.Timer
}

// remindedAt is a reminder sent: up to which seq, and when.
type remindedAt struct {
	seq uint64
	at  time.Time
}

// reminders is the node's schedule of unread reminders and their sender.
type reminders struct {
	rt  *Runtime
	cfg ReminderConfig

	mu       sync.Mutex
	due      map[reminderKey]*dueReminder
	reminded map[reminderKey]remindedAt // reminded, not read since
	stopped  bool

	q      chan push.Notification
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startReminders starts the reminder sender if configured; nil when off.
func startReminders(rt *Runtime) *reminders {
	cfg := rt.cfg.Reminders
	if cfg.After <= 0 || cfg.Gateway == nil {
		return nil
	}
	r := &reminders{rt: rt, cfg: cfg, due: map[reminderKey]*dueReminder{}, reminded: map[reminderKey]remindedAt{},
		q: make(chan push.Notification, cfg.QueueSize)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for range reminderWorkers {
		r.wg.Add(1)
		go r.send()
	}
	return r
}

func (r *reminders) stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.stopped = true
	for _, d := range r.due {
		d.timer.Stop()
	}
	clear(r.due)
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// schedule notes an unread message from another in a conversation: the
// first one since the user last read it sets when its reminder is due.
func (r *reminders) schedule(k reminderKey, seq uint64, from, text string, words push.Words, mention bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if d := r.due[k]; d != nil {
		if seq > d.newest {
			d.newest, d.from, d.text, d.words = seq, from, text, words
		}
		d.mention = d.mention || mention
		return
	}
	if _, ok := r.reminded[k]; ok {
		return // one reminder until the user reads
	}
	if len(r.due)+len(r.reminded) >= r.cfg.MaxPending {
		r.forgetOlderHalf()
	}
	if len(r.due)+len(r.reminded) >= r.cfg.MaxPending {
		reminderResults.WithLabelValues("dropped").Inc()
		return
	}
	d := &dueReminder{first: seq, newest: seq, from: from, text: text, words: words, mention: mention}
	d.timer = time.AfterFunc(r.cfg.After, func() { r.fire(k, d) })
	r.due[k] = d
}

// read notes that the user read the conversation up to seq: a reminder
// of what that covers is no longer due, and the next unread message may
// have one again.
func (r *reminders) read(k reminderKey, seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.due[k]; d != nil && seq >= d.first {
		d.timer.Stop()
		delete(r.due, k)
	}
	if sent, ok := r.reminded[k]; ok && seq >= sent.seq {
		delete(r.reminded, k)
	}
}

// forgetOlderHalf forgets the older half of the conversations reminded
// and not read since (users who went away for good would otherwise fill
// the bound): each may have a reminder again at its next message.
// Called with mu held, once per MaxPending/2 reminders at most.
func (r *reminders) forgetOlderHalf() {
	if len(r.reminded) == 0 {
		return
	}
	ats := make([]time.Time, 0, len(r.reminded))
	for _, sent := range r.reminded {
		ats = append(ats, sent.at)
	}
	slices.SortFunc(ats, time.Time.Compare)
	cut := ats[(len(ats)-1)/2]
	for k, sent := range r.reminded {
		if !sent.at.After(cut) {
			delete(r.reminded, k)
		}
	}
}

// fire asks the user grain whether the reminder still applies and, if
// so, queues it.
func (r *reminders) fire(k reminderKey, d *dueReminder) {
	r.mu.Lock()
	if r.stopped || r.due[k] != d {
		r.mu.Unlock()
		return
	}
	r.wg.Add(1) // before stop's Wait: stopped is set under mu
	defer r.wg.Done()
	delete(r.due, k)
	// Reminded before asking, so that a read while the grain answers
	// clears it rather than being missed.
	sent := remindedAt{seq: d.newest, at: time.Now()}
	r.reminded[k] = sent
	r.mu.Unlock()
	unmark := func() {
		r.mu.Lock()
		if r.reminded[k] == sent {
			delete(r.reminded, k)
		}
		r.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.rt.cfg.RequestTimeout)
	defer cancel()
	res, err := r.rt.request(ctx, KindUser, k.user, &pb.CheckReminder{Conv: k.conv, Seq: d.first, Mention: d.mention})
	var check *pb.CheckReminderResponse
	if err == nil {
		check = res.(*pb.CheckReminderResponse)
		err = fromPB(check.Error)
	}
	switch {
	case err != nil && r.ctx.Err() != nil:
		return // the node stops
	case err != nil:
		unmark()
		reminderResults.WithLabelValues("failed").Inc()
		r.rt.log.Warn("unread reminder not checked", "user", k.user, "conv", k.conv, "err", err)
		return
	case !check.Remind:
		unmark()
		reminderResults.WithLabelValues("read").Inc()
		return
	}
	n := push.Notification{ID: fmt.Sprintf("reminder:%s:%s:%d", k.user, k.conv, d.first), Kind: push.KindUnreadReminder, User: k.user, Conv: k.conv,
		Seq: d.newest, Count: int(check.Unread), Badge: int(check.TotalUnread), From: d.from, Text: d.text, LocKey: d.words.Key, LocArgs: d.words.Args, Tokens: []string{}}
	select {
	case r.q <- n:
	default:
		reminderResults.WithLabelValues("dropped").Inc()
	}
}

// send posts queued reminders to the gateway (which retries).
func (r *reminders) send() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case n := <-r.q:
			if _, err := r.cfg.Gateway.Send(r.ctx, n); err != nil {
				reminderResults.WithLabelValues("failed").Inc()
				r.rt.log.Warn("unread reminder not sent", "id", n.ID, "user", n.User, "conv", n.Conv, "err", err)
				continue
			}
			reminderResults.WithLabelValues("sent").Inc()
		}
	}
}

// remindLater is the user grain's hook, called for each Deliver: new
// messages from others that the user has not read, in a conversation it
// did not mute (or that mention it), are scheduled for a reminder.
func (u *user) remindLater(conv string, uc *userConv, msgs []*pb.Message) {
	r := u.rt.reminders
	if r == nil {
		return
	}
	for _, m := range msgs {
		mention := mentions(m, u.id)
		switch {
		case m.Sender == u.id || m.Recalled || m.Seq <= uc.readSeq || !uc.member.Sees(m.Seq) || uc.mutedNow() && !mention:
		case pbIsNews(m):
			text, words := messagePreview(m, r.cfg.PreviewBytes)
			if u.hidesPreviews() {
				text, words = "", push.Words{}
			}
			r.schedule(reminderKey{u.id, conv}, m.Seq, m.Sender, text, words, mention)
		}
	}
}

// readForReminders is the user grain's hook for a read cursor's move.
func (u *user) readForReminders(conv string, seq uint64) {
	if r := u.rt.reminders; r != nil {
		r.read(reminderKey{u.id, conv}, seq)
	}
}

// checkReminder answers whether a due reminder still applies.
func (u *user) checkReminder(ctx actor.Context, m *pb.CheckReminder) {
	res := &pb.CheckReminderResponse{}
	uc, e := u.conv(m.Conv)
	switch {
	case e != nil:
		res.Error = e
	case u.online() || uc.readSeq >= m.Seq || !uc.member.Active() || uc.mutedNow() && !m.Mention || u.suspendedForPush():
	default:
		res.Remind, res.Unread, res.TotalUnread = true, uc.unreadCount(), u.totalUnread()
	}
	respond(ctx, ctx.Sender(), res)
}
