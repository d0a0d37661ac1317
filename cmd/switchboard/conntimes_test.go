package main

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestServeHelloTimeout: --hello-timeout reaches the node's connections. A
// client that completes the handshake and never says hello is closed with
// TIMEOUT, and the close names the configured timeout (the default is
// 10 s).
func TestServeHelloTimeout(t *testing.T) {
	n := newDevNode(t)
	n.extra = []string{"--hello-timeout", "250ms"}
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qc, err := quic.DialAddr(ctx, n.listen, &tls.Config{RootCAs: n.roots(), NextProtos: wirepb.ALPNs(), MinVersion: tls.VersionTLS13}, &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(0, "")
	select {
	case <-qc.Context().Done():
	case <-ctx.Done():
		t.Fatal("the connection without a hello is still open after 30 s")
	}
	var ae *quic.ApplicationError
	if err := context.Cause(qc.Context()); !errors.As(err, &ae) || wirepb.Code(ae.ErrorCode) != wirepb.Code_TIMEOUT || !strings.Contains(ae.ErrorMessage, "250ms") {
		t.Fatalf("closed with %v, want TIMEOUT naming 250ms", err)
	}
}
