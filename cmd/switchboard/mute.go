package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newMuteCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var off bool
	cmd := &cobra.Command{
		Use:   "mute",
		Short: "Mute a conversation for the user (its unread messages leave the total); --off unmutes",
		Long: `Mute a conversation for the user alone: its messages still arrive and keep
their own unread count, but no longer count in the user's total unread (the
badge). Not an admin's mute of a member (the membership op MUTE).`,
		Example: `  switchboard mute --data-dir D --user bob --conv d:alice:bob
  switchboard mute --data-dir D --user bob --conv d:alice:bob --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				total, err := c.SetMuted(ctx, conv, !off)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "muted": !off, "total_unread": total})
				}
				state := "muted"
				if off {
					state = "unmuted"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s; %d unread in all\n", conv, state, total)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().BoolVar(&off, "off", false, "unmute")
	return cmd
}

func newArchiveCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var off bool
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Archive a conversation for the user (out of the main list until news); --off brings it back",
		Long: `Move a conversation into the user's archived list (convs --archived). Only
the list changes: its unread messages still count unless it is muted. The
next message from someone else brings it back to the main list, unless the
user muted it.`,
		Example: `  switchboard archive --data-dir D --user bob --conv d:alice:bob
  switchboard archive --data-dir D --user bob --conv d:alice:bob --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if err := c.SetArchived(ctx, conv, !off); err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "archived": !off})
				}
				state := "archived"
				if off {
					state = "back in the main list"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", conv, state)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().BoolVar(&off, "off", false, "back to the main list")
	return cmd
}

func newMarkUnreadCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var off bool
	cmd := &cobra.Command{
		Use:   "mark-unread",
		Short: "Mark a conversation unread for the user, to come back to it; --off takes the mark away",
		Long: `Mark a conversation unread for the user: convs shows it "(marked unread)"
until the user reads it (read, from any device, or a message of their
own). The unread count and the read cursor stay as they are.`,
		Example: `  switchboard mark-unread --data-dir D --user bob --conv d:alice:bob
  switchboard mark-unread --data-dir D --user bob --conv d:alice:bob --off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if err := c.SetMarkedUnread(ctx, conv, !off); err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "marked_unread": !off})
				}
				state := "marked unread"
				if off {
					state = "no longer marked unread"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", conv, state)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().BoolVar(&off, "off", false, "take the mark away")
	return cmd
}
