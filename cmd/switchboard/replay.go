package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
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

	line int // 1-based line number in its file
}

// trace is a parsed trace file and the identity of its content.
type trace struct {
	lines []traceLine
	// id is a hash of the file's bytes: with a line number it makes each
	// line's client message id, the same on every replay of this file
	// (a second replay is deduplicated) and different for any other file
	// (two files that touch the same conversation are both stored).
	id string
}

// clientMsgID is the idempotency key of line l of t.
func (t *trace) clientMsgID(l traceLine) string { return fmt.Sprintf("replay-%s-%d", t.id, l.line) }

// maxTraceLine bounds one line of a trace file.
const maxTraceLine = 1 << 20

func newReplayCmd() *cobra.Command {
	var o clientOptions
	var ao adminOptions
	var file string
	var rate float64
	cmd := &cobra.Command{
		Use:   "replay --file trace.jsonl",
		Short: "Replay a service-desk trace through the real client path",
		Long: `Replay a trace of service conversations, one JSON object per line:

  {"ts":"2026-05-01T10:00:00.000Z","conv":"s:1001","from":"c17","role":"customer","text":"…"}

role is customer, agent or system. Each sender connects as itself (tokens are
minted as for the other commands), service conversations are created on
first sight by the node (through its admin API: service ids are the node's
to name) with every participant of the trace and its role, and ts becomes
the message's client send time (the event time of the service metrics).
Messages are sent in file order, each waiting for its durable ack, as fast
as acks allow or paced with --rate. A system line is sent by a plain member
and so ignored by the metrics, as the definitions say.

Each line's client message id is made from a hash of the file's content and
the line number: replaying the same file again stores nothing twice, while
another file touching the same conversations is stored in full. The output
counts the lines stored, deduplicated (already stored by an earlier replay
of this file) and refused by the node (each refusal is printed on stderr;
the replay goes on).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ao.dataDir = o.dataDir
			return runReplay(cmd.Context(), &o, &ao, file, rate)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&file, "file", "", "the trace (JSON lines); - for standard input")
	cmd.Flags().StringVar(&ao.url, "admin", "", "admin API base URL, to create the service conversations (default: from the data dir)")
	cmd.Flags().StringVar(&ao.token, "admin-token", "", "admin token (default: SWITCHBOARD_ADMIN_TOKEN, or from the data dir)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "messages per second (0: as fast as acks allow)")
	_ = cmd.MarkFlagRequired("file")
	o.timeout = 0
	return cmd
}

func readTrace(file string) (*trace, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	h := sha256.New()
	sc := bufio.NewScanner(io.TeeReader(r, h))
	sc.Buffer(make([]byte, 64<<10), maxTraceLine)
	var lines []traceLine
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		l := traceLine{line: n}
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
	// 64 bits of the hash: client ids stay short, and two different
	// files sharing them is a 2^-64 event.
	return &trace{lines: lines, id: hex.EncodeToString(h.Sum(nil)[:8])}, nil
}

// participant is a sender of a trace conversation with its role.
type participant struct {
	user string
	role wirepb.Role
}

// joinExisting adds the participants that are not active members of an
// existing conversation, with their roles, acting as a member who may add
// (owner, admin or agent); any participant who is a member lists them.
func joinExisting(ctx context.Context, conv string, parts []participant, dial func(string) (*client.Client, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var members []*wirepb.Member
	var err error = wirepb.Errorf(wirepb.Code_NOT_MEMBER, "no participants")
	for _, p := range parts {
		c, derr := dial(p.user)
		if derr != nil {
			return derr
		}
		if members, err = c.AllMembers(ctx, conv); wirepb.CodeOf(err) != wirepb.Code_NOT_MEMBER {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("list members as a participant of the trace: %w", err)
	}
	active := map[string]bool{}
	manager := ""
	for _, m := range members {
		if m.LeftSeq != 0 {
			continue
		}
		active[m.User] = true
		if manager == "" && (m.Role == wirepb.Role_OWNER || m.Role == wirepb.Role_ADMIN || m.Role == wirepb.Role_AGENT) {
			manager = m.User
		}
	}
	missing := map[wirepb.Role][]string{}
	for _, p := range parts {
		if !active[p.user] {
			missing[p.role] = append(missing[p.role], p.user)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if manager == "" {
		return fmt.Errorf("%d participants are not members and no owner, admin or agent can add them", len(parts)-len(active))
	}
	mc, err := dial(manager)
	if err != nil {
		return err
	}
	for role, users := range missing {
		if _, err := mc.AddMembersWithRole(ctx, conv, role, users...); err != nil {
			return fmt.Errorf("add %v as %s: %w", users, role, err)
		}
	}
	return nil
}

// replayCounts is what a replay did with the trace's lines.
type replayCounts struct {
	Lines         int     `json:"lines"`
	Stored        int     `json:"stored"`       // new messages
	Deduplicated  int     `json:"deduplicated"` // already stored by an earlier replay of this file
	Refused       int     `json:"refused"`      // rejected by the node (too large, policy, …); see stderr
	Conversations int     `json:"conversations"`
	Seconds       float64 `json:"seconds"`
}

// maxRefusalLogs bounds the refusals reported one by one on stderr.
const maxRefusalLogs = 20

func runReplay(ctx context.Context, o *clientOptions, ao *adminOptions, file string, rate float64) error {
	tr, err := readTrace(file)
	if err != nil {
		return err
	}
	lines := tr.lines
	// Every participant of each conversation, with its role, first sight first.
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

	created := map[string]bool{}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	start, next := time.Now(), time.Now()
	res := replayCounts{Lines: len(lines), Conversations: len(convs)}
	done := func() int { return res.Stored + res.Deduplicated + res.Refused }
	progress := func(final bool) {
		elapsed := time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, "\rreplay %d/%d messages (%.0f%%), %.0f/s   ", done(), len(lines), 100*float64(done())/float64(max(1, len(lines))), float64(done())/max(elapsed, 1e-9))
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
		if !created[l.Conv] {
			// Service ids are the node's to name: the node creates the
			// conversation (admin API), its participants then talk in it.
			creq := admin.CreateConversationRequest{Conv: l.Conv, Kind: "service"}
			for _, p := range convs[l.Conv] {
				creq.Members = append(creq.Members, admin.MemberInRole{User: p.user, Role: strings.ToLower(p.role.String())})
			}
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := ao.callWith(rctx, "POST", "/api/v1/conversations", creq, &struct{}{})
			cancel()
			switch wirepb.CodeOf(err) {
			case wirepb.Code_OK:
			case wirepb.Code_EXISTS:
				// Another trace (or an earlier replay) made it: this
				// trace's participants may not all be in it.
				if err := joinExisting(ctx, l.Conv, convs[l.Conv], dial); err != nil {
					return fmt.Errorf("join %s: %w", l.Conv, err)
				}
			default:
				return fmt.Errorf("create %s: %w", l.Conv, err)
			}
			created[l.Conv] = true
		}
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		p, err := c.SendAt(client.ToConv(l.Conv), []byte(l.Text), tr.clientMsgID(l), l.TS)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		m, err := p.Wait(wctx)
		cancel()
		var we *wirepb.Error
		switch {
		case err == nil && m.Duplicate:
			res.Deduplicated++
		case err == nil:
			res.Stored++
		case errors.As(err, &we) && !wirepb.Transient(we.Code):
			// The node refused this line (and will refuse it again): count
			// it and go on with the rest of the trace.
			res.Refused++
			if res.Refused <= maxRefusalLogs {
				fmt.Fprintf(os.Stderr, "\n%s:%d: refused: %v\n", file, l.line, err)
			}
		default:
			return fmt.Errorf("send %s line %d: %w", l.Conv, l.line, err)
		}
		if time.Since(lastProgress) > 200*time.Millisecond {
			progress(false)
			lastProgress = time.Now()
		}
	}
	progress(true)
	res.Seconds = time.Since(start).Seconds()
	if o.json {
		return printJSON(os.Stdout, res)
	}
	fmt.Printf("replayed %d lines in %d conversations: %d stored, %d deduplicated, %d refused\n",
		res.Lines, res.Conversations, res.Stored, res.Deduplicated, res.Refused)
	return nil
}
