package desk

import (
	"context"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/storage"
)

// An unanswered session (Config.AnswerTimeout): the agent a waiting
// customer was given to writes nothing in the conversation within the
// timeout. The session goes back to its queue, in its place by the time it
// first waited, and the agent is set away, so a customer is never left
// with an agent who stepped out without going offline (who drops is
// agent_drop.go's). The thread looks at the conversation once, when the
// time is up; the desk does not follow the agents' messages otherwise.

var unansweredSessions = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_desk_unanswered_total",
	Help: "Sessions given back to their queue because the agent they were given to wrote nothing within the answer timeout (docs/DESK.md, Unanswered sessions).",
}, []string{"queue"})

func init() { prometheus.MustRegister(unansweredSessions) }

// answerScanPage is how many messages one store read of the check takes.
const answerScanPage = 200

// expectAnswer starts the watch over the answer of the agent the session
// was just given to by the step at seq; the caller saves.
func (t *threadGrain) expectAnswer(g *grain, seq uint64) {
	s := t.Session
	s.AnswerBy, s.AnswerAfter = 0, 0
	if d := t.answerTimeout(g); d > 0 {
		s.AnswerBy, s.AnswerAfter = nowMs()+d.Milliseconds(), seq
	}
}

// answerTimeout is the session's: its line's own, else the desk's (0:
// not watched).
func (t *threadGrain) answerTimeout(g *grain) time.Duration {
	if ms := t.Session.AnswerTimeout; ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return g.d.cfg.AnswerTimeout
}

// armAnswer sets a timer for the assigned session's answer check.
func (t *threadGrain) armAnswer(g *grain, ctx actor.Context) {
	s := t.Session
	if !t.open() || s.State != StateAssigned || s.AnswerBy == 0 || t.answerArmed == s.AnswerBy {
		return
	}
	t.answerArmed = s.AnswerBy
	g.at(ctx, s.AnswerBy, "answer")
}

// answerDue is the timer's end: the check runs as an op of this grain
// ("unanswered"), so a step that fails half-way restarts the grain from
// its stored state as any op's does. answerArmed stays set while the
// check is asked (retried by askUnanswered, not by every later op).
func (t *threadGrain) answerDue(g *grain, ctx actor.Context, armed string) {
	s := t.Session
	if armed != strconv.FormatInt(t.answerArmed, 10) || !t.open() || s.State != StateAssigned || s.AnswerBy == 0 {
		return // a timer for an older deadline, or the session moved on
	}
	if nowMs() < s.AnswerBy {
		t.answerArmed = 0
		t.armAnswer(g, ctx)
		return
	}
	g.d.askUnanswered(g.id, requeue{Session: s.ID, Agent: s.Agent, Token: s.Token}, answerRetries)
}

// retryAnswer asks again for a check whose retries ran out (the store was
// down for long): the thread's inactivity timer calls it, so such a
// session waits at most an inactivity period.
func (t *threadGrain) retryAnswer(g *grain, ctx actor.Context) {
	if s := t.Session; t.open() && s.State == StateAssigned && s.AnswerBy != 0 && s.AnswerBy < nowMs() {
		t.answerArmed = 0
		t.armAnswer(g, ctx)
	}
}

// answerRetries bounds the retries of one failed check (a minute at the
// default offer timeout); past them the check waits for the thread's next
// activation or its inactivity timer (retryAnswer). A stopped node stops
// asking.
const answerRetries = 12

// askUnanswered asks thread to check its session's answer (r: the
// assignment), again an offer timeout after a failure, at most retries
// times: through the cluster, so a thread that failed and stopped is
// activated again (its activation sets the timer again too; the check is
// idempotent).
func (d *Desk) askUnanswered(thread string, r requeue, retries int) {
	d.tell(KindThread, thread, "unanswered", r, func(_ []byte, err error) {
		if err != nil && retries > 0 {
			resends.WithLabelValues("unanswered").Inc()
			d.log.Warn("unanswered session check failed; retrying", "session", r.Session, "err", err)
			time.AfterFunc(d.cfg.OfferTimeout, func() { d.askUnanswered(thread, r, retries-1) })
		}
	})
}

// unanswered gives the session back to its queue if its agent (r, the
// assignment the timer was set for) has not written since the step that
// gave it, and sets the agent away.
func (t *threadGrain) unanswered(g *grain, ctx actor.Context, r requeue) (any, error) {
	s := t.Session
	if !t.open() || s.ID != r.Session || s.State != StateAssigned || s.Agent != r.Agent || s.Token != r.Token ||
		s.AnswerBy == 0 || s.Closing != nil {
		return nil, nil // moved on meanwhile (an older assignment's check)
	}
	if nowMs() < s.AnswerBy {
		t.answerArmed = 0 // not due yet: the deferred arm sets the timer again
		return nil, nil
	}
	answered, err := t.agentWrote(g, s.Agent, s.AnswerAfter)
	if err != nil {
		return nil, err
	}
	if answered {
		s.AnswerBy, s.AnswerAfter = 0, 0
		return nil, g.save(ctx)
	}
	agent, queue := s.Agent, s.Queue
	// The agent lets go of it and takes no new sessions first, so that
	// whoever sees the step finds the agent away already. A step that
	// fails after it is tried again (the agent's side is idempotent); the
	// agent holds nothing meanwhile, which the queue's offers respect.
	cctx, cancel := context.WithTimeout(context.Background(), g.d.rt.Config().RequestTimeout)
	defer cancel()
	if err := g.d.call(cctx, KindAgent, agent, "unanswered", offer{Session: s.ID, Token: r.Token}, nil); err != nil {
		return nil, err
	}
	step := map[string]any{"desk": analytics.DeskRequeue, "agent": agent, "reason": analytics.RequeueUnanswered, "answer_timeout_ms": t.answerTimeout(g).Milliseconds()}
	if err := t.record(g, System, step, nil, nil, []string{agent}); err != nil {
		return nil, err
	}
	s.Agent = ""
	spot, err := t.queue(g, queue, s.Since, "")
	if err != nil {
		return nil, err
	}
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	unansweredSessions.WithLabelValues(queue).Inc()
	g.d.event(Event{Kind: "unanswered", Queue: queue, Session: s.ID, Agent: agent})
	g.d.event(Event{Kind: "unassign", Session: s.ID, Agent: agent})
	return t.info(g, spot), nil
}

// agentWrote says whether agent sent a message (a text or a card) in the
// thread's conversation after seq.
func (t *threadGrain) agentWrote(g *grain, agent string, after uint64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	for from := after + 1; ; {
		msgs, err := g.d.store().ListMessages(ctx, t.Conv, from, 0, storage.OldestFirst, answerScanPage) // 0: no upper bound
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			if m.Sender == agent && m.Kind.Content() {
				return true, nil
			}
		}
		if len(msgs) < answerScanPage {
			return false, nil
		}
		from = msgs[len(msgs)-1].Seq + 1
	}
}

// unanswered is the agent's side: it lets go of the session (this
// assignment's, o.Token) and, when online, goes away.
func (a *agentGrain) unanswered(g *grain, ctx actor.Context, o offer) (any, error) {
	h, ok := a.Held[o.Session]
	held := ok && h.Token == o.Token
	away := a.Status == Online
	if !held && !away {
		return nil, nil
	}
	if held {
		delete(a.Held, o.Session)
	}
	if away {
		a.setStatus(Away, ByDesk)
	}
	a.Version++
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	if held {
		g.d.event(Event{Kind: "release", Session: o.Session, Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
	}
	if away {
		g.d.log.Info("agent set away: a session given to it went unanswered", "agent", a.User, "session", o.Session)
		g.d.event(Event{Kind: "away", Session: o.Session, Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
		g.d.agentChanged(a.User, ByDesk)
	}
	a.report(g, a.queues(nil))
	return nil, nil
}
