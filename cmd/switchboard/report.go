package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newReportCmd() *cobra.Command {
	var o clientOptions
	var conv, reason string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Report another user's message to the moderators, as the user",
		Long: `Report a message the user can read, sent by someone else, to the operator's
moderators, with a reason. Nobody in the conversation is told. The
moderators see it in "switchboard moderate reports". Reporting the same
message again answers the first report's id.`,
		Example: `  switchboard report --data-dir D --user bob --conv d:bob:mallory --seq 3 --reason "asks to pay outside the app"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				id, dup, err := c.Report(ctx, conv, seq, reason)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"report_id": id, "duplicate": dup})
				}
				again := ""
				if dup {
					again = " (reported before)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report %s%s\n", id, again)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the message's seq")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}
