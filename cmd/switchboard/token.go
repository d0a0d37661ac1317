package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport"
)

func newTokenCmd() *cobra.Command {
	var o clientOptions
	var name, picture string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a connection token for a user and device",
		Long: `Mint a JWT naming --user (sub) and --device (dev), valid for --token-ttl:
HS256 with --auth-secret-file (default: the dev secret in --data-dir), or
EdDSA with --private-key (a PEM PKCS #8 Ed25519 key). --name and
--picture add the OpenID Connect profile claims: a node sets the user's
profile from them at connect (serve --profile-from-token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.user == "" {
				return errors.New("give --user")
			}
			var n, p *string
			if cmd.Flags().Changed("name") {
				n = &name
			}
			if cmd.Flags().Changed("picture") {
				p = &picture
			}
			tok, err := o.mint(o.user, o.device, transport.WithProfile(n, p))
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"token": tok, "user": o.user, "device": o.device, "ttl_s": int(o.tokenTTL.Seconds())})
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "", "the token's name claim: the user's display name")
	cmd.Flags().StringVar(&picture, "picture", "", "the token's picture claim: the user's avatar URL")
	return cmd
}
