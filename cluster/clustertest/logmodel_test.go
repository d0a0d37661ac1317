package clustertest

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The log model accepts what the cluster may do and refuses what it must
// not: checked on small hand-made histories (no cluster needed).
func TestLogModel(t *testing.T) {
	send := func(client int, id string, seq uint64, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: sendIn{id: id}, Output: sendOut{seq: seq}, Call: call, Return: ret}
	}
	read := func(call, ret int64, lo uint64, es ...logEntry) porcupine.Operation {
		return porcupine.Operation{ClientId: 9, Input: readIn{}, Output: readOut{lo: lo, entries: es}, Call: call, Return: ret}
	}
	cases := []struct {
		name string
		ops  []porcupine.Operation
		ok   bool
	}{
		{"sends then a read that shows them", []porcupine.Operation{
			send(0, "a", 1, 0, 10), send(1, "b", 2, 5, 15), read(20, 30, 1, logEntry{1, "a"}, logEntry{2, "b"})}, true},
		{"a read concurrent with a send may miss it", []porcupine.Operation{
			send(0, "a", 1, 0, 10), send(1, "b", 2, 15, 40), read(20, 30, 1, logEntry{1, "a"})}, true},
		{"a hole: a later seq shows before a concurrent earlier one", []porcupine.Operation{
			send(0, "a", 1, 0, 40), send(1, "b", 2, 0, 40), read(20, 30, 2, logEntry{2, "b"})}, true},
		{"an acked message missing from a later read", []porcupine.Operation{
			send(0, "a", 1, 0, 10), send(1, "b", 2, 0, 10), read(20, 30, 1, logEntry{2, "b"})}, false},
		{"one seq acked to two messages", []porcupine.Operation{
			send(0, "a", 1, 0, 10), send(1, "b", 1, 20, 30)}, false},
		{"a message shown, then gone", []porcupine.Operation{
			send(0, "a", 1, 0, 100), read(10, 20, 1, logEntry{1, "a"}), read(30, 40, 0)}, false},
		{"a message at another seq than its ack", []porcupine.Operation{
			send(0, "a", 1, 0, 10), read(20, 30, 1, logEntry{2, "a"})}, false},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperations(logModel, c.ops); got != c.ok {
			t.Errorf("%s: linearizable %v, want %v", c.name, got, c.ok)
		}
	}

	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	good := []ack{{conv: "c", id: "a", seq: 1, sent: at(0), at: at(10)}, {conv: "c", id: "b", seq: 3, sent: at(20), at: at(30)},
		{conv: "c", id: "x", seq: 2, sent: at(5), at: at(40)}}
	if bad := seqOrder(good); len(bad) > 0 {
		t.Errorf("seq order flagged a legal history: %v", bad)
	}
	late := append(good, ack{conv: "c", id: "d", seq: 2, sent: at(50), at: at(60)})
	if bad := seqOrder(late); len(bad) != 1 {
		t.Errorf("seq order: %v, want one violation (d sent after b returned seq 3, got seq 2)", bad)
	}
}
