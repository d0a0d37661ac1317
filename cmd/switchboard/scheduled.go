package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

// jsonScheduled is how commands print a scheduled message.
type jsonScheduled struct {
	ID          string `json:"id"`
	Conv        string `json:"conv,omitempty"`
	To          string `json:"to,omitempty"`
	ClientMsgID string `json:"client_msg_id"`
	Kind        string `json:"kind"`
	Text        string `json:"text"`
	AtMs        int64  `json:"at_ms"`
	Failed      string `json:"failed,omitempty"` // refused for good when due; cancel it to let it go
}

func toJSONScheduled(s client.ScheduledMessage) jsonScheduled {
	return jsonScheduled{ID: s.ID, Conv: s.Conv, To: s.To, ClientMsgID: s.ClientMsgID, Kind: strings.ToLower(s.Kind.String()),
		Text: string(s.Body), AtMs: s.At.UnixMilli(), Failed: s.Failed}
}

func newScheduledCmd() *cobra.Command {
	var o clientOptions
	var cancel string
	cmd := &cobra.Command{
		Use:   "scheduled",
		Short: "Print your scheduled messages not yet sent (send --at/--in schedules one), or cancel one with --cancel ID",
		Example: `  switchboard scheduled --data-dir D --user olga
  switchboard scheduled --data-dir D --user olga --cancel 5f2c...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if cancel != "" {
					if err := c.Unschedule(ctx, cancel); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "cancelled %s\n", cancel)
					return nil
				}
				list, err := c.ScheduledMessages(ctx)
				if err != nil {
					return err
				}
				if o.json {
					out := make([]jsonScheduled, len(list))
					for i, s := range list {
						out[i] = toJSONScheduled(s)
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				if len(list) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no scheduled messages")
				}
				for _, s := range list {
					where := s.Conv
					if s.To != "" {
						where = "user:" + s.To
					}
					failed := ""
					if s.Failed != "" {
						failed = " (not sent: " + s.Failed + ")"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s: %s%s\n", s.ID, s.At.Local().Format(time.RFC3339), where, s.Body, failed)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&cancel, "cancel", "", "cancel the scheduled message with this id")
	return cmd
}
