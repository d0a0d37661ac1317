package transport_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The answers to a burst of pipelined requests leave in fewer stream
// writes than frames, and the writes counter counts them.
func TestBurstAnswersShareWrites(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))

	const n = 60 // under the default request burst: none refused
	var burst []byte
	for i := range n {
		burst = append(burst, frame(&wirepb.Request{Id: uint64(i + 1), Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}})...)
	}
	before := writesSoFar(t)
	if _, err := r.st.Write(burst); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		res, err := r.response()
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if res.GetError() != nil {
			t.Fatalf("answer %d: %v", i, res.GetError())
		}
	}
	writes := writesSoFar(t) - before
	t.Logf("%d answers in %.0f writes", n, writes)
	if writes < 1 || writes >= n {
		t.Fatalf("%d answers took %.0f stream writes: want at least one and fewer than one per answer", n, writes)
	}
}

func writesSoFar(t *testing.T) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "switchboard_transport_stream_writes_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("switchboard_transport_stream_writes_total is not registered")
	return 0
}
