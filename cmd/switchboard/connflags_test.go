package main

import (
	"context"
	"crypto/tls"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/transport"
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

// TestServeMaxInflight: --max-inflight reaches the Welcome the client
// paces its requests by.
func TestServeMaxInflight(t *testing.T) {
	n := newDevNode(t)
	n.extra = []string{"--max-inflight", "3"}
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := n.dial(ctx, "alice", "phone")
	if got := c.Welcome().GetMaxInflight(); got != 3 {
		t.Fatalf("Welcome.max_inflight %d, want 3", got)
	}
}

// Each connection flag lands in its own transport.Config field.
func TestConnFlagsApply(t *testing.T) {
	var c connFlags
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.register(f)
	if err := f.Parse([]string{"--conn-idle-timeout=1s", "--handshake-timeout=2s", "--hello-timeout=3s", "--request-timeout=4s",
		"--write-timeout=5s", "--quic-keep-alive=6s", "--max-inflight=7", "--conn-push-queue=8", "--conn-unacked-pushes=9",
		"--max-rejected=10", "--signal-rate=11", "--max-frame=200000", "--coalesce-delay=12ms"}); err != nil {
		t.Fatal(err)
	}
	var got transport.Config
	c.apply(&got)
	want := transport.Config{IdleTimeout: time.Second, HandshakeTimeout: 2 * time.Second, HelloTimeout: 3 * time.Second,
		RequestTimeout: 4 * time.Second, WriteTimeout: 5 * time.Second, KeepAlive: 6 * time.Second,
		MaxInflight: 7, PushQueue: 8, PendingAcks: 9, MaxRejected: 10, SignalRate: 11, MaxFrame: 200000, CoalesceDelay: 12 * time.Millisecond}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("applied %+v\nwant    %+v", got, want)
	}
}
