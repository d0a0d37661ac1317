// Package cqlenv finds the Cassandra that the CQL tests run against
// (SWITCHBOARD_CQL_HOSTS; `make cassandra` starts one) and gives each
// test a keyspace of its own. It imports nothing of this module, so the
// cql package's own tests use it as well as cqltest, which imports cql.
package cqlenv

import (
	"crypto/rand"
	"encoding/hex"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// Hosts returns SWITCHBOARD_CQL_HOSTS. Without it the test skips, except
// under CI=true, where a skip would hide an untested backend.
func Hosts(tb testing.TB) []string {
	tb.Helper()
	return testenv.List(tb, "SWITCHBOARD_CQL_HOSTS is not set; start a node with `make cassandra` (scripts/cassandra.sh)", "SWITCHBOARD_CQL_HOSTS")
}

// Keyspace names a fresh keyspace, prefix_<random>, and drops it from
// hosts when the test ends (after the cleanups registered later, such as
// closing the store that uses it).
func Keyspace(tb testing.TB, hosts []string, prefix string) string {
	tb.Helper()
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		tb.Fatal(err)
	}
	ks := prefix + "_" + hex.EncodeToString(r[:])
	tb.Cleanup(func() {
		// A drop waits for the schema to agree: slow on a busy box.
		cc := gocql.NewCluster(hosts...)
		cc.Timeout, cc.ConnectTimeout = 30*time.Second, 10*time.Second
		sess, err := cc.CreateSession()
		if err != nil {
			tb.Logf("drop keyspace %s: %v", ks, err)
			return
		}
		defer sess.Close()
		if err := sess.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(); err != nil {
			tb.Logf("drop keyspace %s: %v", ks, err)
		}
	})
	return ks
}
