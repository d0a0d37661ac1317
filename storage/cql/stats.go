package cql

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/gocql/gocql"
	"github.com/prometheus/client_golang/prometheus"
)

// requests counts what the store sends to the database, so the cost of an
// operation is visible in statements and lightweight transactions, not
// only in latency.
var requests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_cql_requests_total",
	Help: "CQL requests sent by the store: kind is query or batch; lwt is true for a conditional statement (a Paxos round).",
}, []string{"kind", "lwt"})

func init() { prometheus.MustRegister(requests) }

// Stats are the requests one Store sent since it was opened (retries and
// speculative attempts included). A batch is one request whatever its size.
type Stats struct {
	Queries   uint64 // single statements
	Batches   uint64 // batch requests
	BatchRows uint64 // statements inside those batches
	LWTs      uint64 // requests that ran a Paxos round (conditional query or batch)
}

// Requests is Queries + Batches: round trips to a coordinator.
func (s Stats) Requests() uint64 { return s.Queries + s.Batches }

// Sub returns s - o, for the cost of what happened between two readings.
func (s Stats) Sub(o Stats) Stats {
	return Stats{Queries: s.Queries - o.Queries, Batches: s.Batches - o.Batches,
		BatchRows: s.BatchRows - o.BatchRows, LWTs: s.LWTs - o.LWTs}
}

type statsObserver struct {
	queries, batches, batchRows, lwts atomic.Uint64
}

// isLWT tells a conditional statement by its IF clause (the store's
// statements are built by qb, which writes " IF " in capitals); schema
// statements ("CREATE TABLE IF NOT EXISTS") are not.
func isLWT(stmt string) bool {
	if strings.HasPrefix(stmt, "CREATE ") || strings.HasPrefix(stmt, "ALTER ") || strings.HasPrefix(stmt, "DROP ") {
		return false
	}
	return strings.Contains(stmt, " IF ")
}

func (o *statsObserver) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	o.queries.Add(1)
	lwt := isLWT(q.Statement)
	if lwt {
		o.lwts.Add(1)
	}
	requests.WithLabelValues("query", boolLabel(lwt)).Inc()
}

func (o *statsObserver) ObserveBatch(_ context.Context, b gocql.ObservedBatch) {
	o.batches.Add(1)
	o.batchRows.Add(uint64(len(b.Statements)))
	lwt := false
	for _, st := range b.Statements {
		lwt = lwt || isLWT(st)
	}
	if lwt {
		o.lwts.Add(1)
	}
	requests.WithLabelValues("batch", boolLabel(lwt)).Inc()
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Stats returns the requests this store sent so far.
func (s *Store) Stats() Stats {
	o := s.stats
	return Stats{Queries: o.queries.Load(), Batches: o.batches.Load(), BatchRows: o.batchRows.Load(), LWTs: o.lwts.Load()}
}
