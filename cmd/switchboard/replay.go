package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// traceLine is one line of a replay trace.
type traceLine struct {
	TS   time.Time `json:"ts"`
	Conv string    `json:"conv"`
	From string    `json:"from"`
	Role string    `json:"role"` // customer, agent or system
	Text string    `json:"text"`
}

// maxTraceLine bounds one line of a trace file.
const maxTraceLine = 1 << 20

func newReplayCmd() *cobra.Command {
	var o clientOptions
	var file string
	var rate float64
	cmd := &cobra.Command{
		Use:   "replay --file trace.jsonl",
		Short: "Replay a service-desk trace through the real client path",
		Long: `Replay a trace of service conversations, one JSON object per line:

  {"ts":"2026-05-01T10:00:00.000Z","conv":"s:1001","from":"c17","role":"customer","text":"…"}

role is customer, agent or system. Each sender connects as itself (tokens are
minted as for the other commands), service conversations are created on
first sight with every participant of the trace and its role, and ts becomes
the message's client send time (the event time of the service metrics).
Messages are sent in file order, each waiting for its durable ack, as fast
as acks allow or paced with --rate. A system line is sent by a plain member
and so ignored by the metrics, as the definitions say.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd.Context(), &o, file, rate)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&file, "file", "", "the trace (JSON lines); - for standard input")
	cmd.Flags().Float64Var(&rate, "rate", 0, "messages per second (0: as fast as acks allow)")
	_ = cmd.MarkFlagRequired("file")
	o.timeout = 0
	return cmd
}

func readTrace(file string) ([]traceLine, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxTraceLine)
	var lines []traceLine
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l traceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		switch {
		case l.Conv == "" || l.From == "" || l.Text == "":
			return nil, fmt.Errorf("%s:%d: conv, from and text are required", file, n)
		case !validID(l.From):
			return nil, fmt.Errorf("%s:%d: bad sender id %q", file, n, l.From)
		case l.Role != "customer" && l.Role != "agent" && l.Role != "system":
			return nil, fmt.Errorf("%s:%d: role %q: want customer, agent or system", file, n, l.Role)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return lines, nil
}

func runReplay(ctx context.Context, o *clientOptions, file string, rate float64) error {
	lines, err := readTrace(file)
	if err != nil {
		return err
	}
	// Every participant of each conversation, with its role, first sight first.
	type participant struct {
		user string
		role wirepb.Role
	}
	convs := map[string][]participant{}
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l.Conv+"\x00"+l.From] {
			continue
		}
		seen[l.Conv+"\x00"+l.From] = true
		role := map[string]wirepb.Role{"customer": wirepb.Role_CUSTOMER, "agent": wirepb.Role_AGENT, "system": wirepb.Role_MEMBER}[l.Role]
		convs[l.Conv] = append(convs[l.Conv], participant{l.From, role})
	}

	clients := map[string]*client.Client{}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	dial := func(user string) (*client.Client, error) {
		if c, ok := clients[user]; ok {
			return c, nil
		}
		oo := *o
		oo.user, oo.device = user, "replay"
		c, err := oo.connect(ctx, true)
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", user, err)
		}
		clients[user] = c
		return c, nil
	}

	// Service conversation ids are assigned by the node: a trace's own ids
	// map to the ones the node gave.
	created := map[string]string{}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	start, next := time.Now(), time.Now()
	var sent int
	progress := func(final bool) {
		elapsed := time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, "\rreplay %d/%d messages (%.0f%%), %.0f/s   ", sent, len(lines), 100*float64(sent)/float64(max(1, len(lines))), float64(sent)/max(elapsed, 1e-9))
		if final {
			fmt.Fprintln(os.Stderr)
		}
	}
	lastProgress := time.Now()
	for _, l := range lines {
		c, err := dial(l.From)
		if err != nil {
			return err
		}
		conv, ok := created[l.Conv]
		if !ok {
			var roles []*wirepb.Member
			for _, p := range convs[l.Conv] {
				roles = append(roles, &wirepb.Member{User: p.user, Role: p.role})
			}
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			conv, err = c.CreateConversation(rctx, "", "", wirepb.ConvKind_SERVICE, roles)
			cancel()
			if err != nil {
				return fmt.Errorf("create %s: %w", l.Conv, err)
			}
			created[l.Conv] = conv
		}
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		// A deterministic client id makes a second replay of the same trace
		// a no-op rather than a second copy.
		id := fmt.Sprintf("replay-%s-%d", l.Conv, sent)
		p, err := c.SendAt(client.ToConv(conv), []byte(l.Text), id, l.TS)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err = p.Wait(wctx)
		cancel()
		if err != nil {
			return fmt.Errorf("send %s line %d: %w", l.Conv, sent+1, err)
		}
		sent++
		if time.Since(lastProgress) > 200*time.Millisecond {
			progress(false)
			lastProgress = time.Now()
		}
	}
	progress(true)
	if o.json {
		return printJSON(os.Stdout, map[string]any{"sent": sent, "conversations": len(convs), "seconds": time.Since(start).Seconds()})
	}
	fmt.Printf("replayed %d messages in %d conversations\n", sent, len(convs))
	return nil
}
