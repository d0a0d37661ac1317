package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newBlockCmd() *cobra.Command {
	var o clientOptions
	var target string
	var off bool
	cmd := &cobra.Command{
		Use:   "block",
		Short: "Block another user for the user (neither writes in their direct conversation); --off unblocks",
		Long: `Block another user for the user: while it lasts, the blocked user's sends in
their direct conversation fail MUTED, the user's own fail FORBIDDEN until
the unblock, neither sees the other's presence through it, and the blocked
user cannot put the user into a group. Groups the two already share are
untouched. Blocking someone the user never talked to creates their direct
conversation, blocked.`,
		Example: `  switchboard block --data-dir D --user bob --target alice
  switchboard block --data-dir D --user bob --target alice --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" {
				return errors.New("give --target")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var err error
				if off {
					err = c.Unblock(ctx, target)
				} else {
					err = c.Block(ctx, target)
				}
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"target": target, "blocked": !off})
				}
				state := "blocked"
				if off {
					state = "unblocked"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", target, state)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&target, "target", "", "the user to block")
	cmd.Flags().BoolVar(&off, "off", false, "unblock")
	return cmd
}
