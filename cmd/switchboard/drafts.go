package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newDraftsCmd() *cobra.Command {
	var o clientOptions
	var conv, text string
	cmd := &cobra.Command{
		Use:   "drafts",
		Short: "Print your drafts (unsent text kept for your other devices); --conv with --text keeps one",
		Long: `Print what the user started writing and has not sent, the latest
changed first, as every device of theirs reads it. --conv C --text T
keeps T as the draft of C (an empty --text clears it).`,
		Example: `  switchboard drafts --data-dir D --user ann
  switchboard drafts --data-dir D --user ann --conv g:class --text 'Dear all,'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("text") && conv == "" {
				return fmt.Errorf("--text needs --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if conv != "" {
					if _, err := c.SetDraft(ctx, conv, text); err != nil {
						return err
					}
				}
				ds, err := c.Drafts(ctx)
				if err != nil {
					return err
				}
				if o.json {
					out := make([]map[string]any, len(ds))
					for i, d := range ds {
						out[i] = map[string]any{"conv": d.Conv, "text": d.Text, "updated_ms": d.UpdatedMs}
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, d := range ds {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%q\n", d.Conv, time.UnixMilli(d.UpdatedMs).Local().Format(time.DateTime), d.Text)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation whose draft --text keeps")
	cmd.Flags().StringVar(&text, "text", "", "the draft's text (empty: clear it)")
	return cmd
}
