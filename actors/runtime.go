package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	lru "github.com/hashicorp/golang-lru/v2"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/internal/linkpreview"
	"github.com/switchboard-im/switchboard/storage"
)

// Grain kinds.
const (
	KindConversation = "conversation"
	KindUser         = "user"
	hubName          = "switchboard-hub"
)

// Runtime owns the grains of one node: it builds their kinds for the
// protoactor cluster and is the Go API to them. boot.StartNode wires it
// to a real cluster.
type Runtime struct {
	system  *actor.ActorSystem
	cluster *cluster.Cluster
	store   storage.Store
	cfg     Config
	limits  storage.Limits // the store's, checked by the grains first
	slot    *nodeSlot
	ids     *idGen
	// dispatch runs the grains' and the hub's mailboxes on goroutines
	// that keep their stacks between runs (dispatch.go).
	dispatch *warmDispatcher
	// wordPolicy holds the word lists in force (wordlists.go); wordsMu
	// orders their replacement.
	wordPolicy atomic.Pointer[wordPolicy]
	wordsMu    sync.Mutex
	stopWords  func()
	// contacts is the contact-details policy (contacts.go); nil: off.
	contacts *contactPolicy
	// cardClicker serves card clicks (session_cards.go).
	cardClicker atomic.Pointer[CardClicker]
	push        *offlinePush         // nil: offline push is off (push.go)
	reminders   *reminders           // nil: unread reminders are off (reminders.go)
	previews    *linkpreview.Fetcher // nil: link previews are off (link_preview.go)
	// deskHandover serves hand-overs asked over the wire (session_desk.go).
	deskHandover atomic.Pointer[DeskHandover]
	// deskWire serves the other desk requests asked over the wire
	// (session_deskwire.go).
	deskWire atomic.Pointer[deskWireBox]
	// deskForget is the desk's side of an erasure (user_erase.go).
	deskForget atomic.Pointer[DeskForget]
	// myMetrics answers my_metrics (session_mymetrics.go).
	myMetrics atomic.Pointer[MyMetrics]
	// broadcast pushes large groups' messages to this node's connections
	// (broadcast.go); the hub actor feeds it.
	broadcast *broadcaster
	log       *slog.Logger

	leaving   atomic.Bool   // MarkLeaving: this member is leaving the cluster
	admit     *admission    // load shedding at the door (admission.go)
	sessions  *sessionIndex // this node's connected devices (sessions.go)
	stopWatch func()
	rereg     *reregSweep  // the re-registration sweep (reregister.go)
	idle      *idleSweeper // grain passivation (idle.go)
	// storeCtx: the shared bounds of grains' store calls (storectx.go).
	storeCtx storeContexts
	// replies: where grains' answers to this runtime's requests land (replies.go).
	replies *replyBox
	// delayedFlushes: user grains' cursor-only flushes (delayedflush.go).
	delayedFlushes *delayedFlushes
	// inflight: requests waiting on other members (inflight.go).
	inflight inflight
	// members: the cluster's membership as grains read it (members.go).
	members     atomic.Pointer[memberView]
	stopMembers func()
	// names: display names DisplayNames read lately (user_profile.go).
	names *lru.Cache[string, cachedName]
}

// NewRuntime validates cfg and prepares the grains over store.
func NewRuntime(cfg Config, store storage.Store) (*Runtime, error) {
	if store == nil {
		return nil, errors.New("actors: no store")
	}
	limits := store.Limits()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = limits.MaxBodyBytes
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// One owner per limit: a body the grain accepts must fit the store,
	// or the append fails after the grain assigned a seq.
	if cfg.MaxBodyBytes > limits.MaxBodyBytes {
		return nil, fmt.Errorf("actors: max body bytes %d exceeds the store's limit %d: configure both from one value", cfg.MaxBodyBytes, limits.MaxBodyBytes)
	}
	names, err := lru.New[string, cachedName](displayNameCacheSize)
	if err != nil {
		return nil, fmt.Errorf("actors: display names cache: %w", err)
	}
	rt := &Runtime{store: store, cfg: cfg, limits: limits, log: cfg.Logger, admit: newAdmission(cfg), idle: newIdleSweeper(cfg.IdleTimeout),
		dispatch: newWarmDispatcher(mailboxThroughput), names: names}
	wl := configWordLists(cfg)
	if err := rt.checkWordLists(wl); err != nil {
		return nil, err
	}
	rt.wordPolicy.Store(newWordPolicy(wl))
	if rt.contacts, err = newContactPolicy(cfg); err != nil {
		return nil, err
	}
	if rt.push, err = startPush(cfg, store, rt); err != nil {
		return nil, fmt.Errorf("offline push: %w", err)
	}
	rt.reminders = startReminders(rt)
	if !cfg.LinkPreviewsOff {
		rt.previews = linkpreview.New(cfg.LinkPreview)
	}
	return rt, nil
}

// Kinds are the grain kinds to register with the cluster.
func (n *Runtime) Kinds() []*cluster.Kind {
	return []*cluster.Kind{
		placement.NewKind(KindConversation, func() actor.Actor { return newConversation(n) }, actor.WithDispatcher(n.dispatch)),
		// User grains are mostly idle: the lock-free mailbox holds ~50
		// bytes where the default ring holds ~250 (one 24-byte node per
		// queued message instead).
		placement.NewKind(KindUser, func() actor.Actor { return newUser(n) }, actor.WithMailbox(actor.UnboundedLockfree()), actor.WithDispatcher(n.dispatch)),
		n.reportsKind(),
	}
}

// Attach binds the runtime to its cluster (before StartMember) and spawns
// this node's hub.
func (n *Runtime) Attach(c *cluster.Cluster) error {
	n.cluster = c
	n.system = c.ActorSystem
	n.replies = newReplyBox(n.system)
	root := n.system.Root
	n.delayedFlushes = newDelayedFlushes(n.cfg.CursorFlushDelay, func(pid *actor.PID) { root.Send(pid, flushInbox{}) })
	n.members.Store(nil) // a member restarted in process starts from its new cluster's view
	n.stopMembers = n.watchMembers()
	// A claim timing out against a starved replica is retried for up to a
	// lease (at least a grain request): a node that started is worth more
	// than one that exited on its first slow answer.
	ctx, cancel := context.WithTimeout(context.Background(), max(n.cfg.RequestTimeout, n.cfg.NodeLease))
	defer cancel()
	slot, err := newNodeSlot(ctx, n.store, n.system.ID, n.cfg.NodeLease, n.log)
	if err != nil {
		return fmt.Errorf("node number: %w", err)
	}
	n.slot, n.ids = slot, slot.ids
	n.broadcast = newBroadcaster(n.cfg)
	if _, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &hub{b: n.broadcast} }, actor.WithDispatcher(n.dispatch)), hubName); err != nil {
		n.Detach(true)
		return fmt.Errorf("spawn hub: %w", err)
	}
	n.idle.start(func(pid *actor.PID, m any) { n.system.Root.Send(pid, m) })
	if err := n.startSessions(); err != nil {
		return fmt.Errorf("start sessions: %w", err)
	}
	// Lists changed at run time outlive restarts; a store that cannot say
	// is retried by the watch.
	if err := n.reloadWordLists(ctx); err != nil {
		n.log.Warn("stored word lists not loaded", "err", err)
	}
	n.stopWords = n.watchWordLists()
	return nil
}

// Detach stops renewing the node number lease Attach took, and with
// release frees it for the next node at once (a crash, not released, frees
// it when the lease ends). Call it once the node stopped making messages.
func (n *Runtime) Detach(release bool) {
	if n.stopMembers != nil {
		n.stopMembers()
	}
	if n.stopWords != nil {
		n.stopWords()
	}
	n.stopSessions()
	if n.broadcast != nil {
		n.broadcast.close()
	}
	if n.delayedFlushes != nil {
		n.delayedFlushes.stop()
	}
	n.idle.close()
	n.reminders.stop()
	n.push.stop()
	if n.slot == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	n.slot.close(ctx, release)
}

// MarkLeaving tells the runtime its cluster member is going away for a
// restart in process: grain requests fail at once with RETRY (the client
// retries on the new member) and closing sessions no longer unregisters
// them from their user grains (the grains live on other members, which
// learn of the device again when it reconnects).
func (n *Runtime) MarkLeaving() { n.leaving.Store(true) }

// NodeNumber is the node number this node's message ids carry (see
// NodeOfMsgID).
func (n *Runtime) NodeNumber() uint32 { return n.slot.Slot() }

// Limits are the store's size limits the grains check first.
func (n *Runtime) Limits() storage.Limits { return n.limits }

// System exposes the actor system, for the connection layer's actors.
func (n *Runtime) System() *actor.ActorSystem { return n.system }

// Store is the node's store.
func (n *Runtime) Store() storage.Store { return n.store }

// Config is the grains' configuration in force.
func (n *Runtime) Config() Config { return n.cfg }

// pid finds (and activates, when needed) a grain, waiting at most timeout
// for the answer of the member that owns it. Activating is intended here:
// every caller is about to message the grain.
//
// It asks the owner's placement actor itself instead of calling
// cluster.Get: at the pinned protoactor version that waits a fixed 5 s for
// an answer that may never come (a member that just joined and is still
// starting, or one that died), unbounded by the caller's attempt and not
// ended when the member leaves (inflight.go tracks this ask). A fan-out
// lane blocked there held a user's pushes for 5 s after a node rejoined.
func (n *Runtime) pid(kind, identity string, timeout time.Duration) (*actor.PID, error) {
	if pid, ok := n.cluster.PidCache.Get(identity, kind); ok && pid != nil {
		return pid, nil
	}
	owner := n.Owner(kind, identity)
	if owner == "" {
		return nil, errNoPlacement
	}
	if owner == n.system.Address() && n.placementStopping() {
		return nil, errStopping
	}
	req := &cluster.ActivationRequest{ClusterIdentity: cluster.NewClusterIdentity(identity, kind)}
	res, err := n.ask(actor.NewPID(owner, placement.ActivatorName), req, timeout)
	if err != nil {
		return nil, err
	}
	ar, ok := res.(*cluster.ActivationResponse)
	if !ok || ar.Pid == nil || ar.Failed {
		return nil, errNoPlacement
	}
	n.cluster.PidCache.Set(identity, kind, ar.Pid)
	return ar.Pid, nil
}

// minAskTimeout is the least time an attempt leaves for the request itself
// after finding the grain took most of it.
const minAskTimeout = 100 * time.Millisecond

// errNoPlacement: the identity lookup found no member for the grain
// (topology changing); retried.
var errNoPlacement = errors.New("no member hosts the grain")

// errStopping: the grain would be activated on this member, whose
// placement actor is stopping and answers nothing more. Not retried: a
// grain that asked would otherwise hold the member's stop until its
// request timed out (the placement actor waits for that grain to stop,
// and the grain for the placement actor's answer).
var errStopping = &Error{Code: pb.Code_RETRY, Message: "this cluster member is stopping; retry"}

// placementStopping reports whether this member's placement actor is
// stopping (placement.Lookup.Stopping).
func (n *Runtime) placementStopping() bool {
	l, ok := n.cluster.Config.IdentityLookup.(interface{ Stopping() bool })
	return ok && l.Stopping()
}

// request sends msg to a grain and waits for its answer, retrying with
// exponential backoff and jitter while the grain is moving (dead letter,
// time-out, or a RETRY answer from a fenced activation) until ctx ends.
//
// It deliberately does not use cluster.Request/RequestFuture: at the pinned
// protoactor version RequestFuture's options overwrite a process-wide
// default, and their retry "backoff" sleeps nanoseconds.
func (n *Runtime) request(ctx context.Context, kind, identity string, msg any) (any, error) {
	return n.requestEach(ctx, kind, identity, msg, n.cfg.RequestTimeout)
}

// requestEach is request with its first attempt bounded by first, each
// next one by twice the one before, up to RequestTimeout. Only for
// idempotent messages: an attempt that timed out may still be processed.
func (n *Runtime) requestEach(ctx context.Context, kind, identity string, msg any, first time.Duration) (any, error) {
	deadline, _ := ctx.Deadline()
	return n.requestUntil(ctx.Done(), ctx.Err, deadline, kind, identity, msg, first)
}

// requestUntil is requestEach bounded by done (nil: never) and deadline
// (zero: none) instead of a context, so a caller that has only a deadline
// (the fan-out, once per delivery) allocates no context and no timer for
// it. cause names why done closed.
func (n *Runtime) requestUntil(done <-chan struct{}, cause func() error, deadline time.Time, kind, identity string, msg any, first time.Duration) (any, error) {
	backoff := 10 * time.Millisecond
	perAttempt := min(first, n.cfg.RequestTimeout)
	for attempt := 0; ; attempt++ {
		if n.leaving.Load() {
			return nil, fmt.Errorf("%s/%s: %w", kind, identity, &Error{Code: pb.Code_RETRY, Message: "this cluster member is restarting; retry"})
		}
		timeout := perAttempt
		perAttempt = min(perAttempt*2, n.cfg.RequestTimeout)
		if !deadline.IsZero() {
			timeout = min(timeout, time.Until(deadline))
		}
		if timeout <= 0 {
			return nil, fmt.Errorf("%s/%s: %w", kind, identity, context.DeadlineExceeded)
		}
		var res any
		start := time.Now()
		pid, err := n.pid(kind, identity, timeout)
		if err == nil {
			res, err = n.ask(pid, msg, max(timeout-time.Since(start), minAskTimeout))
			if err != nil {
				n.cluster.PidCache.Remove(identity, kind)
			}
		}
		if err == nil {
			if ec, ok := res.(interface{ GetError() *pb.Error }); ok && ec.GetError().GetCode() == pb.Code_RETRY {
				err = fromPB(ec.GetError())
			} else {
				return res, nil
			}
		}
		if errors.Is(err, errStopping) || !retryable(err) {
			return nil, fmt.Errorf("%s/%s: %w", kind, identity, err)
		}
		sleep := backoff/2 + jitter(backoff/2)
		select {
		case <-done:
			return nil, fmt.Errorf("%s/%s: %w (last: %v)", kind, identity, cause(), err)
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// ask sends one request and waits for its answer; a request to another
// member is tracked so that member leaving the topology ends the wait
// (inflight.go).
func (n *Runtime) ask(pid *actor.PID, msg any, timeout time.Duration) (any, error) {
	from, w := n.replies.open()
	n.system.Root.RequestWithCustomSender(pid, msg, from)
	if pid.Address == n.system.Address() || pid.Address == "nonhost" { // protoactor's address of a system without remoting
		return n.replies.wait(from, w, timeout)
	}
	if !n.inflight.add(pid.Address, from) {
		n.replies.take(from.RequestId) // its answer would never come
		return nil, errMemberLeft
	}
	res, err := n.replies.wait(from, w, timeout)
	n.inflight.remove(pid.Address, from)
	if _, ok := res.(*memberLeft); ok {
		return nil, errMemberLeft
	}
	return res, err
}

func retryable(err error) bool {
	switch {
	case errors.Is(err, errMemberLeft),
		errors.Is(err, actor.ErrTimeout), errors.Is(err, actor.ErrDeadLetter),
		errors.Is(err, remote.ErrTimeout), errors.Is(err, remote.ErrDeadLetter):
		return true
	}
	return CodeOf(err) == pb.Code_RETRY || errors.Is(err, errNoPlacement)
}

func jitter(d time.Duration) time.Duration { return rand.N(d + 1) }
