package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newStarCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	var off bool
	var remindAt string
	var remindIn time.Duration
	cmd := &cobra.Command{
		Use:   "star",
		Short: "Star a message you read (or unstar it with --off), to find it again with 'starred'; with a reminder, to be told of it then",
		Example: `  switchboard star --data-dir D --user ann --conv g:class --seq 12
  switchboard star --data-dir D --user ann --conv g:class --seq 12 --remind-in 24h
  switchboard star --data-dir D --user ann --conv g:class --seq 12 --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			var remind time.Time
			switch {
			case (remindAt != "" || remindIn != 0) && (off || remindAt != "" && remindIn != 0):
				return errors.New("give one of --remind-at and --remind-in, without --off")
			case remindAt != "":
				var err error
				if remind, err = time.Parse(time.RFC3339, remindAt); err != nil {
					return fmt.Errorf("--remind-at: %w", err)
				}
			case remindIn != 0:
				remind = time.Now().Add(remindIn)
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var n int
				var err error
				if remind.IsZero() {
					n, err = c.Star(ctx, conv, seq, !off)
				} else {
					n, err = c.Remind(ctx, conv, seq, remind)
				}
				if err != nil {
					return err
				}
				if o.json {
					out := map[string]any{"conv": conv, "seq": seq, "starred": !off, "count": n}
					if !remind.IsZero() {
						out["remind_at_ms"] = remind.UnixMilli()
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				what := "starred"
				switch {
				case off:
					what = "unstarred"
				case !remind.IsZero():
					what = "starred, a reminder at " + remind.Local().Format(time.DateTime)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s #%d %s (%d starred)\n", conv, seq, what, n)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the message's seq")
	cmd.Flags().BoolVar(&off, "off", false, "unstar it")
	cmd.Flags().StringVar(&remindAt, "remind-at", "", "a reminder then (RFC 3339): your devices, or your phone, are told of the message")
	cmd.Flags().DurationVar(&remindIn, "remind-in", 0, "a reminder this long from now")
	return cmd
}

func newStarredCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:     "starred",
		Short:   "Print the messages you starred, the most recently starred first",
		Example: `  switchboard starred --data-dir D --user ann`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				all, err := c.Starred(ctx)
				if err != nil {
					return err
				}
				if o.json {
					out := make([]jsonMessage, len(all))
					for i, s := range all {
						out[i] = toJSONMessage(s.Message)
						if !s.RemindAt.IsZero() {
							out[i].RemindAtMs = s.RemindAt.UnixMilli()
						}
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				printStarred(cmd, all)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	return cmd
}

func printStarred(cmd *cobra.Command, all []client.StarredMessage) {
	if len(all) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "no starred messages")
	}
	for _, s := range all {
		reminder := ""
		if !s.RemindAt.IsZero() {
			reminder = " (reminder at " + s.RemindAt.Local().Format(time.DateTime) + ")"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s%s\n", s.Message.Conv, formatMessage(s.Message), reminder)
	}
}
