package boot

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// wakeDesk finishes what a crash may have cut in the desk and wakes the
// grains whose timers and checks run only while they are active: the
// pending identity merges, the threads of open sessions (their inactivity
// close, answer timeout and overflow; they repair their queue entries and
// agents' holds) and the agents the queues saw online (their drop
// checks). A starting node runs it, and so does the first surviving
// member after others left the cluster: the grains those hosted are
// active nowhere until something touches them. Every wake is idempotent.
func wakeDesk(ctx context.Context, dk *desk.Desk, log *slog.Logger, why string) {
	wakeDeskAt(ctx, dk, log, why, slog.LevelInfo)
}

// wakeDeskAt is wakeDesk, telling what it woke at level (failures are
// warnings at any level).
func wakeDeskAt(ctx context.Context, dk *desk.Desk, log *slog.Logger, why string, level slog.Level) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if pending, err := dk.ResumeMerges(ctx); err != nil {
		log.Warn("desk: pending merges not resumed", "why", why, "err", err)
	} else if len(pending) > 0 {
		log.Log(ctx, level, "desk: resuming merges", "why", why, "pending", len(pending))
	}
	if open, err := dk.WakeOpenThreads(ctx); err != nil {
		log.Warn("desk: threads of open sessions not all woken", "why", why, "err", err)
	} else if open > 0 {
		log.Log(ctx, level, "desk: waking the threads of open sessions", "why", why, "open", open)
	}
	if n, err := dk.WakeAgents(ctx); err != nil {
		log.Warn("desk: agents not all woken", "why", why, "err", err)
	} else if n > 0 {
		log.Log(ctx, level, "desk: waking the agents the queues saw online", "why", why, "agents", n)
	}
}

// departureWakeDelay is how long after members left the first survivor
// wakes the desk: the other survivors' topologies settle first, so the
// wakes reach the grains where they now belong.
const departureWakeDelay = time.Second

// watchDepartures runs wakeDesk after members left the cluster (a crash,
// a partition), on this node if it is the first remaining member by
// address: one survivor does it. Departures during a wake bring one more
// wake after it. The first member also wakes the desk every
// desk.Config.WakeInterval, for the grains no wake reached (their store
// or member down longer than a wake's retries). It returns the function
// that stops it.
func watchDepartures(system *actor.ActorSystem, c *pcluster.Cluster, dk *desk.Desk, log *slog.Logger) (stop func()) {
	left := make(chan struct{}, 1)
	sub := system.EventStream.Subscribe(func(ev any) {
		topo, ok := ev.(*pcluster.ClusterTopology)
		if !ok || len(topo.Left) == 0 || !firstMember(system.Address(), topo.Members) {
			return
		}
		select {
		case left <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	sweep := time.NewTicker(dk.Config().WakeInterval)
	go func() {
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sweep.C:
				if firstMember(system.Address(), c.MemberList.Members().Members()) {
					wakeDeskAt(ctx, dk, log, "periodic wake", slog.LevelDebug)
				}
				continue
			case <-left:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(departureWakeDelay):
			}
			wakeDesk(ctx, dk, log, "members left the cluster")
		}
	}()
	return func() {
		system.EventStream.Unsubscribe(sub)
		cancel()
	}
}

// firstMember reports whether self is the lowest address among members.
func firstMember(self string, members []*pcluster.Member) bool {
	for _, m := range members {
		if m.Address() < self {
			return false
		}
	}
	return true
}
