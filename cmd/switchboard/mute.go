package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newMuteCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var off bool
	var period time.Duration
	cmd := &cobra.Command{
		Use:   "mute",
		Short: "Mute a conversation for the user (its unread messages leave the total); --off unmutes",
		Long: `Mute a conversation for the user alone: its messages still arrive and keep
their own unread count, but no longer count in the user's total unread (the
badge). With --for the mute ends by itself after that long. Not an admin's
mute of a member (the membership op MUTE).`,
		Example: `  switchboard mute --data-dir D --user bob --conv d:alice:bob
  switchboard mute --data-dir D --user bob --conv g:class --for 8h
  switchboard mute --data-dir D --user bob --conv d:alice:bob --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			if off && period != 0 {
				return errors.New("--for or --off, not both")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var total uint64
				var err error
				if period != 0 {
					total, err = c.MuteFor(ctx, conv, period)
				} else {
					total, err = c.SetMuted(ctx, conv, !off)
				}
				if err != nil {
					return err
				}
				var until time.Time
				if period > 0 {
					until = time.Now().Add(period).UTC().Truncate(time.Second)
				}
				if o.json {
					out := map[string]any{"conv": conv, "muted": !off, "total_unread": total}
					if !until.IsZero() {
						out["until"] = until
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				state := "muted"
				switch {
				case off:
					state = "unmuted"
				case !until.IsZero():
					state = "muted until " + until.Format(time.RFC3339)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s; %d unread in all\n", conv, state, total)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().BoolVar(&off, "off", false, "unmute")
	cmd.Flags().DurationVar(&period, "for", 0, "the mute ends by itself after this long (8h, 168h); default: until unmuted")
	return cmd
}

// ownFlag describes a command that sets or clears one of the user's own
// flags of a conversation (archive, mark-unread): --conv, --off, --json.
type ownFlag struct {
	use, short, long, example string
	offHelp                   string // what --off does
	field                     string // the JSON answer's field
	on, off                   string // the state printed after
	set                       func(ctx context.Context, c *client.Client, conv string, on bool) error
}

func newOwnFlagCmd(f ownFlag) *cobra.Command {
	var o clientOptions
	var conv string
	var off bool
	cmd := &cobra.Command{
		Use: f.use, Short: f.short, Long: f.long, Example: f.example,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if err := f.set(ctx, c, conv, !off); err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, f.field: !off})
				}
				state := f.on
				if off {
					state = f.off
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", conv, state)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().BoolVar(&off, "off", false, f.offHelp)
	return cmd
}

func newArchiveCmd() *cobra.Command {
	return newOwnFlagCmd(ownFlag{
		use:   "archive",
		short: "Archive a conversation for the user (out of the main list until news); --off brings it back",
		long: `Move a conversation into the user's archived list (convs --archived). Only
the list changes: its unread messages still count unless it is muted. The
next message from someone else brings it back to the main list, unless the
user muted it.`,
		example: `  switchboard archive --data-dir D --user bob --conv d:alice:bob
  switchboard archive --data-dir D --user bob --conv d:alice:bob --off`,
		offHelp: "back to the main list", field: "archived", on: "archived", off: "back in the main list",
		set: func(ctx context.Context, c *client.Client, conv string, on bool) error {
			return c.SetArchived(ctx, conv, on)
		},
	})
}

func newSnoozeCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var period time.Duration
	cmd := &cobra.Command{
		Use:   "snooze",
		Short: "Archive a conversation for the user until a time: then it is back in the main list, marked unread",
		Long: `Snooze a conversation ("remind me tomorrow"): it moves to the user's
archived list and comes back to the main list by itself after --for,
marked unread until the user reads it. News from someone else brings it
back earlier, as for any archive; archive --off ends it at once.`,
		Example: `  switchboard snooze --data-dir D --user seller --conv d:buyer:seller --for 20h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || period <= 0 {
				return errors.New("give --conv and --for")
			}
			until := time.Now().Add(period)
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if err := c.Snooze(ctx, conv, until); err != nil {
					return err
				}
				until = until.UTC().Truncate(time.Second)
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "archived": true, "until": until})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s snoozed until %s\n", conv, until.Format(time.RFC3339))
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().DurationVar(&period, "for", 0, "how long (the node's --max-snooze-for bounds it)")
	return cmd
}

func newMarkUnreadCmd() *cobra.Command {
	return newOwnFlagCmd(ownFlag{
		use:   "mark-unread",
		short: "Mark a conversation unread for the user, to come back to it; --off takes the mark away",
		long: `Mark a conversation unread for the user: convs shows it "(marked unread)"
until the user reads it (read, from any device, or a message of their
own). The unread count and the read cursor stay as they are.`,
		example: `  switchboard mark-unread --data-dir D --user bob --conv d:alice:bob
  switchboard mark-unread --data-dir D --user bob --conv d:alice:bob --off`,
		offHelp: "take the mark away", field: "marked_unread", on: "marked unread", off: "no longer marked unread",
		set: func(ctx context.Context, c *client.Client, conv string, on bool) error {
			return c.SetMarkedUnread(ctx, conv, on)
		},
	})
}
