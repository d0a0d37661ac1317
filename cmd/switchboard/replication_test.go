package main

import (
	"strings"
	"testing"
)

// --cql-replication is checked at its edge: 1 is the least factor a
// keyspace can have, below it serve refuses to start.
func TestCQLReplicationFlag(t *testing.T) {
	if got, err := cqlReplication(1); err != nil || got != "{'class': 'SimpleStrategy', 'replication_factor': 1}" {
		t.Fatalf("cqlReplication(1) = %q, %v", got, err)
	}
	if got, err := cqlReplication(3); err != nil || !strings.Contains(got, "'replication_factor': 3") {
		t.Fatalf("cqlReplication(3) = %q, %v", got, err)
	}
	for _, rf := range []string{"0", "-1"} {
		out, err := runCmd("serve", "--store", "cql", "--cql-hosts", "127.0.0.1:1", "--cql-replication", rf,
			"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "--cql-replication "+rf) {
			t.Fatalf("serve --cql-replication %s: err %v, output %s", rf, err, out)
		}
	}
}
