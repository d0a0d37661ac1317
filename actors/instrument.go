package actors

import (
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Prometheus metrics of the grains. Names are documented in
// docs/OPERATIONS.md.
var (
	messagesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_messages_received_total",
		Help: "Send requests handled by conversation grains, by result code (OK = accepted).",
	}, []string{"code"})
	messagesAcked = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_messages_acked_total",
		Help: "Messages durably stored and acknowledged to their senders.",
	})
	ackSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchboard_ack_latency_seconds",
		Help:    "Time from a send reaching its conversation grain to its durable ack.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	deliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_deliveries_total",
		Help: "Messages delivered into members' inboxes (pushed to online devices).",
	})
	deliverySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchboard_delivery_latency_seconds",
		Help:    "Time from a message's server timestamp to its durable inbox entry at a member.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	})
	activations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_grain_activations_total",
		Help: "Grain activations, by kind.",
	}, []string{"kind"})
	passivations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_grain_passivations_total",
		Help: "Grains stopped after their idle time, by kind.",
	}, []string{"kind"})
	fenced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_conversation_fenced_total",
		Help: "Conversation activations that gave up because another activation took over (epoch lost, seq taken) or a write failed.",
	})
	adoptions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_conversation_adoptions_total",
		Help: "Retries of a message found in the store at activation, by how adopting its row ended (adopted: answered as a duplicate; superseded: written anew; failed: answered RETRY).",
	}, []string{"result"})
	metricBusy = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_busy_refusals_total",
		Help: "Sends refused with BUSY because the node had too much accepted work pending (admission.go).",
	})
	metricBusyRetryAfter = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_admission_retry_after_seconds",
		Help: "The retry-after a BUSY refusal asks for now (before its ±50% jitter): BusyRetryAfter times the sends refused per accepted in the last second, at most MaxBusyRetryAfter (admission.go).",
	})
	metricSendLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_admission_send_limit",
		Help: "Sends this node takes at once now: MaxPendingSends, lowered while sends take longer than SendLatencyTarget or goroutines wait longer than SchedLatencyTarget to run (admission.go).",
	})
	metricSchedLatency = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_admission_sched_latency_seconds",
		Help: "How long this process's runnable goroutines waited to run (90th percentile, upper bound of its bucket) over the last SendLatencyInterval with sends answered in it: the CPU saturation signal of admission (schedlat.go).",
	})
)

func init() {
	// The Go collector exports the runtime's scheduling latency too
	// (go_sched_latencies_seconds): the histogram admission's CPU signal
	// reads (schedlat.go), for operators and the bench.
	prometheus.Unregister(collectors.NewGoCollector())
	prometheus.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/latencies:seconds$`)})))
	prometheus.MustRegister(messagesIn, messagesAcked, ackSeconds, deliveries, deliverySeconds, activations, passivations, fenced, adoptions, metricBusy, metricBusyRetryAfter, metricSendLimit, metricSchedLatency)
}

func observeSend(e *pb.Error) { messagesIn.WithLabelValues(e.GetCode().String()).Inc() }

func observeAck(received time.Time) {
	messagesAcked.Inc()
	ackSeconds.Observe(time.Since(received).Seconds())
}

func observeDelivery(serverTsMs int64) {
	deliveries.Inc()
	if serverTsMs > 0 {
		deliverySeconds.Observe(time.Since(time.UnixMilli(serverTsMs)).Seconds())
	}
}
