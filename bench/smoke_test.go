package bench_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/bench"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/instrumented"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
)

var secret = []byte("0123456789abcdef0123456789abcdef-bench")

// node starts one in-process node with a QUIC server on loopback and
// returns the bench target for it.
func node(t testing.TB, wrap ...func(storage.Store) *instrumented.Store) bench.Target {
	t.Helper()
	return nodeWith(t, actors.Config{}, transport.Config{}, wrap...)
}

// nodeWith is node with ac and tc as the grains' and the transport's
// configuration (loggers, address, TLS and authenticator filled in).
func nodeWith(t testing.TB, ac actors.Config, tc transport.Config, wrap ...func(storage.Store) *instrumented.Store) bench.Target {
	t.Helper()
	target, _ := startNode(t, ac, tc, wrap...)
	return target
}

// startNode is nodeWith that also returns the node's QUIC server (for the
// browser transports to run on).
func startNode(t testing.TB, ac actors.Config, tc transport.Config, wrap ...func(storage.Store) *instrumented.Store) (bench.Target, *transport.Server) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	raw, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var store storage.Store = raw
	for _, w := range wrap {
		store = w(store)
	}
	ac.Logger = quiet
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: quiet, ClusterName: "bench-test", Actors: ac})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := transport.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tc.Addr, tc.TLS, tc.Auth, tc.Logger = "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}}, auth, quiet
	srv, err := transport.Listen(n.Runtime, tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		n.Stop(true)
		_ = store.Close()
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return bench.Target{
		Addrs: []string{srv.Addr().String()}, TLS: &tls.Config{RootCAs: roots}, Sockets: 2, Logger: quiet,
		Token: func(user, device string) (string, error) {
			return transport.MintHS256(secret, user, device, time.Hour, "")
		},
	}, srv
}

// smokeDuration is how long each smoke run sends (SWITCHBOARD_BENCH_SMOKE,
// seconds; default 5).
func smokeDuration(t *testing.T) time.Duration {
	if v := os.Getenv("SWITCHBOARD_BENCH_SMOKE"); v != "" {
		s, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SWITCHBOARD_BENCH_SMOKE=%q: %v", v, err)
		}
		return time.Duration(s) * time.Second
	}
	return 5 * time.Second
}

// run runs a scenario against a fresh node and requires a clean
// verification: the CI smoke check is about correctness, not speed.
func run(t *testing.T, o bench.Options) *bench.Result {
	t.Helper()
	return runOn(t, node(t), o)
}

// runOn is run against target.
func runOn(t *testing.T, target bench.Target, o bench.Options) *bench.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if testing.Verbose() {
		o.Progress = os.Stderr
	}
	res, err := bench.Run(ctx, target, o)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		res.WriteTable(os.Stderr)
	}
	if f := res.Faults(); len(f) > 0 {
		t.Fatalf("verification failed: %v (%v)", f, res.LostSample)
	}
	if res.Sent == 0 || res.Acked != res.Sent || res.Delivered != res.Expected {
		t.Fatalf("sent %d, acked %d, delivered %d of %d", res.Sent, res.Acked, res.Delivered, res.Expected)
	}
	return res
}

func TestSmokeChat(t *testing.T) {
	res := run(t, bench.Options{Scenario: "chat", Duration: smokeDuration(t), Rate: 200, Users: 20, Drain: 30 * time.Second})
	if res.Delivered != res.Sent {
		t.Fatalf("chat: %d delivered of %d sent", res.Delivered, res.Sent)
	}
}

// TestSmokeChatOverWebSocket: the bench's clients connect over the node's
// WebSocket (--websocket) and the run verifies as over QUIC.
func TestSmokeChatOverWebSocket(t *testing.T) {
	target, srv := startNode(t, actors.Config{}, transport.Config{})
	ws, err := web.New(srv, web.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ws.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = ws.Close()
	})
	target.WebSocketURLs = []string{"ws" + strings.TrimPrefix(hs.URL, "http") + web.WebSocketPath}
	res := runOn(t, target, bench.Options{Scenario: "chat", Duration: smokeDuration(t), Rate: 200, Users: 20, Drain: 30 * time.Second})
	if !res.Bench.WebSocket || res.Bench.UDPSockets != 0 || res.Delivered != res.Sent {
		t.Fatalf("over WebSocket: %+v, %d delivered of %d sent", res.Bench, res.Delivered, res.Sent)
	}
}

// TestSmokeStoreOps runs chat against a node whose store is instrumented
// and whose Prometheus registry is served as its admin /metrics: the
// report must carry the store operations per message.
func TestSmokeStoreOps(t *testing.T) {
	tg := node(t, instrumented.Wrap)
	admin := httptest.NewServer(promhttp.Handler())
	defer admin.Close()
	tg.AdminURL = admin.URL
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, tg, bench.Options{Scenario: "chat", Duration: 2 * time.Second, Rate: 100, Users: 10, Drain: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sv := res.Server
	if !sv.Measured || !sv.HasStoreOps || sv.HasCQL || res.Acked == 0 {
		t.Fatalf("server report %+v, %d acked", sv, res.Acked)
	}
	// A message costs its append plus one write per user grain flush (3),
	// less where flushes batch several messages; the bounds only catch a
	// scrape that read nothing or the wrong counter.
	if sv.StoreOpsPerMsg < 0.2 || sv.StoreOpsPerMsg > 20 {
		t.Fatalf("%.2f store operations per message", sv.StoreOpsPerMsg)
	}
	// The node's own send latency comes from its request histogram: some
	// bucket bound, never above the bench's own worst ack.
	if sv.NodeSendP50Ms <= 0 || sv.NodeSendP99Ms < sv.NodeSendP50Ms {
		t.Fatalf("node send p50 %g ms, p99 %g ms", sv.NodeSendP50Ms, sv.NodeSendP99Ms)
	}
	// The node's run-queue wait comes from the Go runtime's histogram, over
	// the run and second by second.
	if sv.NodeSchedP90Ms <= 0 || sv.NodeSchedP99Ms < sv.NodeSchedP90Ms {
		t.Fatalf("node run-queue wait p90 %g ms, p99 %g ms: want both, p99 ≥ p90", sv.NodeSchedP90Ms, sv.NodeSchedP99Ms)
	}
	if _, err := os.Stat("/proc/net/snmp"); err == nil && (res.Bench.UDPReceiveDrops == nil || *res.Bench.UDPReceiveDrops < 0) {
		t.Fatalf("UDP receive drops %v on a machine with /proc/net/snmp, want a count", res.Bench.UDPReceiveDrops)
	}
	// Every acked message took QUIC packets: the machine received some.
	if _, err := os.Stat("/proc/net/snmp"); err == nil && !res.Bench.WebSocket && (res.Bench.UDPReceived == nil || *res.Bench.UDPReceived <= 0) {
		t.Fatalf("UDP datagrams received %v over a QUIC run, want a count", res.Bench.UDPReceived)
	}
	perSecond := 0
	for _, p := range res.Series {
		if p.ServerSchedP90 > 0 {
			perSecond++
		}
	}
	if perSecond == 0 {
		t.Fatalf("no second of %d has the node's run-queue wait", len(res.Series))
	}
	// The CPU per message is the run's CPU over what was acked (and
	// delivered): the process serving /metrics is this test's.
	if want := sv.CPUSeconds * 1e6 / float64(res.Acked); sv.CPUSeconds <= 0 || sv.CPUUsPerAcked != want ||
		res.Delivered > 0 && sv.CPUUsPerDelivery != sv.CPUSeconds*1e6/float64(res.Delivered) {
		t.Fatalf("CPU %g s over %d acked, %d delivered: %g µs per acked, %g per delivery", sv.CPUSeconds, res.Acked, res.Delivered, sv.CPUUsPerAcked, sv.CPUUsPerDelivery)
	}
	var out strings.Builder
	res.WriteTable(&out)
	if !strings.Contains(out.String(), "node send→ack") || !strings.Contains(out.String(), "store ops per message") ||
		!strings.Contains(out.String(), "µs per acked message") || strings.Contains(out.String(), "LWT per message") {
		t.Fatalf("table:\n%s", out.String())
	}
}

func TestSmokeGroup(t *testing.T) {
	// Two groups: one on write fan-out, one above the large-group
	// threshold (500) on read fan-out through the node hub.
	run(t, bench.Options{Scenario: "group", Duration: smokeDuration(t), Rate: 4, Groups: 1, Members: 20, Senders: 2, Drain: 30 * time.Second})
	run(t, bench.Options{Scenario: "group", Duration: smokeDuration(t), Rate: 4, Groups: 1, Members: 520, Senders: 2, Drain: 30 * time.Second})
}
