package desk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// checker replays the desk's decisions (Config.OnEvent) and records every
// broken invariant: a session with two agents, an agent over capacity, a
// queue offering anything but its head.
type checker struct {
	mu       sync.Mutex
	capacity int
	load     map[string]map[string]bool // agent -> sessions held
	agentOf  map[string]string          // session -> assigned agent
	waiting  map[string][]waitingEntry  // queue -> replayed waiting list
	offers   int
	// unanswered counts the sessions given back for want of an answer.
	unanswered int
	errs       []string
	// history is every event of each session, in the order heard, for
	// the failure messages.
	history map[string][]string
	crashed time.Time
}

type waitingEntry struct {
	session string
	since   int64
}

func newChecker(capacity int) *checker {
	return &checker{capacity: capacity, load: map[string]map[string]bool{}, agentOf: map[string]string{}, waiting: map[string][]waitingEntry{}, history: map[string][]string{}}
}

// historyOf is what the checker heard of session.
func (c *checker) historyOf(session string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("crash at %s; events of %s: %v", c.crashed.Format("15:04:05.000"), session, c.history[session])
}

func (c *checker) fail(format string, args ...any) {
	if len(c.errs) < 20 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

func (c *checker) on(e desk.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.history[e.Session] = append(c.history[e.Session], fmt.Sprintf("%s %s%s%s", time.Now().Format("15:04:05.000"), e.Kind, " "+e.Agent, " "+e.Queue))
	switch e.Kind {
	case "hold":
		if c.load[e.Agent] == nil {
			c.load[e.Agent] = map[string]bool{}
		}
		c.load[e.Agent][e.Session] = true
		if n := len(c.load[e.Agent]); n > c.capacity || e.Load > e.Capacity {
			c.fail("%s holds %d sessions (reported %d of %d), capacity %d, on taking %s (crash at %s; its events: %v)", e.Agent, n, e.Load, e.Capacity, c.capacity, e.Session, c.crashed.Format("15:04:05.000"), c.history[e.Session])
		}
	case "release":
		delete(c.load[e.Agent], e.Session)
	case "assign":
		if a, ok := c.agentOf[e.Session]; ok {
			c.fail("%s assigned to %s while %s has it", e.Session, e.Agent, a)
		}
		c.agentOf[e.Session] = e.Agent
	case "unassign":
		if c.agentOf[e.Session] != e.Agent {
			c.fail("%s unassigned from %s, but it was with %q", e.Session, e.Agent, c.agentOf[e.Session])
		}
		delete(c.agentOf, e.Session)
	case "enqueue":
		w := c.waiting[e.Queue]
		i := 0
		for i < len(w) && w[i].since <= e.Since {
			i++
		}
		c.waiting[e.Queue] = slices.Insert(w, i, waitingEntry{e.Session, e.Since})
	case "dequeue":
		c.waiting[e.Queue] = slices.DeleteFunc(c.waiting[e.Queue], func(w waitingEntry) bool { return w.session == e.Session })
	case "unanswered":
		c.unanswered++
	case "offer":
		c.offers++
		if w := c.waiting[e.Queue]; len(w) == 0 || w[0].session != e.Session {
			c.fail("queue %s offered %s, but its head is %v", e.Queue, e.Session, w[:min(len(w), 1)])
		}
	}
}

// convOf is the conversation of a session id ("CONV/N").
func convOf(session string) string { return session[:strings.LastIndex(session, "/")] }

// TestRandomizedScenario: hundreds of customers enter through three scenes
// (robot first, a skill queue, an owner agent who overflows to the skill
// queue), ten agents of capacity 3 go online, away and offline, reach out
// to customers first, transfer and close, a supervisor moves waiting sessions past their
// queues, customers close and come back, everyone talks. Throughout, every assignment decision is
// checked (see checker); at the end no session is lost, none waits while
// an agent of its queue has room, the agents' holdings and the sessions'
// agents agree, the queues' live counts equal a recount from the log, and
// the metrics grain equals a batch recomputation.
func TestRandomizedScenario(t *testing.T) { runScenario(t, false, 1) }

// TestRandomizedScenarioWithCrash is the same with the node killed (no
// graceful stop) half-way while the workers run, and a new one started on
// the same store: the invariants hold throughout, and after the restarted
// grains reconcile no session is lost or stuck.
func TestRandomizedScenarioWithCrash(t *testing.T) { runScenario(t, true, 1) }

// TestRandomizedScenarioMultiNode runs it on three nodes, the workers
// calling through any of them, and kills one half-way: its grains move to
// the two others.
func TestRandomizedScenarioMultiNode(t *testing.T) { runScenario(t, true, 3) }

// TestRandomizedScenarioTimers is the multi-node run with the desk's
// timers on: a session its agent does not answer within the answer
// timeout goes back to its queue and the agent is set away, a closed
// session keeps its agent's slot for a wrap-up, and the periodic wake
// repairs every second what the threads hold against their queues and
// agents, in the middle of their work.
func TestRandomizedScenarioTimers(t *testing.T) {
	runScenarioWith(t, true, 3, desk.Config{AnswerTimeout: desk.MinAnswerTimeout, WrapUp: 300 * time.Millisecond, WakeInterval: time.Second})
}

func runScenario(t *testing.T, crash bool, size int) { runScenarioWith(t, crash, size, desk.Config{}) }

// runScenarioWith runs the scenario on size nodes, crashing one half-way
// if crash, with the desk's timers of timers.
func runScenarioWith(t *testing.T, crash bool, size int, timers desk.Config) {
	customers, ops := 300, 2500
	if testing.Short() {
		customers, ops = 60, 400
	}
	if s := os.Getenv("DESK_SCENARIO_OPS"); s != "" {
		ops, _ = strconv.Atoi(s)
	}
	const agents, capacity, workers = 10, 3, 8
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DESK_SCENARIO_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (DESK_SCENARIO_SEED to repeat)", seed)

	chk := newChecker(capacity)
	store := openStore(t)
	cfg := timers
	cfg.OnEvent, cfg.OfferTimeout = chk.on, 2*time.Second
	fl := startFleet(t, store, cfg, size)
	n := fl.pick(nil)
	d := n.Desk
	// epoch counts crashes (odd while one is under way): an operation that
	// overlapped one may fail in any way.
	var epoch atomic.Int64
	var done, reached atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	for _, sc := range []desk.Scene{
		{Name: "listing", Line: "cars", Route: []string{"queue:sales"}},
		{Name: "faq", Line: "homes", Route: []string{"bot", "queue:support"}},
		// a0 first; after a second still waiting, the sales team.
		{Name: "owner", Line: "vip", Route: []string{"agent:a0/1s", "queue:sales"}},
	} {
		if _, err := d.SetScene(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	skills := func(i int) []string {
		switch {
		case i < 4:
			return []string{"sales"}
		case i < 6:
			return []string{"sales", "support"} // capacity shared by two queues
		}
		return []string{"support"}
	}
	for i := range agents {
		status := desk.Online
		if i%3 == 2 {
			status = desk.Away
		}
		if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: fmt.Sprintf("a%d", i), Status: ptr(status), Capacity: ptr(capacity), Skills: ptr(skills(i))}); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	sessions := map[string]bool{}
	var convs []string
	var unexpected []string
	allowed := map[pb.Code]bool{pb.Code_OK: true, pb.Code_FORBIDDEN: true, pb.Code_BUSY: true, pb.Code_NOT_FOUND: true, pb.Code_INVALID: true, pb.Code_NOT_MEMBER: true, pb.Code_RATE_LIMITED: true,
		pb.Code_EXISTS: true} // reaching out to a customer whose session in the line is open
	note := func(op string, err error) {
		if c := code(err); !allowed[c] {
			mu.Lock()
			if len(unexpected) < 10 {
				unexpected = append(unexpected, fmt.Sprintf("%s: %v", op, err))
			}
			mu.Unlock()
		}
	}
	scenes := []string{"listing", "faq", "owner"}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range ops / workers {
				n := fl.pick(rng)
				d := n.Desk
				e0 := epoch.Load()
				// Per operation: one caught in the crash fails on its own.
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				note := func(op string, err error) {
					// epoch is odd while a crash is under way.
					if err != nil && epoch.Load() == e0 && e0%2 == 0 {
						note(op, err)
					}
				}
				if done.Add(1) == int64(ops/2) && crash {
					chk.mu.Lock()
					chk.crashed = time.Now()
					chk.mu.Unlock()
					fl.crash(t, &epoch)
				}
				agent := fmt.Sprintf("a%d", rng.IntN(agents))
				cust := fmt.Sprintf("c%d", rng.IntN(customers))
				r := rng.IntN(100)
				func() {
					defer cancel()
					switch {
					case r < 30: // a customer enters (again)
						s, err := d.Enter(ctx, cust, scenes[rng.IntN(len(scenes))]+"/"+strconv.Itoa(rng.IntN(50)))
						note("enter", err)
						if err == nil {
							mu.Lock()
							sessions[s.Session] = true
							convs = append(convs, s.Conv)
							mu.Unlock()
							_, err = n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: cust, Body: []byte("hello")})
							note("customer send", err)
							if s.State == desk.StateBot && rng.IntN(2) == 0 {
								_, err = d.Handover(ctx, cust, s.Conv)
								note("handover", err)
							}
						}
					case r < 36: // a customer gives up (waiting) or is done
						mu.Lock()
						var conv string
						if len(convs) > 0 {
							conv = convs[rng.IntN(len(convs))]
						}
						mu.Unlock()
						if conv != "" {
							_, err := d.Close(ctx, strings.Split(conv, ":")[2], conv, "customer left")
							note("customer close", err)
						}
					case r < 39: // a supervisor moves a waiting session past its queue
						q, err := d.Queue(ctx, []string{"sales", "support", "@a0"}[rng.IntN(3)])
						note("queue", err)
						if err != nil || len(q.Waiting) == 0 {
							return
						}
						to := fmt.Sprintf("user:a%d", rng.IntN(agents))
						if rng.IntN(2) == 0 {
							to = "queue:" + []string{"sales", "support"}[rng.IntN(2)]
						}
						_, err = d.Transfer(ctx, "sup", q.Waiting[rng.IntN(len(q.Waiting))].Conv, to, "")
						note("supervisor move", err)
					case r < 47: // an agent changes status
						st := []string{desk.Online, desk.Online, desk.Away, desk.Offline}[rng.IntN(4)]
						_, err := d.SetAgent(ctx, desk.AgentUpdate{User: agent, Status: &st})
						note("status", err)
					case r < 50: // an agent reaches out to a customer first
						s, err := d.Reach(ctx, agent, cust, scenes[rng.IntN(len(scenes))])
						note("reach", err)
						if err == nil {
							reached.Add(1)
							mu.Lock()
							sessions[s.Session] = true
							convs = append(convs, s.Conv)
							mu.Unlock()
						}
					default: // an agent works on one of its sessions
						info, err := d.Agent(ctx, agent)
						note("agent", err)
						if err != nil || len(info.Sessions) == 0 {
							return
						}
						conv := convOf(info.Sessions[rng.IntN(len(info.Sessions))])
						switch r2 := rng.IntN(100); {
						case r2 < 50:
							_, err = n.Send(ctx, &pb.SendMessage{Conv: conv, Sender: agent, Body: []byte("how can I help")})
							note("agent send", err)
						case r2 < 65:
							to := fmt.Sprintf("user:a%d", rng.IntN(agents))
							if rng.IntN(2) == 0 {
								to = "queue:" + []string{"sales", "support"}[rng.IntN(2)]
							}
							_, err = d.Transfer(ctx, agent, conv, to, "internal: see the listing")
							note("transfer", err)
						case r2 < 85:
							_, err = d.Close(ctx, agent, conv, "resolved")
							note("agent close", err)
						default:
							_, err = d.Close(ctx, strings.Split(conv, ":")[2], conv, "customer left")
							note("customer close", err)
						}
					}
				}()
			}
		}()
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}
	n = fl.pick(nil)
	d = n.Desk

	// Settle: every agent's report reaches its queues, every offer is answered.
	var held map[string]string
	var states map[string]int
	// Sessions nobody answers go back and their agents away, one answer
	// timeout after each assignment: a few rounds of it before it settles.
	settle := 15*time.Second + 4*timers.AnswerTimeout
	eventuallyWithin(t, settle, func() error {
		infos := map[string]desk.AgentInfo{}
		held = map[string]string{}
		for i := range agents {
			in, err := d.Agent(ctx, fmt.Sprintf("a%d", i))
			if err != nil {
				return err
			}
			infos[in.User] = in
			for _, s := range in.Sessions {
				if other, ok := held[s]; ok {
					return fmt.Errorf("%s held by %s and %s", s, other, in.User)
				}
				held[s] = in.User
			}
		}
		queues := map[string][]string{"sales": {}, "support": {}, "@a0": {"a0"}}
		for i := range agents {
			for _, s := range skills(i) {
				queues[s] = append(queues[s], fmt.Sprintf("a%d", i))
			}
		}
		for q, members := range queues {
			qi, err := d.Queue(ctx, q)
			if err != nil {
				return err
			}
			if q == "@a0" && len(qi.Waiting) > 0 && !crash {
				// Each overflows to sales within its step's second: the
				// counts compared below must not move meanwhile. (After a
				// crash an entry the thread left may stay until a0 is
				// offered it; the counts are only reported then.)
				return fmt.Errorf("queue @a0: %d waiting to overflow", len(qi.Waiting))
			}
			if len(qi.Waiting) == 0 {
				continue
			}
			for _, a := range members {
				if in := infos[a]; in.Status == desk.Online && in.Load < in.Capacity {
					return fmt.Errorf("queue %s: %d waiting while %s has room (%d of %d)", q, len(qi.Waiting), a, in.Load, in.Capacity)
				}
			}
		}
		// No session lost: each is in a known state, and the agents'
		// holdings are exactly the assigned sessions. (Asking activates
		// every thread, which reconciles with its agent after a crash.)
		states = map[string]int{}
		assigned := 0
		// A customer's message after a close reopens: such sessions came
		// from no entry, and the agents' holdings name those assigned.
		all := maps.Clone(sessions)
		for s := range held {
			all[s] = true
		}
		for s := range all {
			in, err := d.Session(ctx, "a0", convOf(s))
			if code(err) == pb.Code_NOT_FOUND {
				states["replaced"]++ // the customer's thread moved on to a new conversation
				continue
			}
			if err != nil {
				return err
			}
			if in.Session != s {
				states["superseded"]++ // a later session of the same conversation
				continue
			}
			states[in.State]++
			switch in.State {
			case desk.StateAssigned:
				assigned++
				if held[s] != *in.Agent {
					return fmt.Errorf("%s assigned to %s, but held by %q (%s)", s, *in.Agent, held[s], chk.historyOf(s))
				}
			case desk.StateBot, desk.StateQueued, desk.StateClosed:
				if h, ok := held[s]; ok {
					return fmt.Errorf("%s is %s but held by %s (%s)", s, in.State, h, chk.historyOf(s))
				}
			default:
				return fmt.Errorf("%s in state %q", s, in.State)
			}
		}
		if assigned != len(held) {
			return fmt.Errorf("%d sessions assigned, agents hold %d", assigned, len(held))
		}
		return nil
	})

	chk.mu.Lock()
	if len(chk.errs) > 0 {
		t.Errorf("invariants broken:\n%s", strings.Join(chk.errs, "\n"))
	}
	t.Logf("%d sessions entered (%d by reaching out); final states %v; %d offers; %d unanswered", len(sessions), reached.Load(), states, chk.offers, chk.unanswered)
	if timers.AnswerTimeout > 0 && chk.unanswered == 0 {
		// Whether an assigned session stays unanswered that long is up to
		// the draw (about one run in ten has none); the answer tests
		// check the timeout itself.
		t.Logf("no session went back unanswered in this run")
	}
	chk.mu.Unlock()

	// Streaming counts equal the recount from the log.
	recount, err := desk.Recount(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	var total desk.QueueStats
	for _, q := range []string{"sales", "support", "@a0"} {
		qi, err := d.Queue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if crash {
			// A crash can still cut a step from its count (docs/DESK.md,
			// "Not yet"): the log's recount is the truth; report both.
			t.Logf("queue %s: live %+v, recount %+v", q, qi.Stats, recount[q])
		} else if qi.Stats != recount[q] {
			t.Errorf("queue %s: live %+v, recount %+v", q, qi.Stats, recount[q])
		}
		total.Assigned += qi.Stats.Assigned
		total.Abandoned += qi.Stats.Abandoned
		total.Overflowed += qi.Stats.Overflowed
	}
	if total.Assigned == 0 || total.Abandoned == 0 {
		t.Errorf("scenario too tame: %+v", total)
	}
	t.Logf("queues: %d assignments, %d abandoned, %d overflowed", total.Assigned, total.Abandoned, total.Overflowed)
	checkMetrics(t, ctx, n)
}

// fleet is the scenario's nodes on one store, each with its own handle.
type fleet struct {
	mu      sync.Mutex
	store   storage.Store
	cfg     desk.Config
	nodes   []*boot.Node
	handles []*killableStore
}

func startFleet(t *testing.T, store storage.Store, cfg desk.Config, size int) *fleet {
	f := &fleet{store: store, cfg: cfg}
	log := testLogger()
	cfg.Logger = log
	for i := range size {
		h := &killableStore{Store: store}
		nc := boot.NodeConfig{Store: h, Logger: log, ClusterName: fmt.Sprintf("desk-scenario-%d", size), Desk: cfg}
		if i > 0 {
			nc.Membership.Seeds = []string{f.nodes[0].MembershipAddr()}
		}
		n, err := boot.StartNode(nc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop(true) })
		f.nodes, f.handles = append(f.nodes, n), append(f.handles, h)
	}
	f.waitMembers(t)
	return f
}

func (f *fleet) waitMembers(t *testing.T) {
	eventually(t, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, n := range f.nodes {
			if got := len(n.ClusterMembers()); got != len(f.nodes) {
				return fmt.Errorf("a node sees %d members, want %d", got, len(f.nodes))
			}
		}
		return nil
	})
}

// pick returns a random live node (the first for a nil rng).
func (f *fleet) pick(rng *rand.Rand) *boot.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rng == nil {
		return f.nodes[0]
	}
	return f.nodes[rng.IntN(len(f.nodes))]
}

// crash kills the last node without a graceful stop (its store handle
// refuses every later write, as for a killed process). A lone node is
// replaced by a new one on the same store; in a cluster the others take
// its grains over once they noticed.
func (f *fleet) crash(t *testing.T, epoch *atomic.Int64) {
	epoch.Add(1)
	defer epoch.Add(1)
	f.mu.Lock()
	last := len(f.nodes) - 1
	victim, h := f.nodes[last], f.handles[last]
	h.kill()
	victim.Stop(false)
	if last == 0 {
		nh := &killableStore{Store: f.store}
		f.nodes[0], f.handles[0] = startNode(t, nh, f.cfg), nh
	} else {
		f.nodes, f.handles = f.nodes[:last], f.handles[:last]
	}
	f.mu.Unlock()
	f.waitMembers(t)
	t.Logf("node %d killed", last)
}

// checkMetrics waits until the metrics grain has seen the whole log and
// compares it with a batch recomputation.
func checkMetrics(t *testing.T, ctx context.Context, n *boot.Node) {
	t.Helper()
	q := &pb.MetricsQuery{SizeMs: time.Hour.Milliseconds()}
	eventually(t, func() error {
		streaming, err := n.Metrics(ctx, q)
		if err != nil {
			return err
		}
		batch, err := n.Metrics(ctx, &pb.MetricsQuery{SizeMs: q.SizeMs, Recompute: true})
		if err != nil {
			return err
		}
		s, _ := json.Marshal(streaming)
		b, _ := json.Marshal(batch)
		if string(s) != string(b) {
			return fmt.Errorf("metrics differ from the recomputation:\nstreaming %s\nbatch     %s", s, b)
		}
		if len(streaming.Rows) == 0 {
			return fmt.Errorf("no metrics rows")
		}
		return nil
	})
}
