package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Config configures the memberlist cluster provider. Start from DefaultConfig
// and override fields; the zero value is not usable.
//
// # Failure-detection bound
//
// The timing defaults are tuned so that a crashed member of a 3-node cluster
// leaves every survivor's topology within 5 s; memberlist's LAN defaults take
// several times longer. For N nodes with N < 10 (memberlist scales by
// max(1, log10 N)), with P = ProbeInterval and a healthy local node
// (awareness score 0), worst case:
//
//	next probe of the dead node     ≤ 3·P   each survivor probes its 2 peers
//	                                        round-robin and reshuffles after
//	                                        every round, so the gap between two
//	                                        probes of one peer is at most 3 ticks
//	failed probe → "suspect"        ≤ 1·P   direct ping waits ProbeTimeout, the
//	                                        indirect and TCP pings run until the
//	                                        end of the probe interval
//	suspect → "dead"                = SuspicionMult·P
//	                                        with N = 3 memberlist expects no
//	                                        confirmations (k = SuspicionMult−2 >
//	                                        N−2), so the minimum timeout applies
//	dead → other survivor           ≈ GossipInterval
//
// With the defaults: 3·0.4 + 0.4 + 4·0.4 + 0.1 = 3.3 s worst case, ≈ 2.3 s on
// average; the margin to 5 s absorbs scheduling delays. In clusters of 5+
// nodes confirmations shorten the suspicion from SuspicionMaxTimeoutMult·
// SuspicionMult·P down to SuspicionMult·P as other nodes agree.
type Config struct {
	// BindAddr and BindPort are where memberlist listens (UDP and TCP).
	// BindPort 0 picks a free port. Default "0.0.0.0":7946.
	BindAddr string
	BindPort int

	// AdvertiseAddr and AdvertisePort are announced to other nodes. Empty/0
	// means derived from the bind address (memberlist's own rules).
	AdvertiseAddr string
	AdvertisePort int

	// Seeds are "host:port" memberlist addresses of existing members. Empty
	// means this node starts a cluster of its own.
	Seeds []string

	// JoinTimeout bounds the time spent retrying to reach the seeds; join
	// attempts back off from JoinBackoffMin to JoinBackoffMax. Default 10 s,
	// 100 ms, 2 s.
	JoinTimeout    time.Duration
	JoinBackoffMin time.Duration
	JoinBackoffMax time.Duration

	// LeaveTimeout bounds the wait for the leave broadcast on graceful
	// shutdown. Default 2 s.
	LeaveTimeout time.Duration

	// RejoinInterval is how often a running member contacts the seeds and
	// every peer it has seen that is not a live member now. memberlist
	// forgets a dead node after GossipToTheDeadTime; without this, two sides
	// of a partition longer than that would never find each other again.
	// Default 5 s; negative turns it off.
	RejoinInterval time.Duration

	// Label isolates clusters sharing a network: memberlist drops packets
	// with another label. Empty means the protoactor cluster name.
	Label string

	// ProbeInterval is the time between probes of one random peer, and
	// ProbeTimeout the wait for a direct ack (99th percentile RTT).
	// Default 400 ms and 200 ms (memberlist LAN: 1 s and 500 ms).
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration

	// SuspicionMult sets the suspicion timeout to
	// SuspicionMult·max(1, log10 N)·ProbeInterval. Default 4 (LAN: 4).
	SuspicionMult int

	// SuspicionMaxTimeoutMult scales the suspicion timeout used while no
	// other node confirms the suspicion. Default 4 (LAN: 6).
	SuspicionMaxTimeoutMult int

	// IndirectChecks is the number of peers asked to probe a node whose
	// direct probe failed. Default 3.
	IndirectChecks int

	// AwarenessMaxMultiplier caps how far a degraded node slows its own
	// probing; the bound above assumes a healthy node. Default 4 (LAN: 8).
	AwarenessMaxMultiplier int

	// GossipInterval is the period of non-piggybacked gossip to GossipNodes
	// random peers. Default 100 ms and 3 (LAN: 200 ms and 3).
	GossipInterval time.Duration
	GossipNodes    int

	// GossipToTheDeadTime is how long a dead node still receives gossip (to
	// let it refute) and stays in memberlist's node table. Default 10 s
	// (LAN: 30 s).
	GossipToTheDeadTime time.Duration

	// RetransmitMult sets how often a broadcast is retransmitted:
	// RetransmitMult·ceil(log10(N+1)). Default 4.
	RetransmitMult int

	// PushPullInterval is the period of full state syncs over TCP, the
	// anti-entropy that repairs lost gossip. Default 10 s (LAN: 30 s).
	PushPullInterval time.Duration

	// TCPTimeout bounds TCP exchanges (push/pull, fallback pings).
	// Default 2 s (LAN: 10 s).
	TCPTimeout time.Duration

	// DeadNodeReclaimTime lets a node name that died be taken over by a new
	// address after this long, so a process restarted on another port can
	// rejoin under its old name. Default 1 s (memberlist: never).
	DeadNodeReclaimTime time.Duration

	// GoneCheckTimeout bounds each of the two dials that confirm a peer's
	// process is gone after its remoting connection broke (gone.go): a
	// peer whose memberlist and remoting ports both refuse is dropped from
	// this node's topology without waiting for failure detection. Default
	// 500 ms (also when zero); negative turns the check off.
	GoneCheckTimeout time.Duration

	// Logger receives the provider's logs; memberlist's own log lines are
	// forwarded at debug level. Nil means the actor system's logger.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		BindAddr:                "0.0.0.0",
		BindPort:                7946,
		JoinTimeout:             10 * time.Second,
		JoinBackoffMin:          100 * time.Millisecond,
		JoinBackoffMax:          2 * time.Second,
		LeaveTimeout:            2 * time.Second,
		RejoinInterval:          5 * time.Second,
		ProbeInterval:           400 * time.Millisecond,
		ProbeTimeout:            200 * time.Millisecond,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 4,
		IndirectChecks:          3,
		AwarenessMaxMultiplier:  4,
		GossipInterval:          100 * time.Millisecond,
		GossipNodes:             3,
		GossipToTheDeadTime:     10 * time.Second,
		RetransmitMult:          4,
		PushPullInterval:        10 * time.Second,
		TCPTimeout:              2 * time.Second,
		DeadNodeReclaimTime:     time.Second,
		GoneCheckTimeout:        500 * time.Millisecond,
	}
}

// maxLabelLen is memberlist's limit on the label length.
const maxLabelLen = 255

func (c *Config) validate() error {
	var errs []error
	if c.BindPort < 0 || c.BindPort > 65535 {
		errs = append(errs, fmt.Errorf("BindPort %d out of range", c.BindPort))
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		errs = append(errs, fmt.Errorf("AdvertisePort %d out of range", c.AdvertisePort))
	}
	for _, s := range c.Seeds {
		if _, p, err := net.SplitHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("seed %q: %w", s, err))
		} else if _, err := strconv.Atoi(p); err != nil {
			errs = append(errs, fmt.Errorf("seed %q: bad port: %w", s, err))
		}
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"JoinTimeout", c.JoinTimeout},
		{"JoinBackoffMin", c.JoinBackoffMin},
		{"JoinBackoffMax", c.JoinBackoffMax},
		{"ProbeInterval", c.ProbeInterval},
		{"ProbeTimeout", c.ProbeTimeout},
		{"GossipInterval", c.GossipInterval},
		{"TCPTimeout", c.TCPTimeout},
	}
	for _, f := range positive {
		if f.d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %v", f.name, f.d))
		}
	}
	if c.ProbeTimeout > c.ProbeInterval {
		errs = append(errs, fmt.Errorf("ProbeTimeout %v exceeds ProbeInterval %v", c.ProbeTimeout, c.ProbeInterval))
	}
	ints := []struct {
		name string
		v    int
	}{
		{"SuspicionMult", c.SuspicionMult},
		{"SuspicionMaxTimeoutMult", c.SuspicionMaxTimeoutMult},
		{"IndirectChecks", c.IndirectChecks},
		{"AwarenessMaxMultiplier", c.AwarenessMaxMultiplier},
		{"GossipNodes", c.GossipNodes},
		{"RetransmitMult", c.RetransmitMult},
	}
	for _, f := range ints {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, got %d", f.name, f.v))
		}
	}
	if len(c.Label) > maxLabelLen {
		errs = append(errs, fmt.Errorf("Label is %d bytes, memberlist allows %d", len(c.Label), maxLabelLen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("memberlist provider config: %w", err)
	}
	return nil
}
