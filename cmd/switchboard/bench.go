package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/bench"
)

type benchOptions struct {
	client     clientOptions
	servers    []string
	websockets []string // --websocket: connect over WebSocket to these URLs
	admin      string
	opts       bench.Options
	sockets    int
	pipe       int
	keepAlive  time.Duration
	jsonOut    string
	htmlOut    string
	quiet      bool
	verbose    bool
	// inProc keeps the group senders in the bench's own process.
	inProc bool
	// cpuProfile: where to write the bench process's own CPU profile.
	cpuProfile string
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench <chat|group|connect|sync|soak>",
		Short: "Drive a node or cluster with load over QUIC and verify every message",
		Long: `Drive a running node (--data-dir of a dev node, or --server) through the
client SDK over real QUIC:

  chat     --users N in 1:1 pairs sending at --rate messages/s in total
  group    --groups G of --members M, --senders per group, --rate in total
  connect  ramp to --conns connections over --ramp, hold for --duration
  sync     --sync-users reconnect after --convs conversations changed
  soak     chat and group together, reconnecting a client every 5 s

Sends are scheduled open loop and latency is taken from each message's
intended send time. Every message carries its sender, number and intended
time; after the drain, a final resync looks up in the history what a
recipient had not received (found: late; not found: never delivered). The
report counts late, never-delivered, duplicated and out-of-order deliveries
and the command exits non-zero when any but late is found (or a send
failed).
In group, the senders (their schedule, sends and ack latencies) run in a
process of their own, this binary started again: the bench receiving on
thousands of connections would otherwise delay its own senders' acks and
report its own starvation as the node's latency. --senders-in-process
keeps them in the bench process.
Server memory and CPU come from the node's admin /metrics (--admin, or the
dev data dir's admin.json), and so do "store ops per message" and, on a CQL
store, "LWT per message": the node's store counters before and after the
run, over the acked messages.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: bench.Scenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.client.dataDir, "data-dir", "./data", "a dev node's data directory (address, CA, token secret, admin URL)")
	f.StringSliceVar(&o.servers, "server", nil, "nodes' QUIC addresses host:port (default: from the dev data dir); clients are spread over them")
	f.StringSliceVar(&o.websockets, "websocket", nil, "connect over WebSocket instead of QUIC, to these URLs (ws://HOST:PORT/ws, a node's --web); clients are spread over them")
	f.StringVar(&o.client.ca, "ca", "", "PEM file of the CA to trust (default: the dev certificate)")
	f.StringVar(&o.client.secretFile, "auth-secret-file", "", "HS256 secret to mint tokens with (default: the dev secret)")
	f.StringVar(&o.client.privateKey, "private-key", "", "Ed25519 private key (PEM) to mint EdDSA tokens with")
	f.StringVar(&o.admin, "admin", "", "a node's admin URL for /metrics (default: from the dev data dir)")
	f.DurationVar(&o.opts.Duration, "duration", 10*time.Second, "measured phase (connect: how long to hold the connections)")
	f.Float64Var(&o.opts.Rate, "rate", 0, "messages/s in total (default chat 1000, group 20, soak 500)")
	f.IntVar(&o.opts.Users, "users", 0, "chat/soak: users in pairs (default rate/10)")
	f.IntVar(&o.opts.Groups, "groups", 1, "group/soak: groups")
	f.IntVar(&o.opts.Members, "members", 100, "group/soak: members per group")
	f.IntVar(&o.opts.Senders, "senders", 1, "group: senders per group")
	f.IntVar(&o.opts.Conns, "conns", 1000, "connect: connections")
	f.DurationVar(&o.opts.Ramp, "ramp", 10*time.Second, "connect: time to open them in")
	f.IntVar(&o.opts.SyncUsers, "sync-users", 4, "sync: users reconnecting")
	f.IntVar(&o.opts.Convs, "convs", 1000, "sync: conversations changed while they were offline")
	f.IntVar(&o.opts.BodySize, "body", 100, "message body size in bytes")
	f.DurationVar(&o.opts.Drain, "drain", 30*time.Second, "after sending, how long to wait for outstanding acks and deliveries")
	f.IntVar(&o.opts.DialConcurrency, "dial-concurrency", 64, "connects in flight at once")
	f.IntVar(&o.sockets, "sockets", 8, "UDP sockets the client connections share")
	f.IntVar(&o.pipe, "send-pipeline", 0, "sends to one conversation a client writes before the first is answered (0: the SDK's default, 16; 1: one at a time)")
	f.DurationVar(&o.keepAlive, "keep-alive", 0, "how often each idle client pings the node (0: the SDK's default, 15s); connect measures what the node spends on it")
	f.StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	f.StringVar(&o.htmlOut, "html", "", "write the report as a self-contained HTML page to this file")
	f.BoolVar(&o.quiet, "quiet", false, "no live progress line")
	f.BoolVar(&o.verbose, "verbose", false, "log the clients' debug messages (reconnects, failed fetches) to stderr")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write the bench process's own CPU profile of the whole run to this file (to see what the load generator costs beside the node)")
	f.BoolVar(&o.inProc, "senders-in-process", false, "group: run the senders in the bench process instead of a process of their own")
	return cmd
}

func runBench(cmd *cobra.Command, scenario string, o benchOptions) error {
	t, err := benchTarget(o)
	if err != nil {
		return err
	}
	o.opts.Scenario = scenario
	if scenario == "group" && !o.inProc {
		if o.opts.SenderExec, err = senderExec(o); err != nil {
			return err
		}
	}
	if !o.quiet {
		o.opts.Progress = cmd.ErrOrStderr()
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	res, err := bench.Run(cmd.Context(), t, o.opts)
	if res == nil || err != nil && cmd.Context().Err() == nil {
		return err // setup failed: nothing measured
	}
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "switchboard bench: run cut short:", err)
	}
	res.WriteTable(cmd.OutOrStdout())
	if o.jsonOut != "" {
		if werr := res.WriteJSON(o.jsonOut); werr != nil {
			return werr
		}
	}
	if o.htmlOut != "" {
		if werr := res.WriteHTML(o.htmlOut); werr != nil {
			return werr
		}
	}
	if f := res.Faults(); len(f) > 0 {
		return fmt.Errorf("bench %s: verification failed: %s", scenario, strings.Join(f, ", "))
	}
	return err
}

// benchTarget resolves the nodes, trust, token minting and admin URL the
// way the other client commands do.
func benchTarget(o benchOptions) (bench.Target, error) {
	co := o.client
	co.tokenTTL = 24 * time.Hour
	if len(o.servers) > 0 {
		co.server = o.servers[0]
	}
	co.user = "bench"
	cfg, err := co.config()
	if err != nil {
		return bench.Target{}, err
	}
	addrs := o.servers
	if len(addrs) == 0 {
		addrs = []string{cfg.Addr}
	}
	t := bench.Target{Addrs: addrs, WebSocketURLs: o.websockets, TLS: cfg.TLS, Sockets: o.sockets, SendPipeline: o.pipe, KeepAlive: o.keepAlive, AdminURL: adminURL(o.admin),
		Token: func(user, device string) (string, error) { return co.mint(user, device) }}
	if o.verbose {
		t.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if t.AdminURL == "" {
		if b, err := os.ReadFile(devAdminPath(co.dataDir)); err == nil {
			var d devAdmin
			if err := json.Unmarshal(b, &d); err == nil {
				t.AdminURL = d.URL
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return t, err
		}
	}
	return t, nil
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
