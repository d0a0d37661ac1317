package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newFreezeCmd() *cobra.Command {
	var o clientOptions
	var conv, reason string
	var off bool
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "Read, set or lift a group's freeze: closed to new messages, still read (--reason, --off)",
		Long: `Print whether a conversation is frozen or, with --reason (or --on), freeze
it: nobody posts anything into it, every member still reads it, recalls
their own messages and leaves, and every member's client shows the reason.
--off opens it again. A group's owners and admins; the operator freezes
direct conversations too ("switchboard moderate freeze").`,
		Example: `  switchboard freeze --data-dir D --user teacher --conv g:7b --reason "the term is over"
  switchboard freeze --data-dir D --user teacher --conv g:7b --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			on, _ := cmd.Flags().GetBool("on")
			switch {
			case conv == "":
				return errors.New("give --conv")
			case off && (reason != "" || on):
				return errors.New("--off opens it: no --reason, no --on")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var seq uint64
				var err error
				switch {
				case off:
					seq, err = c.Unfreeze(ctx, conv)
				case reason != "" || on:
					seq, err = c.Freeze(ctx, conv, reason)
				}
				if err != nil {
					return err
				}
				f, err := c.Frozen(ctx, conv)
				if err != nil {
					return err
				}
				if o.json {
					out := map[string]any{"conv": conv, "frozen": f != nil, "seq": seq}
					if f != nil {
						out["reason"], out["by"], out["at_ms"] = f.Reason, f.By, f.At.UnixMilli()
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				printFrozen(cmd.OutOrStdout(), conv, f != nil, func() (string, string, time.Time) { return f.Reason, f.By, f.At })
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation (g:…)")
	cmd.Flags().StringVar(&reason, "reason", "", "freeze it, showing the members why")
	cmd.Flags().Bool("on", false, "freeze it without a reason")
	cmd.Flags().BoolVar(&off, "off", false, "open it to new messages again")
	return cmd
}

// printFrozen says whether conv is frozen, and why (state is read only
// when it is).
func printFrozen(w io.Writer, conv string, frozen bool, state func() (reason, by string, at time.Time)) {
	if !frozen {
		fmt.Fprintf(w, "%s: open\n", conv)
		return
	}
	reason, by, at := state()
	fmt.Fprintf(w, "%s: frozen by %s since %s", conv, by, at.UTC().Format(time.RFC3339))
	if reason != "" {
		fmt.Fprintf(w, ": %s", reason)
	}
	fmt.Fprintln(w)
}
