// Package clustertest holds multi-process cluster tests: several real
// `switchboard serve --store cql` processes sharing the Cassandra named by
// SWITCHBOARD_CQL_HOSTS, driven through the Go SDK. They cover routing
// across nodes, failover after SIGKILL, graceful drain, rolling restarts
// and, with Linux network namespaces, fencing under network partitions.
// TestRingFailover runs on the 3-node ring of scripts/cassandra-cluster.sh
// (SWITCHBOARD_CQL_RING_HOSTS) instead, killing one of its nodes mid-run:
//
//	make test-ring
//
// The package has no non-test code; run it with
//
//	scripts/with-cassandra.sh go test ./cluster/clustertest/ -v
package clustertest
