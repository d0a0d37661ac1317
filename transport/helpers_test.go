package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// env is one or more nodes, each with a QUIC server on loopback.
type env struct {
	t       testing.TB
	store   storage.Store
	nodes   []*boot.Node
	servers []*transport.Server
	certPEM []byte
	roots   *x509.CertPool
	auth    transport.AuthConfig
}

type envOptions struct {
	nodes     int
	actors    actors.Config
	transport transport.Config
	desk      desk.Config
}

// nodeLifetimes serializes the tests' nodes under -race.
var nodeLifetimes sync.Mutex

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.nodes == 0 {
		o.nodes = 1
	}
	if raceEnabled {
		// protoactor-go races inside itself (grpc's global logger set on
		// every start, its endpoint readers on shutdown) when nodes of one
		// process overlap: under -race the tests of this package run their
		// nodes one at a time, and the multi-node test runs in the normal
		// pass only.
		if o.nodes > 1 {
			t.Skip("multi-node: protoactor-go races internally; covered by the normal pass")
		}
		nodeLifetimes.Lock()
		t.Cleanup(nodeLifetimes.Unlock)
	}
	limits := storage.DefaultLimits()
	if o.actors.MaxBodyBytes > 0 {
		limits.MaxBodyBytes = o.actors.MaxBodyBytes // the store takes what the grains take
	}
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Limits: limits, Logger: testLogger()})
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
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	e := &env{t: t, store: store, certPEM: certPEM, roots: roots, auth: transport.AuthConfig{Secret: testSecret}}
	if o.transport.Auth == nil {
		o.transport.Auth, err = transport.NewAuthenticator(e.auth)
		if err != nil {
			t.Fatal(err)
		}
	}
	o.actors.Logger = testLogger()
	for i := 0; i < o.nodes; i++ {
		nc := boot.NodeConfig{Store: store, Actors: o.actors, Desk: o.desk, Logger: testLogger(), ClusterName: "transport-test"}
		if i > 0 {
			nc.Membership.Seeds = []string{e.nodes[0].MembershipAddr()}
		}
		node, err := boot.StartNode(nc)
		if err != nil {
			t.Fatal(err)
		}
		e.nodes = append(e.nodes, node)
		tc := o.transport
		tc.Addr = "127.0.0.1:0"
		tc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		tc.Logger = testLogger()
		srv, err := transport.Listen(node.Runtime, tc)
		if err != nil {
			t.Fatal(err)
		}
		e.servers = append(e.servers, srv)
	}
	t.Cleanup(func() {
		for _, s := range e.servers {
			_ = s.Close()
		}
		var wg sync.WaitGroup
		for _, n := range e.nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop(true) }()
		}
		wg.Wait()
		_ = store.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range e.nodes {
		for len(n.ClusterMembers()) != len(e.nodes) {
			if time.Now().After(deadline) {
				t.Fatalf("cluster did not form")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return e
}

func (e *env) addr(i int) string { return e.servers[i].Addr().String() }

func (e *env) token(user, device string) string {
	tok, err := transport.MintHS256(testSecret, user, device, time.Hour, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) clientTLS() *tls.Config { return &tls.Config{RootCAs: e.roots} }

func (e *env) config(user, device string) client.Config {
	return client.Config{Addr: e.addr(0), TLS: e.clientTLS(), Token: e.token(user, device), Logger: testLogger(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

// dial connects a client for user/device to server 0.
func (e *env) dial(user, device string, mods ...func(*client.Config)) *client.Client {
	e.t.Helper()
	cfg := e.config(user, device)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := client.Dial(tctx(e.t), cfg)
	if err != nil {
		e.t.Fatalf("dial %s/%s: %v", user, device, err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// texts returns the bodies of conv's normal messages held by c, in order,
// checking seqs are strictly increasing.
func texts(t testing.TB, c *client.Client, conv string) []string {
	t.Helper()
	var out []string
	var last uint64
	for _, m := range c.Messages(conv) {
		if m.Seq == 0 {
			continue
		}
		if m.Seq <= last {
			t.Fatalf("%s: seq %d after %d", conv, m.Seq, last)
		}
		last = m.Seq
		if m.Kind == wirepb.MessageKind_NORMAL {
			out = append(out, string(m.Body))
		}
	}
	return out
}

func joined(ss []string) string { return strings.Join(ss, ",") }

func codeOf(err error) wirepb.Code { return wirepb.CodeOf(err) }

// setUpDesk registers the scene "listing" of line cars with route and
// the sales agents (capacity 1) in status on e's first node.
func setUpDesk(t testing.TB, e *env, route []string, status string, agents ...string) {
	t.Helper()
	ctx := tctx(t)
	d := e.nodes[0].Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: route}); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: a, Status: ptr(status), Capacity: ptr(1), Skills: ptr([]string{"sales"})}); err != nil {
			t.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
