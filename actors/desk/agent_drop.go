package desk

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
)

// An agent who drops loses its sessions to their queues, as one who goes
// offline does. While an agent is online or away its grain checks
// the agent's presence (the user grain's list of connected devices, the
// same lookup signals use) every DropGrace/4. Once a device has been seen
// connected (Present), an agent found without any device at every check
// for DropGrace goes offline through the ordinary path: its sessions go
// back to their queues, ahead of later arrivals. A device that reconnects
// within the grace and is connected at the next check keeps everything.
//
// Why the agent's grain asks rather than a disconnect event telling it:
// at a disconnect nothing cheap knows whether the user is an agent (only
// its desk grain does, and waking one per disconnecting user costs a
// store read and a fence write each); the check costs one in-memory
// request per online agent per DropGrace/4, and also notices a
// connection that vanished with its node, which sends no event at all.
// An agent that was never seen connected (set online through the admin
// API, taking sessions through it) is not watched for drops.

// dropCheckEvery is how often a watched agent's presence is checked.
func (d *Desk) dropCheckEvery() time.Duration {
	return max(d.cfg.DropGrace/4, 10*time.Millisecond)
}

// watch starts the presence checks of an agent that is not offline.
func (a *agentGrain) watch(g *grain, ctx actor.Context) {
	if a.Status == Offline || a.watching {
		return
	}
	a.watching = true
	g.after(ctx, g.d.dropCheckEvery(), "presence")
}

func (a *agentGrain) checkPresence(g *grain, ctx actor.Context) {
	a.watching = false
	if a.Status == Offline {
		return
	}
	defer a.watch(g, ctx)
	rctx, cancel := context.WithTimeout(context.Background(), g.d.rt.Config().RequestTimeout)
	p, err := g.d.rt.OnlineDevices(rctx, a.User)
	cancel()
	if err != nil {
		// Unknown is not absent: an unanswered check changes nothing.
		g.d.log.Debug("agent presence check failed", "agent", a.User, "err", err)
		return
	}
	if len(p.GetDevices()) > 0 {
		a.missingSince = time.Time{}
		if !a.Present {
			a.Present = true
			_ = g.save(ctx)
		}
		return
	}
	if !a.Present {
		return
	}
	now := time.Now()
	if a.missingSince.IsZero() {
		a.missingSince = now
		return
	}
	if now.Sub(a.missingSince) < g.d.cfg.DropGrace {
		return
	}
	g.d.log.Info("agent dropped: no device connected for the grace; going offline", "agent", a.User, "grace", g.d.cfg.DropGrace, "sessions", len(a.Held))
	agentDrops.Inc()
	off := Offline
	if _, err := a.set(g, ctx, AgentUpdate{User: a.User, Status: &off, By: ByDesk}); err != nil {
		g.d.log.Warn("dropped agent not set offline", "agent", a.User, "err", err)
	}
}

var agentDrops = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_desk_agent_drops_total",
	Help: "Agents set offline because no device of theirs was connected for the drop grace.",
})

func init() { prometheus.MustRegister(agentDrops) }
