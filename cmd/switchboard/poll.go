package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func newPollCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "poll",
		Short: "Polls: post one, vote, close it, read its results",
		Long: `A poll is a message with a question and options; members vote (one option,
or several where the poll allows it), may change or take back their vote,
and see who chose what. Its author, or a group's owners and admins, close
it. Votes are messages of the conversation, as reactions are: every member
sees them (docs/PROTOCOL.md, "Polls").`,
	}
	cmd.AddCommand(newPollCreateCmd(), newPollVoteCmd(), newPollCloseCmd(), newPollResultsCmd())
	return cmd
}

func newPollCreateCmd() *cobra.Command {
	var o clientOptions
	var conv, to, question string
	var options []string
	var multiple, anonymous bool
	var closesIn time.Duration
	var correct int
	var explanation string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Post a poll, or a quiz (--correct: one option is right)",
		Example: `  switchboard poll create --data-dir D --user teacher --conv g:class --question "Trip on Friday?" --option yes --option no
  switchboard poll create --data-dir D --user teacher --conv g:class --question "2+2?" --option 3 --option 4 --correct 1 --explain "two pairs"
  switchboard poll create --data-dir D --user teacher --conv g:class --question "The pace?" --option fine --option "too fast" --anonymous`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := parseTarget(to, conv)
			if err != nil {
				return err
			}
			if question == "" || len(options) < 2 {
				return errors.New("give --question and at least two --option")
			}
			if explanation != "" && correct < 0 {
				return errors.New("--explain goes with a quiz's --correct")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				p := client.Poll{Question: question, Options: options, Multiple: multiple, Anonymous: anonymous}
				if correct >= 0 {
					right := uint32(correct)
					p.Quiz, p.Correct, p.Explanation = true, &right, explanation
				}
				if closesIn > 0 {
					p.ClosesAtMs = time.Now().Add(closesIn).UnixMilli()
				}
				m, err := c.SendPoll(ctx, target, p)
				if err != nil {
					return err
				}
				return printMessage(cmd, &o, m)
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().StringVar(&to, "to", "", "user:NAME for the direct conversation, or conv:ID")
	cmd.Flags().StringVar(&question, "question", "", "the question")
	cmd.Flags().StringArrayVar(&options, "option", nil, "an option (repeat, in order)")
	cmd.Flags().BoolVar(&multiple, "multiple", false, "members may choose several options")
	cmd.Flags().BoolVar(&anonymous, "anonymous", false, "a group's anonymous poll: votes are kept under aliases, nobody learns who voted")
	cmd.Flags().DurationVar(&closesIn, "closes-in", 0, "close the poll by itself after this long (e.g. 48h; at most the node's --max-poll-duration)")
	cmd.Flags().IntVar(&correct, "correct", -1, "make it a quiz: the index of the right option (from 0); members answer once, and learn it then")
	cmd.Flags().StringVar(&explanation, "explain", "", "a quiz: why that option is right, shown with it")
	return cmd
}

func newPollVoteCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	var choice []uint
	cmd := &cobra.Command{
		Use:   "vote",
		Short: "Vote on a poll (its option indexes, from 0), or take the vote back",
		Example: `  switchboard poll vote --data-dir D --user pupil --conv g:class --seq 7 --option 0
  switchboard poll vote --data-dir D --user pupil --conv g:class --seq 7 --none`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			none, _ := cmd.Flags().GetBool("none")
			if conv == "" || seq == 0 || (len(choice) == 0) == !none {
				return errors.New("give --conv, --seq and either --option (repeat for several) or --none")
			}
			opts := make([]uint32, len(choice))
			for i, c := range choice {
				opts[i] = uint32(c)
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				m, err := c.Vote(ctx, conv, seq, opts...)
				if err != nil {
					return err
				}
				return printMessage(cmd, &o, m)
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the poll's seq")
	cmd.Flags().UintSliceVar(&choice, "option", nil, "an option's index, from 0 (repeat where the poll takes several)")
	cmd.Flags().Bool("none", false, "take the vote back")
	return cmd
}

func newPollCloseCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "close",
		Short: "Close a poll (its author, or a group's owners and admins): no more votes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				m, err := c.ClosePoll(ctx, conv, seq)
				if err != nil {
					return err
				}
				return printMessage(cmd, &o, m)
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the poll's seq")
	return cmd
}

func newPollResultsCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	var voters uint32
	cmd := &cobra.Command{
		Use:   "results",
		Short: "A poll's results as the node counted them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				r, err := c.PollResults(ctx, conv, seq, voters)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), jsonPollResults(r))
				}
				fmt.Fprint(cmd.OutOrStdout(), formatPollResults(r))
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the poll's seq")
	cmd.Flags().Uint32Var(&voters, "voters", 100, "voters listed per option, at most 1000 (0: counts only)")
	return cmd
}

func printMessage(cmd *cobra.Command, o *clientOptions, m client.Message) error {
	if o.json {
		return printJSON(cmd.OutOrStdout(), toJSONMessage(m))
	}
	fmt.Fprintln(cmd.OutOrStdout(), formatMessage(m))
	return nil
}

// formatPoll is a poll on one line: the question, then each option with
// its votes where the client folded them (a history page is printed as
// the log has it: its votes follow as lines of their own).
func formatPoll(m client.Message) string {
	p := m.Poll
	if p == nil {
		var def client.Poll
		if json.Unmarshal(m.Body, &def) != nil {
			return string(m.Body)
		}
		p = &client.PollState{Question: def.Question}
		for _, o := range def.Options {
			p.Options = append(p.Options, client.PollOption{Text: o})
		}
	}
	var b strings.Builder
	b.WriteString("📊 " + p.Question)
	for i, o := range p.Options {
		fmt.Fprintf(&b, " [%d] %s", i, o.Text)
		if m.Poll != nil {
			fmt.Fprintf(&b, " (%d)", len(o.Voters))
		}
	}
	if p.Closed {
		b.WriteString(" (closed)")
	}
	return b.String()
}

func formatPollResults(r *wirepb.PollResultsResult) string {
	var b strings.Builder
	state := "open"
	if r.Closed {
		state = "closed"
	}
	if r.ClosesAtMs != 0 && !r.Closed {
		state += ", closes " + time.UnixMilli(r.ClosesAtMs).Local().Format(time.DateTime)
	}
	if r.Quiz {
		state = "quiz, " + state
	}
	if r.Anonymous {
		state = "anonymous, " + state
	}
	fmt.Fprintf(&b, "%s (%s, %d voters)\n", r.Question, state, r.Voters)
	for i, o := range r.Options {
		mark := " "
		if r.Correct != nil && *r.Correct == uint32(i) {
			mark = "✓"
		}
		fmt.Fprintf(&b, "%s [%d] %-30s %4d", mark, i, o.Text, o.Votes)
		if len(o.Voters) > 0 {
			b.WriteString("  " + strings.Join(o.Voters, " "))
		}
		b.WriteString("\n")
	}
	if r.Explanation != "" {
		b.WriteString("  " + r.Explanation + "\n")
	}
	return b.String()
}

type jsonPollOption struct {
	Text   string   `json:"text"`
	Votes  uint32   `json:"votes"`
	Voters []string `json:"voters,omitempty"`
}

type jsonPoll struct {
	Question   string           `json:"question"`
	Multiple   bool             `json:"multiple"`
	Closed     bool             `json:"closed"`
	Voters     uint32           `json:"voters"`
	Mine       []uint32         `json:"mine,omitempty"`
	ThroughSeq uint64           `json:"through_seq"`
	ClosesAtMs int64            `json:"closes_at_ms,omitempty"`
	Options    []jsonPollOption `json:"options"`
	// A quiz: its right option and why, once this user may see them.
	Quiz        bool    `json:"quiz,omitempty"`
	Correct     *uint32 `json:"correct,omitempty"`
	Explanation string  `json:"explanation,omitempty"`
	Anonymous   bool    `json:"anonymous,omitempty"` // no voters listed
}

func jsonPollResults(r *wirepb.PollResultsResult) jsonPoll {
	out := jsonPoll{Question: r.Question, Multiple: r.Multiple, Closed: r.Closed, Voters: r.Voters, Mine: r.Mine, ThroughSeq: r.ThroughSeq, ClosesAtMs: r.ClosesAtMs,
		Quiz: r.Quiz, Correct: r.Correct, Explanation: r.Explanation, Anonymous: r.Anonymous}
	for _, o := range r.Options {
		out.Options = append(out.Options, jsonPollOption{Text: o.Text, Votes: o.Votes, Voters: o.Voters})
	}
	return out
}
