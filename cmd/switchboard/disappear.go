package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newDisappearCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var after time.Duration
	var off bool
	cmd := &cobra.Command{
		Use:   "disappear",
		Short: "Read or set a conversation's timer for disappearing messages (--after 24h, --off)",
		Long: `Print a conversation's timer for disappearing messages or, with --after,
set it: every message sent after it disappears that long after it was sent,
for every member, and its content leaves the node's store; messages sent
before keep their own end. --off turns it off for what follows. Either
member of a direct conversation, a group's owners and admins.`,
		Example: `  switchboard disappear --data-dir D --user bob --conv d:alice:bob --after 24h
  switchboard disappear --data-dir D --user bob --conv d:alice:bob --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case conv == "":
				return errors.New("give --conv")
			case off && after != 0:
				return errors.New("--after or --off, not both")
			case after < 0:
				return fmt.Errorf("--after %v: a duration ahead, or --off", after)
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				now, seq := after, uint64(0)
				var err error
				if off || after > 0 {
					seq, err = c.SetDisappearing(ctx, conv, after)
				} else {
					now, err = c.Disappearing(ctx, conv)
				}
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "after_ms": now.Milliseconds(), "seq": seq})
				}
				if now == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: messages stay\n", conv)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: messages disappear %v after they are sent\n", conv, now)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation (d:a:b, g:…)")
	cmd.Flags().DurationVar(&after, "after", 0, "set the timer: messages sent from now on disappear this long after they are sent")
	cmd.Flags().BoolVar(&off, "off", false, "turn the timer off: messages sent from now on stay")
	return cmd
}
