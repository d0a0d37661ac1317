package desk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/storage"
)

var (
	queueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_desk_queue_wait_seconds",
		Help:    "Time from a session entering a queue to its assignment to an agent.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800},
	}, []string{"queue"})
	abandoned = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_desk_abandoned_total",
		Help: "Sessions closed while waiting in a queue.",
	}, []string{"queue"})
	overflowed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_desk_overflowed_total",
		Help: "Sessions that waited their route step's time in a queue and moved on to the next step (docs/DESK.md, Overflow).",
	}, []string{"queue"})
	fencesTaken = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_desk_fences_total",
		Help: "Desk grain activations that took their checkpoint's fence.",
	})
	fencedWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_desk_fenced_writes_total",
		Help: "Desk grain state writes refused because a newer activation took the fence (the stale grain stops).",
	})
	afterHoursSessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_desk_after_hours_sessions_total",
		Help: "Sessions that started while their business line was closed (docs/DESK.md, Business hours).",
	}, []string{"line"})
	// The waiting sessions of each queue, and when the oldest began to
	// wait, from the node where the queue's grain is active (a grain that
	// moves drops its series here and sets them there).
	waitingNow = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_desk_waiting",
		Help: "Sessions waiting in a queue now.",
	}, []string{"queue"})
	oldestWaiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_desk_oldest_waiting_since_seconds",
		Help: "When the longest-waiting session of a queue began to wait (Unix seconds; no series while none waits): time() minus it is the longest wait now.",
	}, []string{"queue"})
	// The earliest first-response due time among a queue's waiting
	// sessions that no agent has had: it counts the line's opening hours
	// and target, so "time() past it" means a customer waits past the
	// promise, and never fires overnight.
	nextDue = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_desk_first_response_due_seconds",
		Help: "The earliest first-response due time among a queue's waiting sessions no agent has had (Unix seconds; no series while none has one): time() past it means a customer waits past the line's target.",
	}, []string{"queue"})
	// A queue's agents by status and the slots its online agents have
	// free (capacity less sessions held and slots in wrap-up), as the
	// queue's view knows them: the wallboard's "who can take the next
	// customer".
	agentsNow = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_desk_agents",
		Help: "Agents of a queue by status (online, away, offline), as the queue knows them.",
	}, []string{"queue", "status"})
	freeSlots = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_desk_free_slots",
		Help: "Sessions a queue's online agents could take now: capacity less their load (sessions held and slots in wrap-up).",
	}, []string{"queue"})
	resends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_desk_resends_total",
		Help: "Messages between desk grains sent again because the first went unanswered (a crash repair under way): ensure, requeue, held, message, reasons, unanswered, and wake (a grain a node's start-up or a member's departure could not wake at first).",
	}, []string{"op"})
	grainsWoken = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_desk_woken_total",
		Help: "Desk grains woken by a node's start-up or a member's departure, by kind (desk-thread: threads of open sessions; desk-agent: agents the queues saw online).",
	}, []string{"kind"})
)

func init() {
	prometheus.MustRegister(queueWait, abandoned, overflowed, afterHoursSessions, fencesTaken, fencedWrites, resends, grainsWoken, waitingNow, oldestWaiting, nextDue, agentsNow, freeSlots)
}

func observeAssigned(queue string, waitMs int64) {
	queueWait.WithLabelValues(queue).Observe(float64(waitMs) / 1000)
}

// deskBody is the part of a desk system message the counts read.
type deskBody struct {
	Desk      string `json:"desk"`
	Session   string `json:"session"`
	Queue     string `json:"queue"`
	WaitMs    int64  `json:"wait_ms"`
	Abandoned bool   `json:"abandoned"`
}

// Recount derives every queue's counts from the stored log (the desk
// system messages of the service conversations): the batch side of the
// queue grains' live QueueStats, which it equals when no grain crashed
// between recording a step and counting it.
func Recount(ctx context.Context, store storage.Store) (map[string]QueueStats, error) {
	out := map[string]QueueStats{}
	cursor := ""
	for {
		convs, next, err := store.ListConversations(ctx, cursor, 500)
		if err != nil {
			return nil, fmt.Errorf("recount: list conversations: %w", err)
		}
		for _, c := range convs {
			if c.Kind != storage.KindService {
				continue
			}
			if err := recountConv(ctx, store, c.ID, out); err != nil {
				return nil, err
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func recountConv(ctx context.Context, store storage.Store, conv string, out map[string]QueueStats) error {
	from := uint64(1)
	// A thread that recorded "assigned" and crashed before saving its
	// state assigns the same entry again (a second "assigned" with no
	// "queued" between); the queue counted only the answer it got, the
	// last one. last holds each session's counted assignment until the
	// session is queued again.
	type counted struct {
		queue string
		wait  int64
	}
	last := map[string]counted{}
	// Likewise a close recorded twice (the thread crashed after recording
	// it, before saving): a session is abandoned once. An abandoning close
	// or an overflow after an assignment with no "queued" between ends an
	// assignment that took no effect (every way back to waiting records
	// "queued"): the thread recorded it and crashed before saving it, and
	// the session went on waiting. The queue never counted it; neither
	// does the recount.
	gone := map[string]bool{}
	// And an overflow recorded twice: the same queue left twice in a row.
	overflowedFrom := map[string]string{}
	// uncountCut takes back the session's counted assignment, if any, at a
	// step only a waiting session takes (an abandoning close, an
	// overflow): that assignment took no effect. It returns queue's counts.
	uncountCut := func(session, queue string) QueueStats {
		if cut, ok := last[session]; ok {
			cs := out[cut.queue]
			cs.Assigned--
			cs.WaitMsSum -= cut.wait
			out[cut.queue] = cs
			delete(last, session)
		}
		return out[queue]
	}
	for {
		msgs, err := store.ListMessages(ctx, conv, from, 0, storage.OldestFirst, 1000)
		if err != nil {
			return fmt.Errorf("recount %s: %w", conv, err)
		}
		for _, m := range msgs {
			var b deskBody
			if m.Kind != storage.MsgSystem || json.Unmarshal(m.Body, &b) != nil {
				continue
			}
			if b.Desk == "queued" {
				delete(last, b.Session)
				continue
			}
			if prev, ok := last[b.Session]; ok && b.Desk == "assigned" {
				ps := out[prev.queue]
				ps.Assigned--
				ps.WaitMsSum -= prev.wait
				out[prev.queue] = ps
			}
			st := out[b.Queue]
			switch {
			case b.Desk == "assigned":
				st.Assigned++
				st.WaitMsSum += b.WaitMs
				last[b.Session] = counted{b.Queue, b.WaitMs}
			case b.Desk == "close" && b.Abandoned && !gone[b.Session]:
				st = uncountCut(b.Session, b.Queue)
				st.Abandoned++
				gone[b.Session] = true
			case b.Desk == "overflow" && overflowedFrom[b.Session] != b.Queue:
				st = uncountCut(b.Session, b.Queue)
				st.Overflowed++
				overflowedFrom[b.Session] = b.Queue
			default:
				continue
			}
			out[b.Queue] = st
		}
		if len(msgs) < 1000 {
			return nil
		}
		from = msgs[len(msgs)-1].Seq + 1
	}
}
