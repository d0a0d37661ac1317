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
	var share, directFrom, groupAddFrom string
	var receipts, previews bool
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "The user's privacy settings: presence sharing, read receipts, notification previews, who may write first or add them to groups; flags change them",
		Long: `Print what the user shows others: their presence (--share everyone,
online-only or nobody) and whether they send read receipts in direct
conversations (--read-receipts=false: the other member never sees their
messages read, and in return they see none of the other's; groups and
service conversations are not affected); and whether their phone's
notifications show what a message says (--previews=false: "3 new
messages" from whom, where, and no text); and who may start a direct
conversation with them (--direct-from everyone, groups: users who share
a group with them, nobody, or default: the node's); and who may add them
to a group (--group-add-from, the same words; nobody: they join only
with an invite code).`,
		Example: `  switchboard privacy --data-dir D --user bob --read-receipts=false
  switchboard privacy --data-dir D --user bob --previews=false
  switchboard privacy --data-dir D --user pupil --direct-from groups
  switchboard privacy --data-dir D --user seller --group-add-from nobody`,
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
			if cmd.Flags().Changed("previews") {
				hide := !previews
				change.HidePreviews = &hide
			}
			if directFrom != "" {
				d, ok := wirepb.DirectFrom_value["DIRECT_FROM_"+strings.ToUpper(directFrom)]
				if !ok {
					return fmt.Errorf("--direct-from %q: want everyone, groups, nobody or default", directFrom)
				}
				change.DirectFrom = wirepb.DirectFrom(d).Enum()
			}
			if groupAddFrom != "" {
				g, ok := wirepb.GroupAddFrom_value["GROUP_ADD_FROM_"+strings.ToUpper(groupAddFrom)]
				if !ok {
					return fmt.Errorf("--group-add-from %q: want everyone, groups, nobody or default", groupAddFrom)
				}
				change.GroupAddFrom = wirepb.GroupAddFrom(g).Enum()
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				p, err := c.Privacy(ctx, change)
				if err != nil {
					return err
				}
				shares := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(p.Presence.String()), "presence_"), "_", "-")
				from := strings.TrimPrefix(strings.ToLower(p.DirectFrom.String()), "direct_from_")
				addFrom := strings.TrimPrefix(strings.ToLower(p.GroupAddFrom.String()), "group_add_from_")
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"user": o.user, "share": shares, "read_receipts": !p.HideReadReceipts, "previews": !p.HidePreviews,
						"direct_from": from, "group_add_from": addFrom})
				}
				onOff := map[bool]string{true: "off", false: "on"}
				fmt.Fprintf(cmd.OutOrStdout(), "%s shares presence with: %s; read receipts: %s; notification previews: %s; new chats from: %s; added to groups by: %s\n",
					o.user, shares, onOff[p.HideReadReceipts], onOff[p.HidePreviews], from, addFrom)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&share, "share", "", "set what this user shows others: everyone, online-only (never when last seen) or nobody (always offline)")
	cmd.Flags().BoolVar(&receipts, "read-receipts", true, "send read receipts in direct conversations (false: send none, see none)")
	cmd.Flags().BoolVar(&previews, "previews", true, "notifications show what a message says (false: only how many, from whom, where)")
	cmd.Flags().StringVar(&directFrom, "direct-from", "", "set who may start a direct conversation with this user: everyone, groups (users who share a group), nobody, or default (the node's)")
	cmd.Flags().StringVar(&groupAddFrom, "group-add-from", "", "set who may add this user to a group: everyone, groups (users who share a group), nobody (invite codes only), or default (the node's)")
	// These change a user's settings; SWITCHBOARD_DIRECT_FROM and
	// SWITCHBOARD_GROUP_ADD_FROM are the node's defaults (serve's flags of
	// the same names), which must not set them.
	noEnv(cmd.Flags(), "direct-from", "group-add-from")
	return cmd
}
