package instrumented_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/instrumented"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/storage/storagetest"
)

// The wrapper must be transparent: it passes the whole conformance suite,
// and it records what it saw.
func TestWrapped(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return instrumented.Wrap(s)
	})
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_store_op_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var op, res string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "op":
					op = l.GetValue()
				case "result":
					res = l.GetValue()
				}
			}
			seen[op+"/"+res] = true
		}
	}
	for _, want := range []string{"AppendMessages/ok", "AppendMessages/conflict", "GetMessage/not_found", "AppendMessages/invalid", "AppendMessagesAsync/ok"} {
		if !seen[want] {
			t.Errorf("no observation %s", want)
		}
	}
}
