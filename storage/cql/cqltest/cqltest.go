// Package cqltest opens CQL stores for the tests and benchmarks of other
// packages: each on a fresh keyspace of the Cassandra that
// SWITCHBOARD_CQL_HOSTS names (`make cassandra` starts one), dropped when
// the test ends.
package cqltest

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/switchboard-im/switchboard/storage/cql"
)

// Hosts returns SWITCHBOARD_CQL_HOSTS. Without it the test skips, except
// under CI=true, where a skip would hide an untested backend.
func Hosts(t testing.TB) []string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv("SWITCHBOARD_CQL_HOSTS"))
	if v == "" {
		const msg = "SWITCHBOARD_CQL_HOSTS is not set; run under scripts/with-cassandra.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.Split(v, ",")
}

// Open opens a CQL store with the default config on a fresh keyspace
// named prefix_<random>, dropped at cleanup, and returns it with its
// config.
func Open(t testing.TB, prefix string, logger *slog.Logger) (*cql.Store, cql.Config) {
	t.Helper()
	var r [6]byte
	if _, err := crand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	cfg := cql.DefaultConfig()
	cfg.Hosts = Hosts(t)
	cfg.Keyspace = prefix + "_" + hex.EncodeToString(r[:])
	cfg.Logger = logger
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := cql.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		sess, err := gocql.NewCluster(cfg.Hosts...).CreateSession()
		if err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
			return
		}
		defer sess.Close()
		if err := sess.Query("DROP KEYSPACE IF EXISTS " + cfg.Keyspace).Exec(); err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
		}
	})
	return s, cfg
}
