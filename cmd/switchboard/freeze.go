package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/transport/client"
)

func newFreezeCmd() *cobra.Command {
	var o clientOptions
	var conv, reason string
	var off bool
	var forDur time.Duration
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "Read, set or lift a group's freeze: closed to new messages, still read (--reason, --off)",
		Long: `Print whether a conversation is frozen or, with --reason (or --on), freeze
it: nobody posts anything into it, every member still reads it, recalls
their own messages and leaves, and every member's client shows the reason.
--off opens it again; --for freezes it for a while (a cool-down), after
which it opens by itself. A group's owners and admins; the operator
freezes direct conversations too ("switchboard moderate freeze").`,
		Example: `  switchboard freeze --data-dir D --user teacher --conv g:7b --reason "the term is over"
  switchboard freeze --data-dir D --user mod --conv g:market --reason "cool down" --for 1h
  switchboard freeze --data-dir D --user teacher --conv g:7b --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			on, _ := cmd.Flags().GetBool("on")
			switch {
			case conv == "":
				return errors.New("give --conv")
			case off && (reason != "" || on || forDur != 0):
				return errors.New("--off opens it: no --reason, --on or --for")
			case forDur < 0:
				return fmt.Errorf("--for %v: a duration ahead", forDur)
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var seq uint64
				var err error
				switch {
				case off:
					seq, err = c.Unfreeze(ctx, conv)
				case forDur > 0:
					seq, err = c.FreezeUntil(ctx, conv, reason, time.Now().Add(forDur))
				case reason != "" || on:
					seq, err = c.Freeze(ctx, conv, reason)
				}
				if err != nil {
					return err
				}
				f, err := c.Frozen(ctx, conv)
				if err != nil {
					return err
				}
				if o.json {
					out := map[string]any{"conv": conv, "frozen": f != nil, "seq": seq}
					if f != nil {
						out["reason"], out["by"], out["at_ms"] = f.Reason, f.By, f.At.UnixMilli()
						if !f.Until.IsZero() {
							out["until_ms"] = f.Until.UnixMilli()
						}
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				printFrozen(cmd.OutOrStdout(), conv, f != nil, func() (string, string, time.Time, time.Time) { return f.Reason, f.By, f.At, f.Until })
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation (g:…)")
	cmd.Flags().StringVar(&reason, "reason", "", "freeze it, showing the members why")
	cmd.Flags().Bool("on", false, "freeze it without a reason")
	cmd.Flags().BoolVar(&off, "off", false, "open it to new messages again")
	cmd.Flags().DurationVar(&forDur, "for", 0, "freeze it for this long (a cool-down): it opens by itself after")
	return cmd
}

// printFrozen says whether conv is frozen, and why (state is read only
// when it is).
func printFrozen(w io.Writer, conv string, frozen bool, state func() (reason, by string, at, until time.Time)) {
	if !frozen {
		fmt.Fprintf(w, "%s: open\n", conv)
		return
	}
	reason, by, at, until := state()
	fmt.Fprintf(w, "%s: frozen by %s since %s", conv, by, at.UTC().Format(time.RFC3339))
	if !until.IsZero() {
		fmt.Fprintf(w, " until %s", until.UTC().Format(time.RFC3339))
	}
	if reason != "" {
		fmt.Fprintf(w, ": %s", reason)
	}
	fmt.Fprintln(w)
}

// moderateFreezeCmds are "moderate freeze" and "moderate unfreeze": the
// operator's, through the admin API, of one conversation or of every
// conversation of a user about a topic (the chats about a listing that
// sold).
func moderateFreezeCmds(o *adminOptions) (freeze, unfreeze *cobra.Command) {
	var conv, reason, user, topic string
	var forDur time.Duration
	one := func(cmd *cobra.Command, conv string, frozen bool) error {
		var res admin.Freeze
		p := "/api/v1/conversations/" + url.PathEscape(conv) + "/freeze"
		body := map[string]any{"frozen": frozen, "reason": reason}
		if forDur != 0 {
			body["for"] = forDur.String()
		}
		if err := o.callWith(cmd.Context(), http.MethodPut, p, body, &res); err != nil {
			return err
		}
		if o.json {
			return printJSON(cmd.OutOrStdout(), res)
		}
		printFrozen(cmd.OutOrStdout(), res.Conv, res.Frozen, func() (string, string, time.Time, time.Time) { return res.Reason, res.By, res.At, res.Until })
		return nil
	}
	run := func(cmd *cobra.Command, frozen bool) error {
		switch {
		case (conv == "") == (topic == ""):
			return errors.New("give --conv, or --user and --topic")
		case (topic == "") != (user == ""):
			return errors.New("--topic goes with --user: every conversation of theirs about it")
		case conv != "":
			return one(cmd, conv, frozen)
		}
		// Both lists: a chat the user archived is about the listing too.
		for _, archived := range []string{"false", "true"} {
			for after := ""; ; {
				var page admin.UserConversations
				p := "/api/v1/users/" + url.PathEscape(user) + "/conversations?topic=" + url.QueryEscape(topic) + "&archived=" + archived + "&after=" + url.QueryEscape(after)
				if err := o.call(cmd.Context(), http.MethodGet, p, &page); err != nil {
					return err
				}
				for _, c := range page.Conversations {
					if err := one(cmd, c.Conv, frozen); err != nil {
						return fmt.Errorf("%s: %w", c.Conv, err)
					}
				}
				if after = page.Next; after == "" {
					break
				}
			}
		}
		return nil
	}
	freeze = &cobra.Command{
		Use:   "freeze",
		Short: "Freeze a direct conversation or a group: closed to new messages, still read",
		Long: `Freeze a conversation as the operator: the chat about a listing that sold, a
dispute settled, a group gone wrong. Nobody posts anything into it; every
member still reads it, recalls their own messages and leaves, and every
member's client shows the reason. The freeze is a system message by
"system". Post what the members should read last before freezing.
--user and --topic freeze every conversation of that user about the topic.`,
		Example: `  switchboard moderate freeze --conv d:buyer:seller:listing-7 --reason "This item has sold"
  switchboard moderate freeze --user seller --topic listing-7 --reason "This item has sold"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd, true) },
	}
	unfreeze = &cobra.Command{
		Use: "unfreeze", Short: "Open a frozen conversation (or a user's about a topic) to new messages again", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd, false) },
	}
	for _, c := range []*cobra.Command{freeze, unfreeze} {
		c.Flags().StringVar(&conv, "conv", "", "the conversation")
		c.Flags().StringVar(&user, "user", "", "with --topic: that user's conversations about it")
		c.Flags().StringVar(&topic, "topic", "", "with --user: every conversation of theirs about it (a listing, an order)")
	}
	freeze.Flags().StringVar(&reason, "reason", "", "why, shown to every member")
	freeze.Flags().DurationVar(&forDur, "for", 0, "freeze it for this long (a cool-down): it opens by itself after")
	return freeze, unfreeze
}
