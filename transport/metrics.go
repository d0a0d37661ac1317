package transport

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics live in the default registry, which the admin server's /metrics
// serves. Package-level, so several servers in one process (tests) share them.
var (
	metricConns = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "connections",
		Help: "Authenticated client connections open now.",
	})
	metricConnsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "connections_total",
		Help: "Client connections by outcome of the connect (ok, or the error code).",
	}, []string{"result"})
	metricFrames = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "frames_total",
		Help: "Frames and datagrams by direction (in, out) and kind (hello, request, response, push, control, error, datagram).",
	}, []string{"dir", "stream"})
	metricErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "errors_total",
		Help: "Error codes sent to clients (in responses, stream resets and connection closes).",
	}, []string{"code"})
	metricQueueWaitRefusals = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "queue_wait_refusals_total",
		Help: "Requests answered BUSY because they waited longer than MaxQueueWait for a worker of their connection.",
	})
	metricChainedRefusals = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "chained_send_refusals_total",
		Help: "Sends answered BUSY because they were pipelined behind a send of theirs refused with a transient code.",
	})
	metricRequests = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "request_seconds",
		Help:    "Request latency at the node by operation and result code: from reading the request to writing its answer, waits for a worker and in a send's lane included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"op", "code"})
	metricRequestWait = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "request_wait_seconds",
		Help:    "How long a request that ran waited for its turn: for a worker of its connection, and a send in its lane behind earlier sends to its conversation.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"op"})
	metricPushOverflows = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "push_overflows_total",
		Help: "Push queues dropped because a client read too slowly (the client was told to resync).",
	})
	metricResyncs = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "node_resyncs_total",
		Help: "Clients told to resync because the node may have missed pushes for them (their user grain moved).",
	})
	metricPushes = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "pushes_total",
		Help: "Pushes written to clients.",
	})
	metricWrites = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "stream_writes_total",
		Help: "Writes to client streams; frames_total{dir=\"out\"} over this is how many frames a write carries on average.",
	})
	metricAuth = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "auth_total",
		Help: "Connection tokens checked, by verifier (own: HS256/EdDSA; provider: the identity provider's) and result (ok, expired, refused).",
	}, []string{"verifier", "result"})
	metricKeySetFailures = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "transport", Name: "provider_keyset_failures_total",
		Help: "Fetches of the identity provider's OpenID configuration or key set (JWKS), at start and on its refresh interval, that failed: its tokens of keys not yet fetched are refused.",
	})
)

// The per-frame counters, looked up once: a label lookup hashes its
// values, and these run for every frame.
var (
	framesInRequest   = metricFrames.WithLabelValues("in", "request")
	framesOutPush     = metricFrames.WithLabelValues("out", "push")
	framesOutResponse = metricFrames.WithLabelValues("out", "response")
	framesOutControl  = metricFrames.WithLabelValues("out", "control")
	framesOutDatagram = metricFrames.WithLabelValues("out", "datagram")
	framesInDatagram  = metricFrames.WithLabelValues("in", "datagram")
	requestsOK        sync.Map // op -> prometheus.Observer for code OK
)

// observeRequest records one answered request.
func observeRequest(op string, code string, seconds float64) {
	if code == "OK" {
		o, ok := requestsOK.Load(op)
		if !ok {
			o, _ = requestsOK.LoadOrStore(op, metricRequests.WithLabelValues(op, code))
		}
		o.(prometheus.Observer).Observe(seconds)
		return
	}
	metricRequests.WithLabelValues(op, code).Observe(seconds)
}
