package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func newQuietCmd() *cobra.Command {
	var o clientOptions
	var from, to, zone string
	var days []string
	var off bool
	cmd := &cobra.Command{
		Use:   "quiet",
		Short: "Print your quiet hours, set them (--from, --to, --zone) or take them away (--off)",
		Long: `Quiet hours are the hours of the week your offline notifications (APNs,
FCM, the push webhook) pause, in your own time zone: a teacher's nights and
weekends. Messages still arrive and count as unread; only the notification
of a phone with no device online is not sent.`,
		Example: `  switchboard quiet --data-dir D --user teacher --from 22:00 --to 07:00 --zone Europe/Berlin
  switchboard quiet --data-dir D --user teacher --from 00:00 --to 00:00 --days sat,sun --zone Europe/Berlin   # whole days
  switchboard quiet --data-dir D --user teacher
  switchboard quiet --data-dir D --user teacher --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set := from != "" || to != "" || zone != "" || len(days) > 0
			switch {
			case off && set:
				return errors.New("--off or --from/--to, not both")
			case set && (from == "" || to == "" || zone == ""):
				return errors.New("give --from, --to and --zone (an IANA zone such as Europe/Berlin, or UTC)")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var q *wirepb.QuietHours
				var err error
				switch {
				case off:
					err = c.ClearQuietHours(ctx)
				case set:
					q, err = c.SetQuietHours(ctx, client.EveryDay(zone, from, to, days...))
				default:
					q, err = c.QuietHours(ctx)
				}
				if err != nil {
					return err
				}
				if o.json {
					out := map[string]any{"zone": q.GetZone(), "week": q.GetWeek()}
					if q == nil {
						out = map[string]any{}
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				if q == nil {
					fmt.Fprintln(cmd.OutOrStdout(), "no quiet hours: notifications go out at any hour")
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "quiet hours (%s):\n", q.Zone)
				for _, d := range client.Weekdays {
					if spans := q.Week[d]; spans != "" {
						fmt.Fprintf(cmd.OutOrStdout(), "  %s %s\n", d, strings.ReplaceAll(spans, ",", ", "))
					}
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "the quiet starts at this time of day (HH:MM)")
	cmd.Flags().StringVar(&to, "to", "", "and ends at this one (HH:MM; before --from: the next morning; equal: the whole day)")
	cmd.Flags().StringVar(&zone, "zone", "", "your time zone, an IANA name (Europe/Berlin, UTC)")
	cmd.Flags().StringSliceVar(&days, "days", nil, "only on these days (sun,mon,…; default every day)")
	cmd.Flags().BoolVar(&off, "off", false, "take the quiet hours away")
	return cmd
}
