// Package analytics is the event-time analytics engine for service
// conversations: response times under the conversation model ("A asks, A
// follows up, B replies") and the per-message model, timely-reply rates,
// sessions and first response times, aggregated per agent and overall in
// tumbling and sliding windows with watermarks, allowed lateness and side
// counters for late and future events.
//
// The engine is plain Go with no actors and no I/O on the hot path. It is fed
// one Event at a time, each conversation in seq order (conversations may be
// interleaved arbitrarily), and gives the same results as Recompute, the batch
// pass over the stored log. Everything that decides an event's fate depends
// only on its own conversation's history, and aggregates are sums, so the
// interleaving across conversations never changes the outcome.
//
// Snapshot and Restore checkpoint the whole state together with the seq
// consumed per conversation; Process ignores seqs already consumed, so a
// replay of the log from any earlier position after a Restore is
// exactly-once.
//
// The definitions, with worked examples, are in docs/METRICS.md.
package analytics
