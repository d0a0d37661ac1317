package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is a run's report; the JSON file is this struct.
type Result struct {
	Scenario  string         `json:"scenario"`
	Params    map[string]any `json:"params"`
	StartedAt time.Time      `json:"started_at"`
	DurationS float64        `json:"duration_s"`

	Sent   int64 `json:"sent"`
	Acked  int64 `json:"acked"`
	Failed int64 `json:"failed"`
	// RefusedBusy counts sends the server refused with BUSY (load shed at
	// the door). The bench does not resend them: they are neither acked nor
	// failed, and owe no delivery.
	RefusedBusy int64 `json:"refused_busy"`
	// RefusedLocal is the part of RefusedBusy the clients refused
	// themselves, unsent, while a BUSY's retry-after ran.
	RefusedLocal int64 `json:"refused_local"`
	Delivered    int64 `json:"delivered"`
	Expected     int64 `json:"expected_deliveries"`
	// Late: acked messages a recipient had not seen when the drain ended
	// and that a final resync (each recipient reading the conversation's
	// history) then found.
	Late int64 `json:"late"`
	// NeverDelivered: acked messages some recipient had not seen even
	// after that final resync.
	NeverDelivered int64 `json:"never_delivered"`
	Duplicates     int64 `json:"duplicates"`
	OutOfOrder     int64 `json:"out_of_order"`
	// Reordered: older messages that arrived after newer ones because a
	// resync filled a gap (not a fault: the SDK orders by seq).
	Reordered int64 `json:"reordered_after_resync"`
	// LostSample names a few never-delivered messages, to start looking
	// from.
	LostSample []string `json:"lost_sample,omitempty"`

	ThroughputAckedPerS     float64     `json:"throughput_acked_per_s"`
	ThroughputDeliveredPerS float64     `json:"throughput_delivered_per_s"`
	AckMs                   Percentiles `json:"ack_ms"`
	DeliveryMs              Percentiles `json:"delivery_ms"`

	Server ServerReport     `json:"server"`
	Bench  BenchReport      `json:"bench"`
	Errors map[string]int64 `json:"errors"`
	// ErrorSamples is the first error of each kind of Errors, as its text.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`

	Connect *ConnectReport `json:"connect,omitempty"`
	Sync    *SyncReport    `json:"sync,omitempty"`

	Series           []Point         `json:"series"`
	AckSpectrum      []SpectrumPoint `json:"ack_spectrum,omitempty"`
	ConnectSpectrum  []SpectrumPoint `json:"connect_spectrum,omitempty"`
	DeliverySpectrum []SpectrumPoint `json:"delivery_spectrum,omitempty"`
	Notes            []string        `json:"notes,omitempty"`
}

// ServerReport is the node's process, from its admin /metrics.
type ServerReport struct {
	Measured      bool    `json:"measured"`
	RSSBytesMax   float64 `json:"rss_bytes_max"`
	RSSBytesStart float64 `json:"rss_bytes_start"`
	RSSBytesEnd   float64 `json:"rss_bytes_end"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	// The node's store work over the run (counter deltas), when it reports
	// them: store operations (switchboard_store_op_seconds_count), and on
	// CQL the requests and lightweight transactions it sent
	// (switchboard_cql_requests_total). Per message = over acked messages.
	StoreOps          float64 `json:"store_ops,omitempty"`
	CQLRequests       float64 `json:"cql_requests,omitempty"`
	CQLLWTs           float64 `json:"cql_lwts,omitempty"`
	StoreOpsPerMsg    float64 `json:"store_ops_per_msg,omitempty"`
	CQLRequestsPerMsg float64 `json:"cql_requests_per_msg,omitempty"`
	LWTPerMsg         float64 `json:"lwt_per_msg,omitempty"`
	HasStoreOps       bool    `json:"has_store_ops,omitempty"`
	HasCQL            bool    `json:"has_cql,omitempty"`
	// NodeSendP50Ms/P99Ms: the node's own time from reading an accepted
	// send to writing its ack (its request histogram over the run, as the upper
	// bound of the bucket holding the quantile). Beside the bench's
	// send→ack it tells the node's part from the clients' and the
	// network's: a bench that starves its own clients (10,000 of them on
	// the same cores) sees acks late that the node answered in time.
	NodeSendP50Ms float64 `json:"node_send_p50_ms,omitempty"`
	NodeSendP99Ms float64 `json:"node_send_p99_ms,omitempty"`
	// NodeSchedP90Ms/P99Ms: how long the node's runnable goroutines waited
	// to run over the run (go_sched_latencies_seconds, bucket upper
	// bounds). Under a millisecond on a node with CPU to spare; tens of
	// milliseconds when its CPU is saturated, a wait every hop of a
	// message pays and the send→ack above does not include.
	NodeSchedP90Ms float64 `json:"node_sched_p90_ms,omitempty"`
	NodeSchedP99Ms float64 `json:"node_sched_p99_ms,omitempty"`
	// CPUUsPerAcked and CPUUsPerDelivery: the node's CPU over the run
	// (refusals, pushes and the drain included) per acked message and per
	// delivery, in µs.
	CPUUsPerAcked    float64 `json:"cpu_us_per_acked,omitempty"`
	CPUUsPerDelivery float64 `json:"cpu_us_per_delivery,omitempty"`
}

// setCPU fills the CPU per acked message and per delivery.
func (r *ServerReport) setCPU(acked, delivered int64) {
	if acked > 0 {
		r.CPUUsPerAcked = r.CPUSeconds * 1e6 / float64(acked)
	}
	if delivered > 0 {
		r.CPUUsPerDelivery = r.CPUSeconds * 1e6 / float64(delivered)
	}
}

// setStore fills the store figures from the counters at begin and end.
func (r *ServerReport) setStore(first, last serverSample, acked int64) {
	r.HasStoreOps, r.HasCQL = last.hasStore, last.hasCQL
	r.StoreOps = last.storeOps - first.storeOps
	r.CQLRequests = last.cqlRequests - first.cqlRequests
	r.CQLLWTs = last.cqlLWTs - first.cqlLWTs
	r.NodeSendP50Ms, r.NodeSendP99Ms = histQuantile(first.sendBuckets, last.sendBuckets, 0.5), histQuantile(first.sendBuckets, last.sendBuckets, 0.99)
	r.NodeSchedP90Ms, r.NodeSchedP99Ms = histQuantile(first.schedBuckets, last.schedBuckets, 0.9), histQuantile(first.schedBuckets, last.schedBuckets, 0.99)
	if acked > 0 {
		n := float64(acked)
		r.StoreOpsPerMsg, r.CQLRequestsPerMsg, r.LWTPerMsg = r.StoreOps/n, r.CQLRequests/n, r.CQLLWTs/n
	}
}

// BenchReport is the bench's own cost: if it used most of a core, it, not
// the server, may have been the bound.
type BenchReport struct {
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUCoresAvg  float64 `json:"cpu_cores_avg"`
	HeapBytesMax uint64  `json:"heap_bytes_max"`
	Clients      int     `json:"clients"`
	UDPSockets   int     `json:"udp_sockets"`
	// WebSocket: the clients connected over WebSocket, not QUIC.
	WebSocket bool `json:"websocket,omitempty"`
	// UDPReceiveDrops: datagrams this machine dropped over the run because
	// a socket's receive buffer was full (udpStats; nil: not measured,
	// e.g. not Linux).
	UDPReceiveDrops *int64 `json:"udp_receive_drops,omitempty"`
	// UDPReceived: datagrams this machine received over the run (node and
	// bench on one machine: every QUIC packet between them, once).
	UDPReceived *int64 `json:"udp_received,omitempty"`
	// SenderProcess: the group's senders ran in a process of their own
	// (Options.SenderExec); its cost is not in the figures above.
	SenderProcess *SenderProcessReport `json:"sender_process,omitempty"`
}

// Faults lists what verification found a fault: anything never delivered,
// duplicated or out of order, or a send the server refused.
func (r *Result) Faults() []string {
	var f []string
	if r.NeverDelivered > 0 {
		f = append(f, fmt.Sprintf("never_delivered=%d", r.NeverDelivered))
	}
	if r.Duplicates > 0 {
		f = append(f, fmt.Sprintf("duplicates=%d", r.Duplicates))
	}
	if r.OutOfOrder > 0 {
		f = append(f, fmt.Sprintf("out_of_order=%d", r.OutOfOrder))
	}
	if r.Failed > 0 {
		f = append(f, fmt.Sprintf("failed_sends=%d", r.Failed))
	}
	if r.Connect != nil && r.Connect.Failed > 0 {
		f = append(f, fmt.Sprintf("failed_connects=%d", r.Connect.Failed))
	}
	if r.Sync != nil && r.Sync.Incomplete > 0 {
		f = append(f, fmt.Sprintf("incomplete_syncs=%d", r.Sync.Incomplete))
	}
	return f
}

// WriteJSON writes the report to path.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// WriteTable prints the final table.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, f string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(f, a...)) }
	row("scenario", "%s  (%s)", r.Scenario, paramString(r.Params))
	row("duration", "%.1f s", r.DurationS)
	if r.Sent > 0 || r.Scenario != "connect" && r.Scenario != "sync" {
		row("messages", "sent %d  acked %d  failed %d", r.Sent, r.Acked, r.Failed)
		row("deliveries", "%d of %d expected", r.Delivered, r.Expected)
		row("refused", "%d sends refused BUSY (load shed; not resent), %d of them by the clients during a retry-after", r.RefusedBusy, r.RefusedLocal)
		row("verification", "never delivered %d  late %d (not pushed by the end of the drain, found by a final resync)  duplicates %d  out_of_order %d  (reordered after resync %d)",
			r.NeverDelivered, r.Late, r.Duplicates, r.OutOfOrder, r.Reordered)
		row("throughput", "acked %.0f/s  delivered %.0f/s", r.ThroughputAckedPerS, r.ThroughputDeliveredPerS)
		fmt.Fprintf(tw, "latency (ms)\tp50\tp90\tp99\tp99.9\tmax\n")
		lat := func(k string, p Percentiles) {
			fmt.Fprintf(tw, "  %s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", k, p.P50, p.P90, p.P99, p.P999, p.Max)
		}
		lat("send→ack", r.AckMs)
		lat("send→delivery", r.DeliveryMs)
	}
	if c := r.Connect; c != nil {
		row("connections", "%d of %d up (%d failed, %d dropped while held)", c.Connected, c.Target, c.Failed, c.Dropped)
		row("connect rate", "%.0f/s  (connect p50 %.1f ms, p99 %.1f ms, max %.1f ms)", c.RatePerS, c.ConnectMs.P50, c.ConnectMs.P99, c.ConnectMs.Max)
		if r.Server.Measured {
			row("server memory", "%.1f KiB per connection (RSS %.0f → %.0f MiB)", c.ServerBytesPerConn/1024, c.ServerRSSBefore/(1<<20), c.ServerRSSAfter/(1<<20))
		}
		row("bench memory", "%.1f KiB per connection (heap)", c.BenchBytesPerConn/1024)
	}
	if s := r.Sync; s != nil {
		row("sync", "%d users × %d changed conversations (%d incomplete)", s.Users, s.Convs, s.Incomplete)
		row("  reconnect → full list", "p50 %.1f ms  max %.1f ms  (%.1f KiB on the wire, handshake included)", s.ListMs.P50, s.ListMs.Max, s.ListWireBytes/1024)
		row("  sync requests alone", "p50 %.1f ms  max %.1f ms  (%.1f KiB of sync answers, %d pages)", s.SyncMs.P50, s.SyncMs.Max, s.SyncBytes/1024, s.SyncPages)
		row("  latest page of each", "p50 %.0f ms  max %.0f ms  (%.1f KiB on the wire per user)", s.PagesMs.P50, s.PagesMs.Max, s.PagesWireBytes/1024)
	}
	if r.Server.Measured {
		row("server", "RSS max %.0f MiB  CPU %.1f s (%.0f%% of a core)", r.Server.RSSBytesMax/(1<<20), r.Server.CPUSeconds, 100*r.Server.CPUSeconds/max(r.DurationS, 1e-9))
		if sv := r.Server; sv.CPUUsPerAcked > 0 {
			row("server CPU", "%.0f µs per acked message, %.0f µs per delivery  (the run's CPU: refusals, pushes and the drain included)", sv.CPUUsPerAcked, sv.CPUUsPerDelivery)
		}
		if sv := r.Server; sv.NodeSendP99Ms > 0 {
			row("node send→ack", "p50 ≤ %g ms  p99 ≤ %g ms  (accepted sends, the node's own histogram: read to ack written)", sv.NodeSendP50Ms, sv.NodeSendP99Ms)
		}
		if sv := r.Server; sv.NodeSchedP99Ms > 0 {
			row("node run-queue wait", "p90 ≤ %.3g ms  p99 ≤ %.3g ms  (the node's goroutines, runnable to running: tens of ms = its CPU saturated)", sv.NodeSchedP90Ms, sv.NodeSchedP99Ms)
		}
		if sv := r.Server; sv.HasStoreOps && r.Acked > 0 {
			row("store ops per message", "%.2f  (%.0f store operations / %d acked)", sv.StoreOpsPerMsg, sv.StoreOps, r.Acked)
		}
		if sv := r.Server; sv.HasCQL && r.Acked > 0 {
			row("LWT per message", "%.4f  (%.0f lightweight transactions; %.2f CQL requests per message)", sv.LWTPerMsg, sv.CQLLWTs, sv.CQLRequestsPerMsg)
		}
	} else {
		row("server", "not measured (no admin URL)")
	}
	carrier := fmt.Sprintf("on %d UDP sockets", r.Bench.UDPSockets)
	if r.Bench.WebSocket {
		carrier = "over WebSocket"
	}
	row("bench", "CPU %.1f s (%.0f%% of a core)  heap max %.0f MiB  %d clients %s",
		r.Bench.CPUSeconds, 100*r.Bench.CPUCoresAvg, float64(r.Bench.HeapBytesMax)/(1<<20), r.Bench.Clients, carrier)
	if n := r.Bench.UDPReceived; n != nil && r.Acked > 0 && !r.Bench.WebSocket {
		row("UDP datagrams", "%d received by this machine during the run, %.1f per acked message (node and bench on one machine: every QUIC packet between them, both ways)", *n, float64(*n)/float64(r.Acked))
	}
	if d := r.Bench.UDPReceiveDrops; d != nil {
		row("UDP drops", "%d datagrams dropped by this machine's full socket receive buffers during the run (the node's and the bench's; each a QUIC retransmission later)", *d)
	}
	if sp := r.Bench.SenderProcess; sp != nil {
		row("sender process", "pid %d, %d sending clients (sends and send→ack measured there)  CPU %.1f s (%.0f%% of a core)  heap %.0f MiB",
			sp.PID, sp.Clients, sp.CPUSeconds, 100*sp.CPUSeconds/max(r.DurationS, 1e-9), float64(sp.HeapBytesMax)/(1<<20))
	}
	if len(r.Errors) > 0 {
		var parts []string
		for _, k := range sortedKeys(r.Errors) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, r.Errors[k]))
		}
		row("errors", "%s", strings.Join(parts, "  "))
		for _, k := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
			row("first "+k, "%s", r.ErrorSamples[k])
		}
	}
	for _, l := range r.LostSample {
		row("never delivered", "%s", l)
	}
	for _, n := range r.Notes {
		row("note", "%s", n)
	}
	_ = tw.Flush()
}

func paramString(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return strings.Join(parts, " ")
}
