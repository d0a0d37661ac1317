// Command deskbot is a tiny service-desk robot: it connects to a node with
// the Go SDK as the robot user (default "bot"), answers customers from a
// keyword table, and hands the session over to a human agent when the
// customer asks for one (the protocol's desk_handover request).
//
// On a dev node (docs/DESK.md, "Robots"):
//
//	go run ./examples/deskbot --data-dir ./data --token "$(switchboard token --data-dir ./data --user bot)"
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Rule answers a message containing any of its keywords.
type Rule struct {
	Keywords []string `json:"keywords"`
	Reply    string   `json:"reply"`
	// Handover: instead of replying (or after the reply), pass the
	// session to the next step of the scene's route (a human queue).
	Handover bool `json:"handover,omitempty"`
}

// DefaultRules is the table used without --rules.
var DefaultRules = []Rule{
	{Keywords: []string{"human", "agent", "person", "salesperson"}, Reply: "Sure, I'm getting you a colleague.", Handover: true},
	{Keywords: []string{"price", "cost", "how much"}, Reply: "The price is on the listing; a colleague can talk about offers."},
	{Keywords: []string{"still for sale", "available"}, Reply: "It is! Shall I get you a salesperson?"},
	{Keywords: []string{"hours", "open"}, Reply: "We are open 9:00–18:00, Monday to Saturday."},
}

// Fallback answers what no rule matched.
const Fallback = "I'm the robot. Ask me about price, availability or opening hours, or say \"agent\" for a person."

// Answer picks the reply to text: the first rule with a keyword in it
// (case-insensitive), else the fallback.
func Answer(rules []Rule, text string) (reply string, handover bool) {
	t := strings.ToLower(text)
	for _, r := range rules {
		for _, k := range r.Keywords {
			if k != "" && strings.Contains(t, strings.ToLower(k)) {
				return r.Reply, r.Handover
			}
		}
	}
	return Fallback, false
}

type bot struct {
	user    string
	rules   []Rule
	c       *client.Client
	log     *slog.Logger
	started time.Time
}

func main() {
	var dataDir, addr, caFile, token, rulesFile string
	b := &bot{log: slog.New(slog.NewTextHandler(os.Stderr, nil)), started: time.Now()}
	flag.StringVar(&dataDir, "data-dir", "", "data directory of a dev node (its address and CA)")
	flag.StringVar(&addr, "addr", "", "node address host:port (default: from --data-dir)")
	flag.StringVar(&caFile, "ca", "", "CA certificate of the node (default: from --data-dir)")
	flag.StringVar(&token, "token", os.Getenv("DESKBOT_TOKEN"), "connection token of the robot user (`switchboard token --user bot`)")
	flag.StringVar(&b.user, "user", "bot", "the robot's user id (the token's)")
	flag.StringVar(&rulesFile, "rules", "", "keyword table, a JSON list of {keywords, reply, handover}")
	flag.Parse()
	if err := run(b, dataDir, addr, caFile, token, rulesFile); err != nil {
		fmt.Fprintln(os.Stderr, "deskbot:", err)
		os.Exit(1)
	}
}

func run(b *bot, dataDir, addr, caFile, token, rulesFile string) error {
	b.rules = DefaultRules
	if rulesFile != "" {
		raw, err := os.ReadFile(rulesFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &b.rules); err != nil {
			return fmt.Errorf("%s: %w", rulesFile, err)
		}
	}
	if dataDir != "" {
		var srv struct{ Addr, CA string }
		if raw, err := os.ReadFile(filepath.Join(dataDir, "dev", "server.json")); err == nil {
			_ = json.Unmarshal(raw, &srv)
		}
		addr, caFile = or(addr, srv.Addr), or(caFile, srv.CA)
	}
	if addr == "" || token == "" {
		return fmt.Errorf("give --addr (or --data-dir) and --token")
	}
	tc := &tls.Config{}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := client.Dial(ctx, client.Config{Addr: addr, TLS: tc, Token: token})
	if err != nil {
		return err
	}
	defer c.Close()
	b.c = c
	b.log.Info("deskbot connected", "user", b.user, "addr", addr)
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-c.Events():
			if e.Kind == client.EventError {
				return e.Err
			}
			if e.Kind == client.EventMessage && e.Message != nil {
				b.handle(ctx, *e.Message)
			}
		}
	}
}

// handle answers one customer message of a service conversation. Messages
// older than the bot's start (a resync after a restart) are left alone.
func (b *bot) handle(ctx context.Context, m client.Message) {
	if m.Sender == b.user || m.Kind != wirepb.MessageKind_NORMAL || m.Recalled || !strings.HasPrefix(m.Conv, "s:") ||
		m.ServerTime.Before(b.started) {
		return
	}
	reply, handover := Answer(b.rules, string(m.Body))
	if reply != "" {
		if _, err := b.c.SendText(ctx, client.Target{Conv: m.Conv}, reply); err != nil {
			b.log.Warn("reply not sent", "conv", m.Conv, "err", err)
		}
	}
	if handover {
		if err := b.handover(ctx, m.Conv); err != nil {
			b.log.Warn("hand-over failed", "conv", m.Conv, "err", err)
		}
	}
}

// handover asks the desk, over the protocol as the robot itself, to move
// the session to its route's next step.
func (b *bot) handover(ctx context.Context, conv string) error {
	r, err := b.c.DeskHandover(ctx, conv)
	if err != nil {
		return fmt.Errorf("handover: %w", err)
	}
	b.log.Info("handed over", "conv", conv, "state", r.State, "queue_position", r.QueuePosition, "agent", r.Agent)
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
