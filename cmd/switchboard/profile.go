package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func newProfileCmd() *cobra.Command {
	var o clientOptions
	var name, avatar, conv string
	var of []string
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "The user's profile (display name and avatar); flags change it, --of reads others'",
		Long: `Print how the user shows in other users' apps: a display name and an
avatar's URL. --name and --avatar change them (an empty value clears
one). --of reads the profiles of users who share a conversation with
the user: members of --conv, or without it the other members of the
user's direct conversations; the others are left out.`,
		Example: `  switchboard profile --data-dir D --user ann --name "Ann Kowalski" --avatar https://img.example/ann.png
  switchboard profile --data-dir D --user bob --of ann,carol --conv g:class`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			change := &wirepb.ProfileRequest{}
			if cmd.Flags().Changed("name") {
				change.Name = &name
			}
			if cmd.Flags().Changed("avatar") {
				change.AvatarUrl = &avatar
			}
			if len(of) > 0 && (change.Name != nil || change.AvatarUrl != nil) {
				return fmt.Errorf("--of reads others' profiles: change your own without it")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var ps []*wirepb.Profile
				if len(of) > 0 {
					var err error
					if ps, err = c.Profiles(ctx, conv, of...); err != nil {
						return err
					}
				} else {
					p, err := c.SetProfile(ctx, change)
					if err != nil {
						return err
					}
					ps = []*wirepb.Profile{p}
				}
				if o.json {
					out := make([]map[string]any, len(ps))
					for i, p := range ps {
						out[i] = map[string]any{"user": p.User, "name": p.Name, "avatar_url": p.AvatarUrl, "updated_ms": p.UpdatedMs}
						if len(p.Meta) > 0 {
							out[i]["meta"] = p.Meta // the operator's (a verified seller)
						}
					}
					if len(of) == 0 {
						return printJSON(cmd.OutOrStdout(), out[0])
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, p := range ps {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\tname: %q\tavatar: %q", p.User, p.Name, p.AvatarUrl)
					for _, k := range slices.Sorted(maps.Keys(p.Meta)) {
						fmt.Fprintf(cmd.OutOrStdout(), "\t%s=%s", k, p.Meta[k])
					}
					fmt.Fprintln(cmd.OutOrStdout())
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "", "set the display name (empty: clear it)")
	cmd.Flags().StringVar(&avatar, "avatar", "", "set the avatar's http(s) URL (empty: clear it)")
	cmd.Flags().StringSliceVar(&of, "of", nil, "read these users' profiles instead (comma-separated)")
	cmd.Flags().StringVar(&conv, "conv", "", "with --of: the conversation the users share with you (empty: your direct conversations)")
	return cmd
}
