package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func newPrivacyCmd() *cobra.Command {
	var o clientOptions
	var share string
	var receipts bool
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "The user's privacy settings: presence sharing and read receipts; flags change them",
		Long: `Print what the user shows others: their presence (--share everyone,
online-only or nobody) and whether they send read receipts in direct
conversations (--read-receipts=false: the other member never sees their
messages read, and in return they see none of the other's; groups and
service conversations are not affected).`,
		Example: `  switchboard privacy --data-dir D --user bob --read-receipts=false`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			change := &wirepb.PrivacyRequest{}
			if share != "" {
				s, ok := sharingNames[share]
				if !ok {
					return fmt.Errorf("--share %q: want everyone, online-only or nobody", share)
				}
				change.Presence = &s
			}
			if cmd.Flags().Changed("read-receipts") {
				hide := !receipts
				change.HideReadReceipts = &hide
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				p, err := c.Privacy(ctx, change)
				if err != nil {
					return err
				}
				shares := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(p.Presence.String()), "presence_"), "_", "-")
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"user": o.user, "share": shares, "read_receipts": !p.HideReadReceipts})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s shares presence with: %s; read receipts: %s\n", o.user, shares, map[bool]string{true: "off", false: "on"}[p.HideReadReceipts])
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&share, "share", "", "set what this user shows others: everyone, online-only (never when last seen) or nobody (always offline)")
	cmd.Flags().BoolVar(&receipts, "read-receipts", true, "send read receipts in direct conversations (false: send none, see none)")
	return cmd
}
