package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// serverSample is what a node's /metrics says about its process.
type serverSample struct {
	rss float64 // bytes
	cpu float64 // seconds since the process started
	// Store counters, summed over their labels; has* say whether the node
	// reports them (a Pebble node has no CQL counters).
	storeOps, cqlRequests, cqlLWTs float64
	hasStore, hasCQL               bool
	// sendBuckets is the node's histogram of accepted sends
	// (switchboard_transport_request_seconds, op="send", code="OK"):
	// upper bound in seconds → cumulative count.
	sendBuckets map[float64]float64
	// schedBuckets is the node's Go scheduling latency, how long runnable
	// goroutines waited to run (go_sched_latencies_seconds): its CPU
	// saturation signal, as admission reads it.
	schedBuckets map[float64]float64
}

var metricsClient = &http.Client{Timeout: 3 * time.Second}

// scrape reads process_resident_memory_bytes and process_cpu_seconds_total
// from the node's Prometheus endpoint (served without a token), and the
// store's operation and CQL request counters when the node has them.
func scrape(ctx context.Context, adminURL string) (serverSample, error) {
	var s serverSample
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(adminURL, "/")+"/metrics", nil)
	if err != nil {
		return s, err
	}
	res, err := metricsClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("admin metrics: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("admin metrics: %s", res.Status)
	}
	found := 0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		name, labels, _ := strings.Cut(name, "{")
		switch name {
		case "switchboard_store_op_seconds_count":
			if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				s.storeOps += v
				s.hasStore = true
			}
			continue
		case "switchboard_transport_request_seconds_bucket":
			if strings.Contains(labels, `op="send"`) && strings.Contains(labels, `code="OK"`) {
				addBucket(&s.sendBuckets, labels, val)
			}
			continue
		case "go_sched_latencies_seconds_bucket":
			addBucket(&s.schedBuckets, labels, val)
			continue
		case "switchboard_cql_requests_total":
			if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				s.cqlRequests += v
				if strings.Contains(labels, `lwt="true"`) {
					s.cqlLWTs += v
				}
				s.hasCQL = true
			}
			continue
		}
		var dst *float64
		switch name {
		case "process_resident_memory_bytes":
			dst = &s.rss
		case "process_cpu_seconds_total":
			dst = &s.cpu
		default:
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			*dst = v
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("admin metrics: %w", err)
	}
	if found < 2 {
		return s, fmt.Errorf("admin metrics: no process_resident_memory_bytes/process_cpu_seconds_total")
	}
	return s, nil
}

// addBucket adds one histogram bucket line (its labels with "le", its
// cumulative count) to *buckets.
func addBucket(buckets *map[float64]float64, labels, val string) {
	le, ok := labelValue(labels, "le")
	if !ok {
		return
	}
	bound, err1 := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
	v, err2 := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if err1 == nil && err2 == nil {
		if *buckets == nil {
			*buckets = map[float64]float64{}
		}
		(*buckets)[bound] += v
	}
}

// labelValue returns the value of label name in a Prometheus text-format
// label list (`a="x",b="y"}`).
func labelValue(labels, name string) (string, bool) {
	_, rest, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return "", false
	}
	v, _, ok := strings.Cut(rest, `"`)
	return v, ok
}

// histQuantile returns the upper bound, in ms, of the histogram bucket
// that holds quantile q of what was recorded between the scrapes first and
// last (0 when nothing was).
func histQuantile(first, last map[float64]float64, q float64) float64 {
	bounds := make([]float64, 0, len(last))
	for b := range last {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := last[bounds[len(bounds)-1]] - first[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	for _, b := range bounds {
		if last[b]-first[b] >= q*total {
			return b * 1000
		}
	}
	return bounds[len(bounds)-1] * 1000
}
