package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newAwayCmd() *cobra.Command {
	var o clientOptions
	var text string
	var period time.Duration
	var clear bool
	cmd := &cobra.Command{
		Use:   "away",
		Short: "Print your away message, set one (--text, --for) or clear it (--clear)",
		Long: `An away message answers whoever writes to the user in a direct
conversation while it holds: the first message of each conversation gets it
as an automatic reply, once per setting (a seller on holiday, a tutor off
for the week). --for ends it by itself after that long.`,
		Example: `  switchboard away --data-dir D --user seller --text 'On holiday until Monday' --for 72h
  switchboard away --data-dir D --user seller
  switchboard away --data-dir D --user seller --clear`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case clear && (text != "" || period != 0):
				return errors.New("--clear or --text, not both")
			case period != 0 && text == "":
				return errors.New("--for needs --text")
			case period < 0:
				return errors.New("--for: want a positive duration")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var a client.Away
				var err error
				switch {
				case clear:
					err = c.ClearAway(ctx)
				case text != "":
					var until time.Time
					if period > 0 {
						until = time.Now().Add(period)
					}
					a, err = c.SetAway(ctx, text, until)
				default:
					a, err = c.Away(ctx)
				}
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), a)
				}
				switch {
				case a.Text == "":
					fmt.Fprintln(cmd.OutOrStdout(), "no away message")
				case a.Until.IsZero():
					fmt.Fprintf(cmd.OutOrStdout(), "away: %q (until cleared)\n", a.Text)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "away: %q until %s\n", a.Text, a.Until.UTC().Format(time.RFC3339))
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&text, "text", "", "the away message: the automatic reply")
	cmd.Flags().DurationVar(&period, "for", 0, "it ends by itself after this long (default: until cleared)")
	cmd.Flags().BoolVar(&clear, "clear", false, "clear the away message")
	return cmd
}
