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
	var off, list bool
	cmd := &cobra.Command{
		Use:   "block",
		Short: "Block another user for the user (neither writes in their direct conversation); --off unblocks, --list lists",
		Long: `Block another user for the user: while it lasts, the blocked user's sends in
their direct conversation fail MUTED, the user's own fail FORBIDDEN until
the unblock, neither sees the other's presence through it, and the blocked
user cannot put the user into a group. Groups the two already share are
untouched. Blocking someone the user never talked to creates their direct
conversation, blocked.`,
		Example: `  switchboard block --data-dir D --user bob --target alice
  switchboard block --data-dir D --user bob --target alice --off
  switchboard block --data-dir D --user bob --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if list {
				return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
					users, err := c.Blocked(ctx)
					if err != nil {
						return err
					}
					if o.json {
						return printJSON(cmd.OutOrStdout(), map[string]any{"blocked": append([]string{}, users...)})
					}
					for _, u := range users {
						fmt.Fprintln(cmd.OutOrStdout(), u)
					}
					return nil
				})
			}
			if target == "" {
				return errors.New("give --target (or --list)")
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
	cmd.Flags().BoolVar(&list, "list", false, "list the users the user blocks")
	return cmd
}
