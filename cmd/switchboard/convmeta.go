package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/spf13/cobra"
)

// newConvMetaCmd reads or replaces the app's meta of a conversation or of
// a user's profile through the admin API.
func newConvMetaCmd() *cobra.Command {
	var o adminOptions
	var conv, user string
	var set map[string]string
	var clear bool
	cmd := &cobra.Command{
		Use:   "meta",
		Short: "Read or replace the app's own data about a conversation or a user (through the admin API)",
		Long: `Print a conversation's meta, the app's own data about it: a listing's title and
price beside the chat about it, a course's id beside a class group; or,
with --user, a user's: "verified", a school's role, which every app that
reads their profile gets and the user cannot set. --set replaces it
whole; --clear takes it away. Nobody is shown it. A direct conversation or
a group; at most the node's --max-meta-bytes of keys and values.`,
		Example: `  switchboard meta --conv d:buyer:seller:listing-7 --set title=Lamp,price='40 EUR'
  switchboard meta --conv d:buyer:seller:listing-7 --clear
  switchboard meta --user seller --set verified=true`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case (conv == "") == (user == ""):
				return errors.New("give --conv or --user")
			case clear && len(set) > 0:
				return errors.New("--set or --clear, not both")
			}
			what, p := conv, "/api/v1/conversations/"+url.PathEscape(conv)+"/meta"
			if user != "" {
				what, p = user, "/api/v1/users/"+url.PathEscape(user)+"/profile"
			}
			var res struct {
				Meta map[string]string `json:"meta"`
			}
			var err error
			if clear || len(set) > 0 {
				meta := set
				if clear {
					meta = map[string]string{} // {}: none
				}
				err = o.callWith(cmd.Context(), http.MethodPut, p, map[string]any{"meta": meta}, &res)
			} else {
				err = o.call(cmd.Context(), http.MethodGet, p, &res)
			}
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"of": what, "meta": res.Meta})
			}
			if len(res.Meta) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: no meta\n", what)
				return nil
			}
			for _, k := range slices.Sorted(maps.Keys(res.Meta)) {
				fmt.Fprintf(cmd.OutOrStdout(), "%s=%s\n", k, res.Meta[k])
			}
			return nil
		},
	}
	o.flags(cmd)
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation")
	cmd.Flags().StringVar(&user, "user", "", "a user: their profile's meta")
	cmd.Flags().StringToStringVar(&set, "set", nil, "replace it: KEY=VALUE,…")
	cmd.Flags().BoolVar(&clear, "clear", false, "take it away")
	return cmd
}
