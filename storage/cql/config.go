package cql

import (
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gocql/gocql"

	"github.com/switchboard-im/switchboard/storage"
)

// Config configures a Store. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Hosts are the contact points, "host:port" (port 9042 if omitted).
	Hosts []string
	// Keyspace is created if missing (default "switchboard").
	Keyspace string
	// Replication is the keyspace's replication map as a CQL map literal,
	// used only when the keyspace is created. Default: SimpleStrategy with
	// replication factor 1. See SimpleStrategy and NetworkTopologyStrategy.
	// An existing keyspace is used as it is: create it beforehand for
	// options beyond replication (e.g. on ScyllaDB releases whose tablets
	// keyspaces lack lightweight transactions, with tablets disabled).
	Replication string
	// Consistency of reads and writes (default LOCAL_QUORUM).
	Consistency gocql.Consistency
	// SerialConsistency of lightweight transactions (default LOCAL_SERIAL).
	SerialConsistency gocql.SerialConsistency
	// Timeout of one request (default 10s) and of connecting (default 10s).
	Timeout        time.Duration
	ConnectTimeout time.Duration
	// NumConns is the number of connections per host (default 2).
	NumConns int
	// Username and Password enable PasswordAuthenticator when Username is set.
	Username, Password string
	// DisableInitialHostLookup makes the driver use only Hosts, e.g. when
	// the nodes' advertised addresses are not reachable (NAT, containers).
	DisableInitialHostLookup bool
	// Limits are the size limits checked before writing (zero fields: defaults).
	Limits storage.Limits
	// MessageBucketSize is the number of seqs per messages partition
	// (default 1000). Fixed for the life of a keyspace: changing it makes
	// stored messages unreachable.
	MessageBucketSize uint64
	// InboxBucketSize is the same for inbox partitions (default 1000).
	InboxBucketSize uint64
	// AsyncWorkers is the number of goroutines committing
	// AppendMessagesAsync batches (default 256: each holds one batch for
	// its round trips, so workers ÷ append latency bounds the batches/s of
	// the whole node — 32 capped it near 100/s once Cassandra answered in
	// ~150 ms under load), AsyncQueue the number of
	// batches waiting for a worker before enqueueing blocks (default 1024).
	AsyncWorkers int
	AsyncQueue   int
	// ConditionalAppends bounds the unfenced (epoch 0, IF NOT EXISTS)
	// async appends in flight at once (default 32): conditional writes to
	// one partition contend in Paxos, and hundreds at once time out.
	ConditionalAppends int
	// LeaseCache is the number of conversations whose (epoch, reservation)
	// the store remembers to check fenced appends before writing (default
	// 100000; when full it is cleared and refilled by reads).
	LeaseCache int
	// ActivityCache is the number of (user, conversation) last activities,
	// and again of read cursors and of device cursors, the store remembers
	// so a touch that would not move the activity writes nothing and cursor
	// writes need no read (default
	// 1000000 each, about 100 MB each at most; when full one is cleared).
	ActivityCache int
	// Logger receives driver-independent diagnostics (default slog.Default()).
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults with Hosts 127.0.0.1:9042.
func DefaultConfig() Config {
	return Config{
		Hosts:              []string{"127.0.0.1:9042"},
		Keyspace:           "switchboard",
		Replication:        SimpleStrategy(1),
		Consistency:        gocql.LocalQuorum,
		SerialConsistency:  gocql.LocalSerial,
		Timeout:            10 * time.Second,
		ConnectTimeout:     10 * time.Second,
		NumConns:           2,
		Limits:             storage.DefaultLimits(),
		MessageBucketSize:  1000,
		InboxBucketSize:    1000,
		AsyncWorkers:       256,
		ConditionalAppends: 32,
		AsyncQueue:         1024,
		LeaseCache:         100000,
		ActivityCache:      1000000,
	}
}

// SimpleStrategy returns the replication map of SimpleStrategy with rf replicas.
func SimpleStrategy(rf int) string {
	return fmt.Sprintf("{'class': 'SimpleStrategy', 'replication_factor': %d}", rf)
}

// NetworkTopologyStrategy returns the replication map of
// NetworkTopologyStrategy with the given replicas per data center.
func NetworkTopologyStrategy(perDC map[string]int) string {
	dcs := make([]string, 0, len(perDC))
	for dc := range perDC {
		dcs = append(dcs, dc)
	}
	sort.Strings(dcs)
	var b strings.Builder
	b.WriteString("{'class': 'NetworkTopologyStrategy'")
	for _, dc := range dcs {
		fmt.Fprintf(&b, ", '%s': %d", strings.ReplaceAll(dc, "'", "''"), perDC[dc])
	}
	b.WriteString("}")
	return b.String()
}

// Unquoted CQL identifiers; anything else would need quoting in DDL.
var keyspaceRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,47}$`)

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if len(c.Hosts) == 0 {
		c.Hosts = d.Hosts
	}
	if c.Keyspace == "" {
		c.Keyspace = d.Keyspace
	}
	if !keyspaceRE.MatchString(c.Keyspace) {
		return c, fmt.Errorf("cql: keyspace %q is not a plain identifier: %w", c.Keyspace, storage.ErrInvalid)
	}
	// Identifiers are case-insensitive unless quoted; keep the stored form.
	c.Keyspace = strings.ToLower(c.Keyspace)
	if c.Replication == "" {
		c.Replication = d.Replication
	}
	r := strings.TrimSpace(c.Replication)
	if !strings.HasPrefix(r, "{") || !strings.HasSuffix(r, "}") || strings.Contains(r, ";") {
		return c, fmt.Errorf("cql: replication %q is not a CQL map literal: %w", c.Replication, storage.ErrInvalid)
	}
	c.Replication = r
	if c.Consistency == 0 {
		// 0 is ANY, never wanted for a store that reads its writes.
		c.Consistency = d.Consistency
	}
	if c.SerialConsistency == 0 {
		c.SerialConsistency = d.SerialConsistency
	}
	if !c.SerialConsistency.IsSerial() {
		return c, fmt.Errorf("cql: serial consistency %v is not SERIAL or LOCAL_SERIAL: %w", c.SerialConsistency, storage.ErrInvalid)
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.NumConns <= 0 {
		c.NumConns = d.NumConns
	}
	c.Limits = c.Limits.WithDefaults()
	if c.MessageBucketSize == 0 {
		c.MessageBucketSize = d.MessageBucketSize
	}
	if c.InboxBucketSize == 0 {
		c.InboxBucketSize = d.InboxBucketSize
	}
	if c.ConditionalAppends <= 0 {
		c.ConditionalAppends = d.ConditionalAppends
	}
	if c.AsyncWorkers <= 0 {
		c.AsyncWorkers = d.AsyncWorkers
	}
	if c.AsyncQueue <= 0 {
		c.AsyncQueue = d.AsyncQueue
	}
	if c.LeaseCache <= 0 {
		c.LeaseCache = d.LeaseCache
	}
	if c.ActivityCache <= 0 {
		c.ActivityCache = d.ActivityCache
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
