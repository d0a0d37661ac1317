// Package memberlist is a protoactor-go cluster provider that discovers
// members and detects failures with hashicorp/memberlist (SWIM gossip), so a
// cluster needs no external registry. A single node is a cluster of one.
//
// The memberlist node name is the actor-system id. protoactor generates a
// fresh id per process, so a restarted process joins as a new member and its
// old name is declared dead. Reusing an id is accepted by memberlist but not
// by protoactor: every member that saw the id leave keeps it on the remote
// block list for the rest of its life and refuses it.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	hcml "github.com/hashicorp/memberlist"
)

var (
	// ErrNotStarted is returned by GetHealthStatus before StartMember or
	// StartClient.
	ErrNotStarted = errors.New("memberlist provider not started")
	// ErrStopped is returned by GetHealthStatus after Shutdown.
	ErrStopped = errors.New("memberlist provider stopped")
	// ErrAlreadyStarted is returned when a provider is started twice.
	ErrAlreadyStarted = errors.New("memberlist provider already started")
	// ErrJoinFailed is returned when no seed answered within JoinTimeout.
	ErrJoinFailed = errors.New("could not join any seed")
)

type runState int

const (
	stateNew runState = iota
	stateRunning
	stateStopped
)

// Provider implements cluster.ClusterProvider on top of memberlist. Create
// it with New and pass it to cluster.Configure; one Provider serves one
// cluster member for its whole life.
type Provider struct {
	cfg Config

	mu      sync.Mutex
	state   runState
	cluster *cluster.Cluster
	logger  *slog.Logger
	list    *hcml.Memberlist
	cancel  context.CancelFunc // stops join retries on Shutdown
	stop    chan struct{}      // closed to stop the updater
	done    chan struct{}      // closed when the updater returned

	// signal coalesces membership events: memberlist calls its delegates
	// under its own locks, so they only poke this channel and the updater
	// goroutine does the work, one topology update at a time.
	signal chan struct{}

	// metas holds a copy of each live node's metadata, taken in the event
	// delegates while memberlist holds its node lock. Members() hands out
	// pointers into memberlist's state whose Meta it rewrites under that
	// lock, so reading Meta through them races.
	metaMu sync.Mutex
	metas  map[string][]byte
	// known is every peer's memberlist address ever seen (node name →
	// "host:port"), under metaMu: the re-join loop and a member restarted
	// in process contact them.
	known map[string]string
	// views is each peer's last topology view (views.go), under metaMu.
	views map[string]peerView
	// gone marks nodes whose process was found dead before memberlist
	// declared it (gone.go); checking, the ones being dialled. Both under
	// metaMu. goneChecks counts finished checks (tests wait on it).
	gone, checking map[string]bool
	goneChecks     atomic.Int64
	// ignoreEndpoints leaves broken connections unchecked, so a test sees
	// a member learn of a death only from a peer's gone notice.
	ignoreEndpoints bool

	// topoIDs: the member ids protoactor's topology held after the
	// updater's last update, which runViews sends (under topoMu).
	topoMu  sync.Mutex
	topoIDs []string
	topo    []*cluster.Member

	// ready is closed once protoactor holds a topology with this member
	// in it (Ready); alone: it started without seeds (FormedAlone).
	ready     chan struct{}
	readyOnce sync.Once
	alone     bool
}

var _ cluster.ClusterProvider = (*Provider)(nil)

// New validates cfg and returns an unstarted provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Seeds = slices.Clone(cfg.Seeds)
	if cfg.GoneCheckTimeout == 0 {
		cfg.GoneCheckTimeout = DefaultConfig().GoneCheckTimeout
	}
	return &Provider{cfg: cfg, signal: make(chan struct{}, 1), ready: make(chan struct{}), metas: map[string][]byte{}, known: map[string]string{}, views: map[string]peerView{},
		gone: map[string]bool{}, checking: map[string]bool{}}, nil
}

// StartMember joins the memberlist cluster as a member hosting the
// cluster's kinds. protoactor calls it from Cluster.StartMember after the
// remote is listening; an error there becomes a panic.
func (p *Provider) StartMember(c *cluster.Cluster) error {
	return p.start(c, false)
}

// StartClient joins as a client: it follows the topology but is left out of
// it, so no grain is ever placed on it.
func (p *Provider) StartClient(c *cluster.Cluster) error {
	return p.start(c, true)
}

func (p *Provider) start(c *cluster.Cluster, client bool) error {
	list, seeds, ctx, err := p.create(c, client)
	if err != nil {
		return err
	}
	if len(seeds) == 0 {
		p.logger.Info("memberlist started without seeds, forming a new cluster", slog.String("addr", list.LocalNode().Address()))
		return nil
	}
	if err := p.join(ctx, list, seeds); err != nil {
		// Leave nothing half-running: a failed start must not linger in the
		// cluster or keep its ports.
		if serr := p.Shutdown(false); serr != nil {
			p.logger.Warn("shutdown after failed join", slog.Any("error", serr))
		}
		return err
	}
	return nil
}

// create sets up memberlist and the updater under the lock; joining happens
// outside it so Shutdown can interrupt a slow join.
func (p *Provider) create(c *cluster.Cluster, client bool) (*hcml.Memberlist, []string, context.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateNew {
		return nil, nil, nil, ErrAlreadyStarted
	}

	id := c.ActorSystem.ID
	if id == "" {
		return nil, nil, nil, errors.New("memberlist provider: actor system has no id")
	}
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("memberlist provider: actor system address: %w", err)
	}
	if port <= 0 {
		return nil, nil, nil, fmt.Errorf("memberlist provider: actor system %q has no remote port; start the remote first", c.ActorSystem.Address())
	}
	var kinds []string
	if !client {
		kinds = c.GetClusterKinds()
		slices.Sort(kinds) // map order; keep the metadata stable across restarts
	}
	meta, err := encodeMeta(&NodeMeta{MemberId: id, Host: host, Port: int32(port), Kinds: kinds, Client: client})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("memberlist provider: %w", err)
	}

	cfg := p.cfg
	if cfg.Label == "" {
		cfg.Label = c.Config.Name
	}
	if err := cfg.validate(); err != nil {
		return nil, nil, nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = c.Logger()
	}
	logger = logger.With(slog.String("component", "memberlist"), slog.String("member", id))

	mc := p.memberlistConfig(cfg, id, meta, logger)
	list, err := hcml.Create(mc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("memberlist provider: create memberlist on %s:%d: %w", cfg.BindAddr, cfg.BindPort, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	self := list.LocalNode().Address()
	seeds := slices.DeleteFunc(slices.Clone(cfg.Seeds), func(s string) bool { return s == self })
	p.cluster, p.logger, p.list, p.cancel = c, logger, list, cancel
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.state = stateRunning
	p.alone = len(seeds) == 0 && !client
	go p.runUpdater(p.stop, p.done)
	p.kick() // publish the cluster of one right away

	go p.runRejoin(list, self, seeds, p.stop)
	go p.runViews(list, id, p.stop)
	p.watchEndpoints(p.stop)
	logger.Info("memberlist started",
		slog.String("addr", self), slog.String("remote", c.ActorSystem.Address()),
		slog.Bool("client", client), slog.Int("meta_bytes", len(meta)), slog.Any("seeds", seeds))
	return list, seeds, ctx, nil
}

func (p *Provider) memberlistConfig(cfg Config, id string, meta []byte, logger *slog.Logger) *hcml.Config {
	mc := hcml.DefaultLANConfig()
	mc.Name = id
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort // memberlist fills it in itself when BindPort is 0
	}
	mc.Label = cfg.Label
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	mc.SuspicionMult = cfg.SuspicionMult
	mc.SuspicionMaxTimeoutMult = cfg.SuspicionMaxTimeoutMult
	mc.IndirectChecks = cfg.IndirectChecks
	mc.AwarenessMaxMultiplier = cfg.AwarenessMaxMultiplier
	mc.GossipInterval = cfg.GossipInterval
	mc.GossipNodes = cfg.GossipNodes
	mc.GossipToTheDeadTime = cfg.GossipToTheDeadTime
	mc.RetransmitMult = cfg.RetransmitMult
	mc.PushPullInterval = cfg.PushPullInterval
	mc.TCPTimeout = cfg.TCPTimeout
	mc.DeadNodeReclaimTime = cfg.DeadNodeReclaimTime
	mc.Delegate = metaDelegate{meta: meta, p: p}
	mc.Events = eventDelegate{p: p, logger: logger}
	mc.Logger = newStdLogger(logger)
	return mc
}

// join contacts the seeds, backing off between attempts, until one answers
// or JoinTimeout passes.
func (p *Provider) join(ctx context.Context, list *hcml.Memberlist, seeds []string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.JoinTimeout)
	defer cancel()
	start := time.Now()
	backoff := p.cfg.JoinBackoffMin
	for attempt := 1; ; attempt++ {
		n, err := list.Join(seeds)
		if n > 0 {
			p.logger.Info("joined cluster", slog.Int("seeds_reached", n), slog.Int("attempt", attempt),
				slog.Int("members", list.NumMembers()))
			return nil
		}
		if err == nil {
			err = errors.New("no seed reached")
		} else {
			err = oneLineError{err}
		}
		p.logger.Debug("join attempt failed", slog.Int("attempt", attempt), slog.Duration("retry_in", backoff), slog.Any("error", err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("memberlist provider: %w %v after %d attempts in %v (%w): %w",
				ErrJoinFailed, seeds, attempt, time.Since(start).Round(time.Millisecond), ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(2*backoff, p.cfg.JoinBackoffMax)
	}
}

// oneLineError flattens memberlist's multi-line multierror text for logs
// and error messages while keeping it unwrappable.
type oneLineError struct{ err error }

func (e oneLineError) Error() string { return strings.Join(strings.Fields(e.err.Error()), " ") }
func (e oneLineError) Unwrap() error { return e.err }

// Shutdown stops the provider. graceful broadcasts a leave first, so the
// others drop this node at once instead of after failure detection. Calling
// it again is a no-op. Note that protoactor's Cluster.Shutdown(false) does not
// call the provider: call Shutdown yourself on an ungraceful stop.
func (p *Provider) Shutdown(graceful bool) error {
	p.mu.Lock()
	if p.state != stateRunning {
		p.mu.Unlock()
		return nil
	}
	p.state = stateStopped
	p.cancel()
	list, stop, done := p.list, p.stop, p.done
	p.mu.Unlock()

	// Stop feeding a cluster that is going away before memberlist sends its
	// last events.
	close(stop)
	<-done
	// The re-join loop is not waited for: a join to an unreachable peer
	// takes TCPTimeout, and memberlist refuses it once shut down.

	var errs []error
	if graceful {
		if err := list.Leave(p.cfg.LeaveTimeout); err != nil {
			errs = append(errs, fmt.Errorf("leave: %w", err))
		}
	}
	if err := list.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	p.logger.Info("memberlist stopped", slog.Bool("graceful", graceful))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("memberlist provider: %w", err)
	}
	return nil
}

// GetHealthStatus returns nil while the provider runs and memberlist
// considers the local node healthy, and an error otherwise.
func (p *Provider) GetHealthStatus() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case stateNew:
		return ErrNotStarted
	case stateStopped:
		return ErrStopped
	}
	// A positive awareness score means this node is missing probe acks it
	// should get: it is the one in trouble, not its peers.
	if score := p.list.GetHealthScore(); score > 0 {
		return fmt.Errorf("memberlist provider: local node degraded, health score %d", score)
	}
	return nil
}

// Addr returns the memberlist "host:port" other nodes can use as a seed,
// or "" before start.
func (p *Provider) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.list == nil {
		return ""
	}
	return p.list.LocalNode().Address()
}

// Members returns the members as they are handed to protoactor: nodes not
// known dead or left, without clients and nodes with unreadable metadata.
func (p *Provider) Members() []*cluster.Member {
	p.mu.Lock()
	running := p.state == stateRunning
	p.mu.Unlock()
	if !running {
		return nil
	}
	return p.currentMembers()
}

// kick asks the updater for a new topology without blocking; a pending
// request already covers this one.
func (p *Provider) kick() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

func (p *Provider) runUpdater(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-p.signal:
		}
		// Re-check: a signal and stop may both be ready.
		select {
		case <-stop:
			return
		default:
		}
		// Always the full set: protoactor diffs it against the previous one
		// and derives joins and leaves itself.
		members := p.currentMembers()
		p.logger.Debug("updating cluster topology", slog.Int("members", len(members)))
		p.cluster.MemberList.UpdateClusterTopology(members)
		// protoactor's member list is not safe to read from other
		// goroutines: keep a copy of the ids it now holds for runViews.
		topo := p.cluster.MemberList.Members().Members()
		var ids []string
		for _, m := range topo {
			ids = append(ids, m.Id)
		}
		p.topoMu.Lock()
		p.topoIDs, p.topo = ids, topo
		p.topoMu.Unlock()
		if slices.Contains(ids, p.cluster.ActorSystem.ID) {
			p.readyOnce.Do(func() { close(p.ready) })
		}
	}
}

// Ready is closed once protoactor holds a topology with this member in
// it: the member places and hosts grains from then on.
func (p *Provider) Ready() <-chan struct{} { return p.ready }

// FormedAlone reports that the member started without seeds (after the
// start): it formed a new cluster, with nobody's gossip to wait for.
func (p *Provider) FormedAlone() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alone
}

// topologyIDs returns the member ids protoactor's topology held after the
// last update.
func (p *Provider) topologyIDs() []string {
	p.topoMu.Lock()
	defer p.topoMu.Unlock()
	return p.topoIDs
}

// Topology returns the members protoactor's topology held after the last
// update: what other goroutines (admin handlers, health checks) read
// instead of protoactor's member list, which is not safe for them.
func (p *Provider) Topology() []*cluster.Member {
	p.topoMu.Lock()
	defer p.topoMu.Unlock()
	return p.topo
}

// setMeta records a node's metadata; memberlist calls the delegates with
// its node lock held, so n.Meta is stable here.
func (p *Provider) setMeta(n *hcml.Node) {
	p.metaMu.Lock()
	p.metas[n.Name] = slices.Clone(n.Meta)
	p.metaMu.Unlock()
}

// remember records a peer's address for the re-join loop; like setMeta it
// runs under memberlist's node lock.
func (p *Provider) remember(n *hcml.Node) {
	p.metaMu.Lock()
	p.known[n.Name] = n.Address()
	p.metaMu.Unlock()
}

// KnownPeers lists the memberlist addresses of every peer this provider
// has seen, live or not, without its own: seeds for a member that restarts
// in process.
func (p *Provider) KnownPeers() []string {
	self := p.Addr()
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	var out []string
	for _, a := range p.known {
		if a != self && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// runRejoin contacts, every RejoinInterval, the seeds and every peer seen
// before whose address no live member has now. memberlist merges two sides
// of a partition only while each still gossips to the other's dead nodes
// (GossipToTheDeadTime); past that only a join brings them together again.
func (p *Provider) runRejoin(list *hcml.Memberlist, self string, seeds []string, stop <-chan struct{}) {
	every := p.cfg.RejoinInterval
	if every == 0 {
		every = DefaultConfig().RejoinInterval
	}
	if every < 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		live := map[string]bool{self: true}
		for _, n := range list.Members() {
			live[n.Name] = true
		}
		p.metaMu.Lock()
		liveAddrs := map[string]bool{self: true}
		for name, a := range p.known {
			if live[name] {
				liveAddrs[a] = true
			}
		}
		var targets []string
		for _, a := range p.known {
			if !liveAddrs[a] && !slices.Contains(targets, a) {
				targets = append(targets, a)
			}
		}
		p.metaMu.Unlock()
		for _, s := range seeds {
			if !liveAddrs[s] && !slices.Contains(targets, s) {
				targets = append(targets, s)
			}
		}
		if len(targets) == 0 {
			continue
		}
		// Each unreachable target costs up to TCPTimeout here; the loop
		// runs on its own goroutine.
		if n, err := list.Join(targets); n > 0 {
			p.logger.Info("re-joined peers", slog.Int("reached", n), slog.Any("tried", targets), slog.Int("members", list.NumMembers()))
		} else {
			p.logger.Debug("re-join found no peer", slog.Any("tried", targets), slog.Any("error", err))
		}
	}
}

func (p *Provider) dropMeta(n *hcml.Node) {
	p.metaMu.Lock()
	delete(p.metas, n.Name)
	p.metaMu.Unlock()
}

// currentMembers reads memberlist's view: the live node names from
// Members() (Name never changes, so reading it is safe) with the metadata
// copied by the delegates. A node whose join event is still on its way is
// missing from the copy; that event triggers another update.
//
// Suspect nodes stay in: protoactor blocks a removed member id for the life
// of the process, so dropping a node on a suspicion it later refutes would
// lock it out for good.
func (p *Provider) currentMembers() []*cluster.Member {
	nodes := p.list.Members()
	members := make([]*cluster.Member, 0, len(nodes))
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	for _, n := range nodes {
		meta, ok := p.metas[n.Name]
		if !ok {
			continue
		}
		m, client, err := decodeMember(n.Name, meta)
		if err != nil {
			p.logger.Warn("skipping node with unreadable metadata", slog.String("node", n.Name), slog.Any("error", err))
			continue
		}
		if client || p.gone[n.Name] {
			continue
		}
		members = append(members, m)
	}
	return members
}
