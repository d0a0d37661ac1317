package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/storage"
)

// Prometheus metrics of offline push (documented in docs/OPERATIONS.md).
var (
	notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_push_notifications_total",
		Help: "Offline push notifications by outcome: sent, dead_letter, dropped (queue full), no_tokens, canceled (shutdown), expired (its messages disappeared before it went out).",
	}, []string{"result"})
	attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_push_attempts_total",
		Help: "Gateway send attempts by platform and result (ok, retry, failed).",
	}, []string{"platform", "result"})
	invalidTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_push_invalid_tokens_total",
		Help: "Device push tokens a gateway reported invalid and the store dropped.",
	})
	queued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_push_queue",
		Help: "Notifications waiting for a push sender.",
	})
)

func init() { prometheus.MustRegister(notifications, attempts, invalidTokens, queued) }

// Tokens is where a Dispatcher finds users' push tokens and drops the
// ones a gateway rejected (a storage.Store).
type Tokens interface {
	ListPushTokens(ctx context.Context, userID string) ([]storage.PushToken, error)
	DeletePushToken(ctx context.Context, userID, deviceID, token string) error
	SetPushToken(ctx context.Context, t storage.PushToken) error
}

// PlatformVoIP names the gateway of iOS VoIP pushes in
// Dispatcher.Gateways (APNs.VoIP): with one, a call rings each device
// that registered a PushKit token through it instead of as an alert.
const PlatformVoIP = "apns_voip"

// Dispatcher sends coalesced notifications from its own goroutines, so
// whoever hands one over (a user grain) never waits on a gateway: Enqueue
// never blocks, and drops (counted) when QueueSize notifications wait.
// Each notification goes to the gateway of each token's platform
// (Gateways, else Default), retried with exponential backoff and jitter
// up to MaxAttempts, then dead-lettered (metric, log, DeadLetter).
type Dispatcher struct {
	Tokens   Tokens
	Gateways map[string]Gateway // by platform: "apns", "fcm", "webhook"
	Default  Gateway            // for platforms without a gateway of their own (a webhook relay)

	MaxAttempts    int           // default 5
	BaseBackoff    time.Duration // default 500 ms, doubled per attempt
	MaxBackoff     time.Duration // default 30 s
	AttemptTimeout time.Duration // one gateway call (default 10 s)
	QueueSize      int           // default 10,000
	Workers        int           // concurrent sends (default 4)
	Log            *slog.Logger
	// DeadLetter, if set, also receives each notification given up on
	// with the last error (besides the metric and the log line).
	DeadLetter func(Notification, error)
	// SenderName, if set, names a notification's sender (FromName) when
	// it is sent: the display name of their profile, "" for none. A
	// failed lookup sends the notification with the sender's id alone.
	SenderName func(ctx context.Context, user string) (string, error)
	// ConvTitle, if set, names a notification's group (ConvTitle) when
	// it is sent: "" for a conversation that is no group. A failed
	// lookup sends it without.
	ConvTitle func(ctx context.Context, conv string) (string, error)

	q      chan Notification
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Defaults of the named limits.
const (
	DefaultMaxAttempts    = 5
	DefaultBaseBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultAttemptTimeout = 10 * time.Second
	DefaultQueueSize      = 10000
	DefaultWorkers        = 4
)

// Start fills zero limits with their defaults and starts the senders.
func (d *Dispatcher) Start() error {
	if d.Tokens == nil {
		return errors.New("push: dispatcher without a token store")
	}
	if d.Default == nil && len(d.Gateways) == 0 {
		return errors.New("push: dispatcher without a gateway")
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.BaseBackoff <= 0 {
		d.BaseBackoff = DefaultBaseBackoff
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = DefaultMaxBackoff
	}
	if d.AttemptTimeout <= 0 {
		d.AttemptTimeout = DefaultAttemptTimeout
	}
	if d.QueueSize <= 0 {
		d.QueueSize = DefaultQueueSize
	}
	if d.Workers <= 0 {
		d.Workers = DefaultWorkers
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	d.q = make(chan Notification, d.QueueSize)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for range d.Workers {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for {
				select {
				case n := <-d.q:
					queued.Dec()
					d.deliver(n)
				case <-d.ctx.Done():
					return
				}
			}
		}()
	}
	return nil
}

// Enqueue hands n to the senders; false (and counted) if the queue is full.
func (d *Dispatcher) Enqueue(n Notification) bool {
	select {
	case d.q <- n:
		queued.Inc()
		return true
	default:
		notifications.WithLabelValues("dropped").Inc()
		d.Log.Warn("push queue full: notification dropped", "id", n.ID, "limit", d.QueueSize)
		return false
	}
}

// Stop ends the senders: sends under way are canceled, queued ones dropped.
func (d *Dispatcher) Stop() {
	d.once.Do(func() {
		if d.cancel != nil {
			d.cancel()
			d.wg.Wait()
		}
	})
}

// errExpired ends the attempts at a notification whose messages all
// disappeared meanwhile: a phone must not show them later.
var errExpired = errors.New("push: its messages disappeared")

// deliver sends n to every registered device of its user.
func (d *Dispatcher) deliver(n Notification) {
	if n.expiredAt(time.Now()) {
		notifications.WithLabelValues("expired").Inc()
		return
	}
	var toks []storage.PushToken
	err := d.retry(n, "store", func(ctx context.Context) error {
		var err error
		toks, err = d.Tokens.ListPushTokens(ctx, n.User)
		return err
	})
	if err != nil {
		d.dead(n, fmt.Errorf("list push tokens: %w", err))
		return
	}
	// One send per gateway, with the tokens of the platforms it serves.
	var groups []*group
	byGW := map[Gateway]*group{}
	for _, t := range toks {
		platform, token := t.Platform, t.Token
		if n.Kind == KindCall && t.VoIPToken != "" && (d.Gateways[PlatformVoIP] != nil || d.Gateways[t.Platform] == nil && d.Default != nil) {
			platform, token = PlatformVoIP, t.VoIPToken // rings as a call (or the relay rings it)
		}
		gw := d.Gateways[platform]
		if gw == nil {
			gw = d.Default
		}
		if gw == nil {
			continue // no gateway for this platform here
		}
		g := byGW[gw]
		if g == nil {
			g = &group{platform: platform, gw: gw}
			byGW[gw] = g
			groups = append(groups, g)
		}
		g.toks, g.targets = append(g.toks, t), append(g.targets, Target{Platform: platform, Token: token})
	}
	if len(groups) == 0 {
		notifications.WithLabelValues("no_tokens").Inc()
		return
	}
	d.describe(&n)
	var failed error
	for _, g := range groups {
		m := n
		m.Targets = g.targets
		m.Tokens = make([]string, len(g.targets))
		for i, tg := range g.targets {
			m.Tokens[i] = tg.Token
		}
		err := d.retry(n, g.platform, func(ctx context.Context) error {
			res, err := g.gw.Send(ctx, m)
			d.dropInvalid(g, res.InvalidTokens)
			return err
		})
		if err != nil {
			failed = errors.Join(failed, err)
		}
	}
	switch {
	case errors.Is(failed, errExpired):
		notifications.WithLabelValues("expired").Inc()
	case failed != nil:
		d.dead(n, failed)
	default:
		notifications.WithLabelValues("sent").Inc()
	}
}

// retry runs send until it succeeds, fails permanently, or MaxAttempts.
func (d *Dispatcher) retry(n Notification, platform string, send func(context.Context) error) error {
	var last error
	for i := 0; i < d.MaxAttempts; i++ {
		if i > 0 {
			b := min(d.BaseBackoff<<(i-1), d.MaxBackoff)
			b = b/2 + rand.N(b/2+1) // jitter: [b/2, b]
			select {
			case <-time.After(b):
			case <-d.ctx.Done():
				return d.ctx.Err()
			}
			if n.expiredAt(time.Now()) {
				return errExpired
			}
		}
		ctx, cancel := context.WithTimeout(d.ctx, d.AttemptTimeout)
		last = send(ctx)
		cancel()
		switch {
		case last == nil:
			attempts.WithLabelValues(platform, "ok").Inc()
			return nil
		case errors.Is(last, ErrPermanent) || d.ctx.Err() != nil:
			attempts.WithLabelValues(platform, "failed").Inc()
			return last
		}
		attempts.WithLabelValues(platform, "retry").Inc()
		d.Log.Debug("push attempt failed", "id", n.ID, "platform", platform, "attempt", i+1, "err", last)
	}
	return fmt.Errorf("gave up after %d attempts: %w", d.MaxAttempts, last)
}

// group is the devices one gateway is sent a notification for: their
// rows and, in the same order, the token each is sent to.
type group struct {
	platform string // the first device's (the metric's label)
	gw       Gateway
	toks     []storage.PushToken
	targets  []Target
}

// dropInvalid deletes the rejected tokens, each only if its device did
// not register a new one meanwhile. A rejected VoIP token is taken off
// its row, so the device's next call rings as an alert.
func (d *Dispatcher) dropInvalid(g *group, invalid []string) {
	for _, bad := range invalid {
		for i, t := range g.toks {
			if g.targets[i].Token != bad {
				continue
			}
			ctx, cancel := context.WithTimeout(d.ctx, d.AttemptTimeout)
			var err error
			if g.targets[i].Platform == PlatformVoIP {
				// Not conditional: a PushKit token registered in this
				// instant is lost until the app registers it again,
				// which apps do at each launch.
				t.VoIPToken = ""
				err = d.Tokens.SetPushToken(ctx, t)
			} else {
				err = d.Tokens.DeletePushToken(ctx, t.UserID, t.DeviceID, t.Token)
			}
			cancel()
			if err != nil {
				d.Log.Warn("push: could not drop an invalid token", "user", t.UserID, "device", t.DeviceID, "err", err)
				continue
			}
			invalidTokens.Inc()
			d.Log.Info("push: dropped a token the gateway reported invalid", "user", t.UserID, "device", t.DeviceID, "platform", g.targets[i].Platform)
		}
	}
}

func (d *Dispatcher) dead(n Notification, err error) {
	if d.ctx.Err() != nil {
		notifications.WithLabelValues("canceled").Inc()
		return
	}
	notifications.WithLabelValues("dead_letter").Inc()
	d.Log.Warn("push notification dead-lettered", "id", n.ID, "user", n.User, "conv", n.Conv, "count", n.Count, "err", err)
	if d.DeadLetter != nil {
		d.DeadLetter(n, err)
	}
}

// describe sets n.FromName from the sender's profile and n.ConvTitle
// from the group's name (best effort: a notification naming ids beats
// none).
func (d *Dispatcher) describe(n *Notification) {
	ctx, cancel := context.WithTimeout(d.ctx, d.AttemptTimeout)
	defer cancel()
	if d.SenderName != nil && n.From != "" && n.FromName == "" {
		name, err := d.SenderName(ctx, n.From)
		if err != nil {
			d.Log.Warn("push: sender's name not read: the notification names their id", "from", n.From, "err", err)
		}
		n.FromName = name
	}
	if d.ConvTitle != nil && n.ConvTitle == "" {
		title, err := d.ConvTitle(ctx, n.Conv)
		if err != nil {
			d.Log.Warn("push: group's name not read: the notification goes without", "conv", n.Conv, "err", err)
		}
		n.ConvTitle = title
	}
}
