package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newTokenCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a connection token for a user and device",
		Long: `Mint a JWT naming --user (sub) and --device (dev), valid for --token-ttl:
HS256 with --auth-secret-file (default: the dev secret in --data-dir), or
EdDSA with --private-key (a PEM PKCS #8 Ed25519 key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.user == "" {
				return errors.New("give --user")
			}
			tok, err := o.mint(o.user, o.device)
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
	return cmd
}
