package transport_test

import (
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A closed server frees its UDP port: a node restarted in process listens
// on the same address again.
func TestCloseFreesThePort(t *testing.T) {
	e := newEnv(t, envOptions{nodes: 1})
	addr := e.addr(0)
	if err := e.servers[0].Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := listenAgain(t, e, addr, 1)
	if err != nil {
		t.Fatalf("listen again on %s after Close: %v", addr, err)
	}
	_ = srv.Close()
}

// The node's port stays its own although it is served by several
// SO_REUSEPORT sockets: a second server on the same address fails.
func TestPortInUseFails(t *testing.T) {
	e := newEnv(t, envOptions{transport: transport.Config{Sockets: 4}})
	srv, err := listenAgain(t, e, e.addr(0), 4)
	if err == nil {
		_ = srv.Close()
		t.Fatalf("a second server listened on %s, which the first still serves", e.addr(0))
	}
}

// A node serving its port on several SO_REUSEPORT sockets serves every
// client whichever socket the kernel hands its packets to: each of 16
// clients (16 source ports) sends to the next and gets what the previous
// one sent.
func TestSeveralSocketsServeEveryClient(t *testing.T) {
	e := newEnv(t, envOptions{transport: transport.Config{Sockets: 4}})
	ctx := tctx(t)
	const n = 16
	cs := make([]*client.Client, n)
	for i := range cs {
		cs[i] = e.dial(fmt.Sprintf("s%d", i), "phone")
	}
	for i, c := range cs {
		p, err := c.Send(client.ToUser(fmt.Sprintf("s%d", (i+1)%n)), []byte(fmt.Sprintf("from s%d", i)), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(ctx); err != nil {
			t.Fatalf("s%d: %v", i, err)
		}
	}
	for i, c := range cs {
		prev := (i + n - 1) % n
		conv := wirepb.DirectConvID(fmt.Sprintf("s%d", prev), fmt.Sprintf("s%d", i))
		want := fmt.Sprintf("from s%d", prev)
		eventually(t, fmt.Sprintf("s%d gets %q", i, want), func() bool { return joined(texts(t, c, conv)) == want })
	}
}

// listenAgain starts a second server for e's first node on addr.
func listenAgain(t *testing.T, e *env, addr string, sockets int) (*transport.Server, error) {
	t.Helper()
	auth, err := transport.NewAuthenticator(e.auth)
	if err != nil {
		t.Fatal(err)
	}
	return transport.Listen(e.nodes[0].Runtime, transport.Config{Addr: addr, Auth: auth, Sockets: sockets,
		TLS: selfSignedTLS(t), Logger: testLogger()})
}

// selfSignedTLS is a server TLS configuration with a fresh self-signed
// certificate (one the test clients do not trust unless told).
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := transport.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}
