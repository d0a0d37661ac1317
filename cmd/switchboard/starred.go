package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newStarCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	var off bool
	cmd := &cobra.Command{
		Use:   "star",
		Short: "Star a message you read (or unstar it with --off), to find it again with 'starred'",
		Example: `  switchboard star --data-dir D --user ann --conv g:class --seq 12
  switchboard star --data-dir D --user ann --conv g:class --seq 12 --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				n, err := c.Star(ctx, conv, seq, !off)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "seq": seq, "starred": !off, "count": n})
				}
				what := "starred"
				if off {
					what = "unstarred"
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
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", s.Message.Conv, formatMessage(s.Message))
	}
}
