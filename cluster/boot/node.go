// Package boot boots a Switchboard node: an actor system with the
// grains of package actors, placed by protoactor's cluster with membership
// from hashicorp/memberlist (package cluster/membership). A single node is
// a cluster of one.
package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/actors/cards"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/actors/metricsactor"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/membership"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/storage"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/emptypb"
)

// NodeConfig configures one node.
type NodeConfig struct {
	// ClusterName must be the same on every node (default "switchboard").
	ClusterName string
	// Host and Port are where the actor remote listens (default
	// 127.0.0.1, port 0 = a free port). AdvertisedHost is what other nodes
	// dial, when it differs.
	Host           string
	Port           int
	AdvertisedHost string
	// Membership configures memberlist (bind address, seeds, timings). When
	// its timings are unset (zero ProbeInterval), memberlist.DefaultConfig's
	// are used with this config's addresses and seeds; BindPort 0 picks a
	// free port.
	Membership membership.Config
	// Store is shared by every node of the cluster.
	Store storage.Store
	// Actors configures the grains.
	Actors actors.Config
	// Metrics configures the metrics grain (zero: metrics.DefaultConfig()).
	Metrics metricsactor.Config
	// Desk configures the service desk grains (zero: desk.DefaultConfig()).
	Desk desk.Config
	// Cards configures the business card webhook (zero: no webhook).
	Cards cards.Config

	// RemoteDialWait is how long a remoting connection to a member keeps
	// dialing before it gives up (default 30 s; negative: one attempt).
	// See remoteDialOptions.
	RemoteDialWait time.Duration
	// RemoteWriteTimeout is how long what this node wrote to a remoting
	// connection may stay unacknowledged by the member's host before the
	// connection is closed (TCP_USER_TIMEOUT) and the next message dials a
	// new one (default 5 s; negative: the OS's, about 15 minutes). See
	// remoteKeepalive.
	RemoteWriteTimeout time.Duration

	// Export configures the Kafka export grain; off unless Brokers are set.
	Export export.Config
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Node is a running cluster member.
type Node struct {
	*actors.Runtime
	Desk      *desk.Desk
	Cards     *cards.Cards
	system    *actor.ActorSystem
	cluster   *pcluster.Cluster
	provider  *membership.Provider
	forwarder *metricsactor.Forwarder
	log       *slog.Logger
	exportFwd *export.Forwarder
	deskSink  *export.DeskSink
	// stopDepartures stops the desk's wake after members left.
	stopDepartures func()
	started        time.Time
	stopOnce       sync.Once // protoactor's Shutdown panics when called twice
}

// StartNode starts a node and joins (or forms) the cluster.
func StartNode(cfg NodeConfig) (n *Node, err error) {
	if cfg.Store == nil {
		return nil, errors.New("cluster: no store")
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "switchboard"
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Actors.Logger == nil {
		cfg.Actors.Logger = log
	}
	// The metrics hook forwards durable service messages to the metrics
	// grain; the forwarder needs the cluster, which needs the runtime's kinds.
	// The desk hears of customers' messages (a message after a close
	// reopens); it needs the runtime too.
	var fwd *metricsactor.Forwarder
	var efwd *export.Forwarder
	var dk *desk.Desk
	userHook := cfg.Actors.OnDurable
	cfg.Actors.OnDurable = func(kind storage.ConvKind, m storage.Message) {
		fwd.OnDurable(kind, m)
		dk.OnDurable(kind, m)
		if efwd != nil {
			efwd.OnDurable(kind, m)
		}
		if userHook != nil {
			userHook(kind, m)
		}
	}
	if len(cfg.Metrics.Engine.Windows) == 0 {
		cfg.Metrics.Engine = analytics.DefaultConfig()
	}
	if cfg.Metrics.Logger == nil {
		cfg.Metrics.Logger = log
	}
	metricsKind, err := metricsactor.NewKind(cfg.Store, cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var deskSink *export.DeskSink
	if cfg.Export.Enabled() {
		if deskSink, err = export.NewDeskSink(cfg.Export); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				deskSink.Close(0)
			}
		}()
		userRead := cfg.Actors.OnRead
		cfg.Actors.OnRead = func(user, conv string, seq uint64) {
			deskSink.OnRead(user, conv, seq)
			if userRead != nil {
				userRead(user, conv, seq)
			}
		}
		userModeration := cfg.Actors.OnModeration
		cfg.Actors.OnModeration = func(e actors.ModerationEvent) {
			deskSink.OnModeration(e)
			if userModeration != nil {
				userModeration(e)
			}
		}
		userDesk := cfg.Desk.OnEvent
		cfg.Desk.OnEvent = func(e desk.Event) {
			deskSink.OnEvent(e)
			if userDesk != nil {
				userDesk(e)
			}
		}
		userNote := cfg.Desk.OnNote
		cfg.Desk.OnNote = func(e desk.NoteEvent) {
			deskSink.OnNote(e)
			if userNote != nil {
				userNote(e)
			}
		}
		userTags := cfg.Desk.OnTags
		cfg.Desk.OnTags = func(e desk.TagsEvent) {
			deskSink.OnTags(e)
			if userTags != nil {
				userTags(e)
			}
		}
	}
	kinds := []*pcluster.Kind{metricsKind}
	if cfg.Export.Enabled() {
		if cfg.Export.Logger == nil {
			cfg.Export.Logger = log
		}
		if cfg.Export.MetricsWindows == nil {
			cfg.Export.MetricsWindows = cfg.Metrics.Engine.Windows
		}
		exportKind, err := export.NewKind(cfg.Store, cfg.Export)
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, exportKind)
	}
	rt, err := actors.NewRuntime(cfg.Actors, cfg.Store)
	if err != nil {
		return nil, err
	}
	if cfg.Desk.Logger == nil {
		cfg.Desk.Logger = log
	}
	dk, err = desk.New(rt, cfg.Desk)
	if err != nil {
		return nil, err
	}
	if cfg.Cards.Logger == nil {
		cfg.Cards.Logger = log
	}
	cd, err := cards.New(rt, cfg.Cards)
	if err != nil {
		return nil, err
	}
	rt.SetCardClicker(cd.Serve)
	rt.SetDeskWire(desk.NewWire(dk))
	rt.SetDeskForget(dk.Forget)
	rt.SetDeskHandover(func(ctx context.Context, by, conv string) (actors.DeskHandoverResult, error) {
		s, err := dk.Handover(ctx, by, conv)
		r := actors.DeskHandoverResult{Session: s.Session, State: s.State, QueuePosition: s.QueuePosition}
		if s.Agent != nil {
			r.Agent = *s.Agent
		}
		return r, err
	})
	mcfg := cfg.Membership
	if mcfg.ProbeInterval == 0 {
		d := membership.DefaultConfig()
		d.BindAddr, d.BindPort, d.AdvertiseAddr, d.AdvertisePort = mcfg.BindAddr, mcfg.BindPort, mcfg.AdvertiseAddr, mcfg.AdvertisePort
		d.Seeds, d.Label, d.Logger = mcfg.Seeds, mcfg.Label, mcfg.Logger
		mcfg = d
	}
	if mcfg.BindAddr == "" {
		mcfg.BindAddr = cfg.Host
	}
	if mcfg.Logger == nil {
		mcfg.Logger = log.With("component", "membership")
	}
	provider, err := membership.New(mcfg)
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("component", "actor")
	}))
	// One connect per endpoint (protoactor's default: 5, 2 s apart, holding
	// every message to the member meanwhile); the dial itself waits for
	// the member (remoteDialOptions).
	ropts := []remote.ConfigOption{
		func(c *remote.Config) { c.MaxRetryCount = 1 },
		remote.WithDialOptions(append(remoteDialOptions(cfg.RemoteDialWait, watchEndpointEnds(system.EventStream)), remoteKeepalive(cfg.RemoteWriteTimeout)...)...),
		remote.WithServerOptions(remoteServerKeepalive(cfg.RemoteWriteTimeout)...),
	}
	if cfg.AdvertisedHost != "" {
		ropts = append(ropts, remote.WithAdvertisedHost(cfg.AdvertisedHost))
	}
	ccfg := pcluster.Configure(cfg.ClusterName, provider, placement.New(), remote.Configure(cfg.Host, cfg.Port, ropts...),
		pcluster.WithKinds(append(append(rt.Kinds(), kinds...), dk.Kinds()...)...), pcluster.WithRequestTimeout(rt.Config().RequestTimeout))
	c := pcluster.New(system, ccfg)
	fwd = metricsactor.NewForwarder(c, 65536)
	rt.SetMyMetrics(myMetrics(c, cfg.Metrics.Engine.Windows))
	if cfg.Export.Enabled() {
		efwd = export.NewForwarder(c, cfg.Export.NudgeQueue, 0)
	}
	if err := rt.Attach(c); err != nil {
		return nil, err
	}
	// protoactor's StartMember panics on provider errors.
	defer func() {
		if r := recover(); r != nil {
			rt.Detach(true)
			err = fmt.Errorf("start cluster member: %v", r)
		}
	}()
	startMember(c, provider)
	// What a crash cut in the desk is finished in the background, now and
	// whenever other members leave (deskwake.go).
	go wakeDesk(context.Background(), dk, log, "node started")
	stopDepartures := watchDepartures(system, c, dk, log)
	log.Info("cluster member started", "id", system.ID, "address", system.Address(), "membership", provider.Addr())
	return &Node{Runtime: rt, Desk: dk, Cards: cd, system: system, cluster: c, provider: provider, forwarder: fwd, exportFwd: efwd, deskSink: deskSink,
		stopDepartures: stopDepartures, log: log, started: time.Now()}, nil
}

// remoteDialOptions make a remoting connection wait for its member instead
// of failing on the first refused dial.
//
// protoactor's endpoint writer, after a failed connect, sleeps 2 s (also
// after its last attempt; MaxRetryCount only caps the attempts) and then
// publishes a termination keyed by address. A message sent to a killed
// member in the few milliseconds before the survivors drop it starts such a
// connect; when the member is restarted on the same address within those
// 2 s, the termination tears down the endpoint the new process is reached
// by, and every message queued on it. Dialing until the address answers
// turns that case into a connection to the new process (which dead-letters
// what was meant for the old one, and requests retry). The wait is bounded,
// so a member that never comes back costs one blocked writer for
// RemoteDialWait; nobody sends to it once it has left the topology.
//
// They also report a connection's end exactly when its endpoint needs
// removing: see endpointEnds.
func remoteDialOptions(wait time.Duration, ends *endpointEnds) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStreamInterceptor(ends.intercept),
	}
	if wait < 0 {
		return opts
	}
	if wait == 0 {
		wait = DefaultRemoteDialWait
	}
	return append(opts,
		grpc.WithBlock(), grpc.WithTimeout(wait), //nolint:staticcheck // protoactor dials with grpc.Dial, without a context
		grpc.WithConnectParams(grpc.ConnectParams{
			// A restarted process listens within a second or two: poll
			// often, so the queued messages wait little after it does.
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 250 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}))
}

// DefaultRemoteDialWait is NodeConfig.RemoteDialWait's default.
const DefaultRemoteDialWait = 30 * time.Second

// DefaultRemoteWriteTimeout is NodeConfig.RemoteWriteTimeout's default.
const DefaultRemoteWriteTimeout = 5 * time.Second

// remoteKeepalivePing is how often an idle remoting connection is pinged:
// the least grpc allows a client.
const remoteKeepalivePing = 10 * time.Second

// remoteKeepalive bounds how long a remoting connection may stall.
//
// A network cut drops packets without closing anything, so the connection
// to a member on the other side stays "connected" while what is written
// to it waits for TCP's retransmissions, whose back-off doubles each time:
// after a cut of a few seconds the next retransmission may come seconds
// after the network healed, and all that time every message to that member
// waits (a partition test saw two healed members unable to talk for 15 s).
// With grpc's keepalive on, grpc sets TCP_USER_TIMEOUT to the keepalive
// timeout: the kernel closes a connection whose data stays unacknowledged
// that long, protoactor's endpoint ends, and the next message dials a new
// connection, which waits for the address (remoteDialOptions) and gets
// through as soon as the network does. Kernel acks do not depend on the
// peer process being scheduled, so a busy member does not trip it.
func remoteKeepalive(timeout time.Duration) []grpc.DialOption {
	if timeout < 0 {
		return nil
	}
	if timeout == 0 {
		timeout = DefaultRemoteWriteTimeout
	}
	return []grpc.DialOption{grpc.WithKeepaliveParams(keepalive.ClientParameters{
		Time: remoteKeepalivePing, Timeout: timeout, PermitWithoutStream: true,
	})}
}

// remoteServerKeepalive lets members' keepalive pings in (grpc's default
// policy answers a ping more often than every 5 minutes by closing the
// connection) and puts the same bound on the connections members opened
// to this one.
func remoteServerKeepalive(timeout time.Duration) []grpc.ServerOption {
	opts := []grpc.ServerOption{grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime: remoteKeepalivePing / 2, PermitWithoutStream: true,
	})}
	if timeout < 0 {
		return opts
	}
	if timeout == 0 {
		timeout = DefaultRemoteWriteTimeout
	}
	return append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{Time: remoteKeepalivePing, Timeout: timeout}))
}

var startMu sync.Mutex

// startMember starts the cluster member. protoactor's remote sets grpc's
// process-wide logger on start, so nodes of one process (tests) start one
// at a time. A panic of protoactor's StartMember (how it reports a
// provider's error) is raised here.
//
// The pinned version's StartMember ends with a fixed 1 s sleep after its
// provider started, for the cluster's gossip to settle. A member that
// formed a new cluster (no seeds) has no gossip to wait for: once its
// topology holds itself it is ready, and the sleep finishes in the
// background. Every start of a single node (a dev node, each single-node
// test) took a second longer.
func startMember(c *pcluster.Cluster, p *membership.Provider) {
	startMu.Lock()
	defer startMu.Unlock()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		c.StartMember()
	}()
	select {
	case r := <-done:
		if r != nil {
			panic(r)
		}
		return
	case <-p.Ready():
	}
	if p.FormedAlone() {
		return
	}
	if r := <-done; r != nil {
		panic(r)
	}
}

// Stop leaves the cluster and stops the node; graceful tells the others at
// once (they take over its grains), otherwise they notice by failure
// detection. The store is not closed.
// Calling it again is a no-op.
func (n *Node) Stop(graceful bool) {
	n.stopOnce.Do(func() {
		n.stopDepartures()
		n.shutdownCluster(graceful)
		// At the pinned protoactor version Shutdown(false) does not stop
		// the provider: memberlist would keep answering probes for a dead
		// node.
		if !graceful {
			_ = n.provider.Shutdown(false)
		}
		n.forwarder.Close()
		if n.exportFwd != nil {
			n.exportFwd.Close()
		}
		if n.deskSink != nil {
			n.deskSink.Close(2 * time.Second)
		}
		n.Runtime.Detach(graceful)
	})
}

// shutdownCluster shuts the protoactor cluster down. At the pinned
// version a graceful shutdown can panic ("send on closed channel"): the
// endpoint manager signals every endpoint reader's channel while a reader
// whose peer just went away closes its own. The node is stopping anyway:
// the panic must not cost the rest of Stop (its forwarders, the runtime's
// flushes), so it is logged and the gRPC server stopped outright.
func (n *Node) shutdownCluster(graceful bool) {
	defer func() {
		if r := recover(); r != nil {
			n.log.Warn("cluster shutdown panicked; stopping its server outright", "panic", r)
			n.cluster.Remote.Shutdown(false)
		}
	}()
	if graceful && len(n.ClusterMembers()) <= 1 {
		n.shutdownAlone()
		return
	}
	n.cluster.Shutdown(graceful)
}

// shutdownAlone is protoactor's graceful cluster shutdown (the pinned
// version's Cluster.Shutdown(true), step for step) without its fixed 2 s
// sleep, which waits for grains to move to the other members: a node
// alone in its cluster has none to move them to. Every stop of a single
// node (a dev node's Ctrl-C, each single-node test) took 2 s longer.
func (n *Node) shutdownAlone() {
	c := n.cluster
	c.Gossip.SetState(pcluster.GracefullyLeftKey, &emptypb.Empty{})
	c.ActorSystem.Shutdown()
	_ = c.Config.ClusterProvider.Shutdown(true)
	c.IdentityLookup.Shutdown()
	c.Gossip.Shutdown()
	c.Remote.Shutdown(true)
}

// Leave stops the node quickly for a restart in process: the runtime
// stops making grain requests (MarkLeaving), memberlist announces the
// leave (the others drop this member id at once instead of after failure
// detection), and the actor system stops without protoactor's graceful
// hand-over (this member's grains already live elsewhere). When it
// returns, the memberlist and remote ports are free; the metrics forwarder
// and the node number lease (released) finish in the background, since a
// lease renewal in flight may wait on a slow store. The store is not
// closed. After Leave or Stop, the other is a no-op.
func (n *Node) Leave() {
	n.stopOnce.Do(func() {
		n.Runtime.MarkLeaving()
		if err := n.provider.Shutdown(true); err != nil {
			n.log.Warn("leave", "err", err)
		}
		n.cluster.Shutdown(false)
		go func() {
			n.forwarder.Close()
			n.Runtime.Detach(true)
		}()
	})
}

// MembershipAddr is this node's memberlist address, to give other nodes as
// a seed.
func (n *Node) MembershipAddr() string { return n.provider.Addr() }

// Uptime is how long the node has run.
func (n *Node) Uptime() time.Duration { return time.Since(n.started) }

// KnownPeers lists the memberlist addresses of every peer this node has
// seen: seeds for a member restarted in process.
func (n *Node) KnownPeers() []string { return n.provider.KnownPeers() }
