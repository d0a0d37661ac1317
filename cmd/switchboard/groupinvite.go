package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

// group invite / group join: invite codes (docs/PROTOCOL.md, group_invite).

func newGroupInviteCmd() *cobra.Command {
	var o clientOptions
	var conv, revoke string
	var ttl time.Duration
	var maxUses uint32
	var list bool
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Create an invite code to a group (owners and admins), list the live ones (--list) or revoke one (--revoke ID)",
		Example: `  switchboard group invite --data-dir D --user teacher --conv g:class --ttl 72h --max-uses 30
  switchboard group invite --data-dir D --user teacher --conv g:class --list
  switchboard group invite --data-dir D --user teacher --conv g:class --revoke 1f2e3d4c5b6a7988`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if list && revoke != "" {
				return fmt.Errorf("--list or --revoke, not both")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				out := cmd.OutOrStdout()
				switch {
				case revoke != "":
					if err := c.RevokeInvite(ctx, conv, revoke); err != nil {
						return err
					}
					if o.json {
						return printJSON(out, map[string]any{"revoked": revoke})
					}
					fmt.Fprintf(out, "revoked %s\n", revoke)
					return nil
				case list:
					invites, err := c.Invites(ctx, conv)
					if err != nil {
						return err
					}
					if o.json {
						return printJSON(out, map[string]any{"invites": invites})
					}
					w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "ID\tBY\tEXPIRES\tUSES")
					for _, i := range invites {
						uses := fmt.Sprintf("%d", i.Uses)
						if i.MaxUses > 0 {
							uses += fmt.Sprintf(" of %d", i.MaxUses)
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", i.ID, i.By, i.Expires.UTC().Format(time.RFC3339), uses)
					}
					return w.Flush()
				}
				code, id, err := c.CreateInvite(ctx, conv, ttl, maxUses)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(out, map[string]any{"code": code, "id": id})
				}
				fmt.Fprintln(out, code)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the group")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the code is valid (default: the node's, 7 days)")
	cmd.Flags().Uint32Var(&maxUses, "max-uses", 0, "how many users may join with it (0: any number)")
	cmd.Flags().BoolVar(&list, "list", false, "list the live invites instead")
	cmd.Flags().StringVar(&revoke, "revoke", "", "revoke the invite with this id instead")
	_ = cmd.MarkFlagRequired("conv")
	return cmd
}

func newGroupJoinCmd() *cobra.Command {
	var o clientOptions
	var code string
	cmd := &cobra.Command{
		Use:     "join",
		Short:   "Join a group with an invite code",
		Example: `  switchboard group join --data-dir D --user pupil7 --code ZzpjbGFzcw.…`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				conv, already, err := c.JoinGroup(ctx, code)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "already": already})
				}
				if already {
					fmt.Fprintf(cmd.OutOrStdout(), "%s (a member already)\n", conv)
					return nil
				}
				fmt.Fprintln(cmd.OutOrStdout(), conv)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&code, "code", "", "the invite code")
	_ = cmd.MarkFlagRequired("code")
	return cmd
}
