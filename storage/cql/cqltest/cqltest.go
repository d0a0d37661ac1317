// Package cqltest opens CQL stores for the tests and benchmarks of other
// packages: each on a fresh keyspace of the Cassandra that
// SWITCHBOARD_CQL_HOSTS names (`make cassandra` starts one), dropped when
// the test ends.
package cqltest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage/cql"
	"github.com/switchboard-im/switchboard/storage/cql/cqlenv"
)

// Hosts returns SWITCHBOARD_CQL_HOSTS. Without it the test skips, except
// under CI=true, where a skip would hide an untested backend.
func Hosts(t testing.TB) []string {
	t.Helper()
	return cqlenv.Hosts(t)
}

// Open opens a CQL store with the default config on a fresh keyspace
// named prefix_<random>, dropped at cleanup, and returns it with its
// config.
func Open(t testing.TB, prefix string, logger *slog.Logger) (*cql.Store, cql.Config) {
	t.Helper()
	cfg := cql.DefaultConfig()
	cfg.Hosts = Hosts(t)
	cfg.Keyspace = cqlenv.Keyspace(t, cfg.Hosts, prefix)
	cfg.Logger = logger
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := cql.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, cfg
}
