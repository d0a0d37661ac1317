package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// newConvMetaCmd reads or replaces a conversation's meta through the
// admin API.
func newConvMetaCmd() *cobra.Command {
	var o adminOptions
	var conv string
	var set map[string]string
	var clear bool
	cmd := &cobra.Command{
		Use:   "meta",
		Short: "Read or replace the app's own data about a conversation (through the admin API)",
		Long: `Print a conversation's meta, the app's own data about it: a listing's title and
price beside the chat about it, a course's id beside a class group. --set
replaces it whole; --clear takes it away. Every member's app reads it in
its conversation list; nobody is shown it. A direct conversation or a
group; at most the node's --max-meta-bytes of keys and values.`,
		Example: `  switchboard meta --conv d:buyer:seller:listing-7 --set title=Lamp,price='40 EUR'
  switchboard meta --conv d:buyer:seller:listing-7 --clear`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case conv == "":
				return errors.New("give --conv")
			case clear && len(set) > 0:
				return errors.New("--set or --clear, not both")
			}
			p := "/api/v1/conversations/" + url.PathEscape(conv) + "/meta"
			var res admin.ConversationMeta
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
				return printJSON(cmd.OutOrStdout(), res)
			}
			if len(res.Meta) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: no meta\n", res.Conv)
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
	cmd.Flags().StringToStringVar(&set, "set", nil, "replace it: KEY=VALUE,…")
	cmd.Flags().BoolVar(&clear, "clear", false, "take it away")
	return cmd
}
