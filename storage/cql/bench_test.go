package cql

import (
	"testing"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/storagetest"
)

// BenchmarkStore runs the shared storage benchmarks (durable append with
// 1, 16 and 256 writers, latest page, inbox append + page) on a fresh
// keyspace with the default config; skipped without SWITCHBOARD_CQL_HOSTS.
func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store {
		cfg := testConfig(b)
		cfg.Consistency = DefaultConfig().Consistency // LOCAL_QUORUM, as in production
		return openWith(b, cfg)
	})
}
