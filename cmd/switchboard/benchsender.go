package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/bench"
)

// newBenchSenderCmd is the sender process of `bench group` (hidden): it
// connects like the bench (same node, trust and token flags), reads its
// orders as JSON on stdin and reports on stdout.
func newBenchSenderCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:    "bench-sender",
		Short:  "The sender process of `bench group` (started by it; protocol on stdin/stdout)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := benchTarget(o)
			if err != nil {
				return err
			}
			return bench.RunSender(cmd.Context(), t, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.client.dataDir, "data-dir", "./data", "a dev node's data directory")
	f.StringSliceVar(&o.servers, "server", nil, "nodes' QUIC addresses host:port")
	f.StringSliceVar(&o.websockets, "websocket", nil, "nodes' WebSocket URLs (instead of QUIC)")
	f.StringVar(&o.client.ca, "ca", "", "PEM file of the CA to trust")
	f.StringVar(&o.client.secretFile, "auth-secret-file", "", "HS256 secret to mint tokens with")
	f.StringVar(&o.client.privateKey, "private-key", "", "Ed25519 private key (PEM) to mint EdDSA tokens with")
	f.IntVar(&o.sockets, "sockets", 8, "UDP sockets the client connections share")
	f.IntVar(&o.pipe, "send-pipeline", 0, "sends to one conversation a client writes before the first is answered")
	f.BoolVar(&o.verbose, "verbose", false, "log the clients' debug messages to stderr")
	return cmd
}

// senderExec is the argv that runs this binary as the sender process of
// a bench, connecting as o does.
func senderExec(o benchOptions) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find this binary to run the senders in their own process (or give --senders-in-process): %w", err)
	}
	argv := []string{exe, "bench-sender", "--data-dir", o.client.dataDir,
		"--sockets", strconv.Itoa(o.sockets), "--send-pipeline", strconv.Itoa(o.pipe)}
	add := func(flag, v string) {
		if v != "" {
			argv = append(argv, flag, v)
		}
	}
	add("--server", strings.Join(o.servers, ","))
	add("--websocket", strings.Join(o.websockets, ","))
	add("--ca", o.client.ca)
	add("--auth-secret-file", o.client.secretFile)
	add("--private-key", o.client.privateKey)
	if o.verbose {
		argv = append(argv, "--verbose")
	}
	return argv, nil
}
