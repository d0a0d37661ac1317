package transport_test

import (
	"crypto/tls"
	"testing"

	"github.com/switchboard-im/switchboard/transport"
)

// A closed server frees its UDP port: a node restarted in process listens
// on the same address again.
func TestCloseFreesThePort(t *testing.T) {
	e := newEnv(t, envOptions{nodes: 1})
	addr := e.addr(0)
	if err := e.servers[0].Close(); err != nil {
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
	auth, err := transport.NewAuthenticator(e.auth)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := transport.Listen(e.nodes[0].Runtime, transport.Config{Addr: addr, Auth: auth,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, Logger: testLogger()})
	if err != nil {
		t.Fatalf("listen again on %s after Close: %v", addr, err)
	}
	_ = srv.Close()
}
