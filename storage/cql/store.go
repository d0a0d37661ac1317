// Package cql implements storage.Store on ScyllaDB or Apache Cassandra
// through gocqlx. It uses only CQL both databases accept: lightweight
// transactions for fencing and for "never overwrite a seq", no secondary
// indexes, no materialized views, no Scylla-only clauses.
//
// Messages live in partitions (conv_id, seq/MessageBucketSize) clustered by
// seq descending, inbox entries in (user_id, seq/InboxBucketSize), so every
// page is a slice of one partition. The schema is in schema/*.cql.
package cql

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Store is a storage.Store on a CQL keyspace. Safe for concurrent use.
type Store struct {
	cfg      Config
	sess     gocqlx.Session
	lim      storage.Limits
	closed   atomic.Bool
	stats    *statsObserver
	leases   *leases
	confirms *confirms
	// the same for user inboxes (inbox_heads)
	inboxLeases   *leases
	inboxConfirms *confirms
	activity      *maxCache // last activity, milliseconds
	// highest read / device cursors written or read
	readCursors, devCursors *maxCache

	// async appends: a fixed pool of workers fed by a bounded queue.
	asyncMu sync.RWMutex // held for reading while enqueueing, for writing by Close
	asyncQ  chan asyncJob
	casSem  chan struct{} // bounds unfenced conditional appends in flight
	asyncWG sync.WaitGroup

	closeOnce sync.Once
}

var _ storage.Store = (*Store)(nil)

// Open connects, creates the keyspace if missing, applies the pending
// schema files and starts the async append workers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := createKeyspace(ctx, cfg); err != nil {
		return nil, err
	}
	cluster := newCluster(cfg)
	cluster.Keyspace = cfg.Keyspace
	stats := &statsObserver{}
	cluster.QueryObserver, cluster.BatchObserver = stats, stats
	sess, err := gocqlx.WrapSession(cluster.CreateSession())
	if err != nil {
		return nil, fmt.Errorf("cql: connect to %v: %w", cfg.Hosts, err)
	}
	if err := migrate(ctx, sess, cfg); err != nil {
		sess.Close()
		return nil, err
	}
	convLeases := newLeases(cfg.LeaseCache, convFence, "append to")
	inboxLeases := newLeases(cfg.LeaseCache, inboxFence, "write inbox of")
	s := &Store{cfg: cfg, sess: sess, lim: cfg.Limits, stats: stats,
		leases: convLeases, confirms: newConfirms(convLeases),
		inboxLeases: inboxLeases, inboxConfirms: newConfirms(inboxLeases),
		activity: newMaxCache(cfg.ActivityCache), readCursors: newMaxCache(cfg.ActivityCache),
		devCursors: newMaxCache(cfg.ActivityCache)}
	s.startAsync()
	return s, nil
}

// newCluster builds the driver configuration shared by the bootstrap and
// the main session.
func newCluster(cfg Config) *gocql.ClusterConfig {
	c := gocql.NewCluster(cfg.Hosts...)
	c.Consistency = cfg.Consistency
	c.SerialConsistency = cfg.SerialConsistency
	c.Timeout = cfg.Timeout
	c.ConnectTimeout = cfg.ConnectTimeout
	c.NumConns = cfg.NumConns
	c.DisableInitialHostLookup = cfg.DisableInitialHostLookup
	// Token-aware routing sends each statement to a replica of its
	// partition. With the scylladb driver on Apache Cassandra it degrades to
	// round-robin (replica metadata is read from Scylla-only tables), which
	// is correct, only one hop longer.
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	// No schema events: the driver (v1.14.4) panics in the token-aware
	// policy when a keyspace event reaches a session without ring metadata
	// (a short-lived bootstrap session, or one still connecting, while
	// other keyspaces are created or dropped). The main session reads its
	// keyspace's replication when it connects; a replication change is
	// picked up at the next start.
	c.Events.DisableSchemaEvents = true
	c.Logger = driverLogger{cfg.Logger}
	if cfg.Username != "" {
		c.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	return c
}

// createKeyspace runs CREATE KEYSPACE IF NOT EXISTS on a short-lived
// session without a keyspace (the main session needs it to exist).
func createKeyspace(ctx context.Context, cfg Config) error {
	sess, err := newCluster(cfg).CreateSession()
	if err != nil {
		return fmt.Errorf("cql: connect to %v: %w", cfg.Hosts, err)
	}
	defer sess.Close()
	// DDL takes no bind markers; Keyspace and Replication were validated.
	stmt := fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s AND durable_writes = true",
		cfg.Keyspace, cfg.Replication)
	if err := sess.Query(stmt).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("cql: create keyspace %s: %w", cfg.Keyspace, err)
	}
	if err := sess.AwaitSchemaAgreement(ctx); err != nil {
		return fmt.Errorf("cql: schema agreement: %w", err)
	}
	return nil
}

// Close waits for queued async appends, then closes the session.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stopAsync()
		s.sess.Close()
	})
	return nil
}

// check fails fast once the store is closed.
func (s *Store) check() error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return nil
}

// driverLogger forwards the driver's log lines to slog.
type driverLogger struct{ l *slog.Logger }

func (d driverLogger) Print(v ...any) { d.l.Warn(fmt.Sprint(v...), "component", "gocql") }
func (d driverLogger) Printf(format string, v ...any) {
	d.l.Warn(fmt.Sprintf(format, v...), "component", "gocql")
}
func (d driverLogger) Println(v ...any) { d.l.Warn(fmt.Sprint(v...), "component", "gocql") }
