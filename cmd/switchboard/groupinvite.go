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
	var list, approval bool
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Create an invite code to a group (owners and admins), list the live ones (--list) or revoke one (--revoke ID)",
		Example: `  switchboard group invite --data-dir D --user teacher --conv g:class --ttl 72h --max-uses 30
  switchboard group invite --data-dir D --user teacher --conv g:class --approval
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
					fmt.Fprintln(w, "ID\tBY\tEXPIRES\tUSES\tJOINS")
					for _, i := range invites {
						uses := fmt.Sprintf("%d", i.Uses)
						if i.MaxUses > 0 {
							uses += fmt.Sprintf(" of %d", i.MaxUses)
						}
						joins := "direct"
						if i.Approval {
							joins = "approval"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", i.ID, i.By, i.Expires.UTC().Format(time.RFC3339), uses, joins)
					}
					return w.Flush()
				}
				create := c.CreateInvite
				if approval {
					create = c.CreateApprovalInvite
				}
				code, id, err := create(ctx, conv, ttl, maxUses)
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
	cmd.Flags().BoolVar(&approval, "approval", false, "joins with the code wait for an owner's or admin's approval (group requests, approve, decline)")
	cmd.Flags().BoolVar(&list, "list", false, "list the live invites instead")
	cmd.Flags().StringVar(&revoke, "revoke", "", "revoke the invite with this id instead")
	_ = cmd.MarkFlagRequired("conv")
	return cmd
}

func newGroupJoinCmd() *cobra.Command {
	var o clientOptions
	var code, note string
	cmd := &cobra.Command{
		Use:   "join",
		Short: "Join a group with an invite code (or ask to, when it needs approval)",
		Example: `  switchboard group join --data-dir D --user pupil7 --code ZzpjbGFzcw.…
  switchboard group join --data-dir D --user dad7 --code ZzpjbGFzcw.… --note "I'm Sam's father"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				j, err := c.AskToJoin(ctx, code, note)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": j.Conv, "already": j.Already, "pending": j.Pending})
				}
				switch {
				case j.Already:
					fmt.Fprintf(cmd.OutOrStdout(), "%s (a member already)\n", j.Conv)
				case j.Pending:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: asked to join, waiting for its owners and admins\n", j.Conv)
				default:
					fmt.Fprintln(cmd.OutOrStdout(), j.Conv)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&code, "code", "", "the invite code")
	cmd.Flags().StringVar(&note, "note", "", "a few words to the group's owners and admins, when the invite needs their approval")
	_ = cmd.MarkFlagRequired("code")
	return cmd
}

func newGroupRequestsCmd() *cobra.Command {
	var o clientOptions
	var conv string
	cmd := &cobra.Command{
		Use:     "requests",
		Short:   "List the requests to join a group that wait for its owners and admins (answer with approve or decline)",
		Example: `  switchboard group requests --data-dir D --user teacher --conv g:class`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				reqs, err := c.JoinRequests(ctx, conv)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if o.json {
					return printJSON(out, map[string]any{"conv": conv, "requests": reqs})
				}
				w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "USER\tNAME\tASKED\tINVITE\tNOTE")
				for _, q := range reqs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", q.User, q.Name, q.At.UTC().Format(time.RFC3339), q.Invite, q.Note)
				}
				return w.Flush()
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the group")
	_ = cmd.MarkFlagRequired("conv")
	return cmd
}
