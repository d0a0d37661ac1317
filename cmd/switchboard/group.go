package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func newGroupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Create groups and manage their members"}
	cmd.AddCommand(newGroupCreateCmd(), newGroupChangeCmd("add"), newGroupChangeCmd("remove"),
		newGroupChangeCmd("leave"), newGroupChangeCmd("set-role"), newGroupChangeCmd("disband"), newGroupMembersCmd(), newGroupSettingsCmd(),
		newGroupInviteCmd(), newGroupJoinCmd(), newGroupRequestsCmd(), newGroupChangeCmd("approve"), newGroupChangeCmd("decline"),
		newGroupChangeCmd("mute"), newGroupChangeCmd("unmute"))
	return cmd
}

func newGroupCreateCmd() *cobra.Command {
	var o clientOptions
	var id, title string
	var members []string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a group with this user as owner",
		Example: `  switchboard group create --data-dir D --user alice --id g:team --title Team --members bob,carol`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				conv, err := c.CreateGroup(ctx, id, title, members)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv})
				}
				fmt.Fprintln(cmd.OutOrStdout(), conv)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "the group's id (default: the server picks g:<random>)")
	cmd.Flags().StringVar(&title, "title", "", "the group's title")
	cmd.Flags().StringSliceVar(&members, "members", nil, "members besides this user")
	return cmd
}

func newGroupChangeCmd(op string) *cobra.Command {
	var o clientOptions
	var conv, role string
	var users []string
	var muteFor time.Duration
	short := map[string]string{
		"add":      "Add members (owners and admins)",
		"remove":   "Remove members (owners and admins)",
		"leave":    "Leave a group",
		"set-role": "Set members' role: member or admin (the owner)",
		"disband":  "End a group for every member (its owners): all leave, keeping its history up to there",
		"approve":  "Admit users who asked to join with an approval invite (owners and admins)",
		"decline":  "Drop users' requests to join (owners and admins)",
		"mute":     "Keep members from posting, for a while with --for (owners and admins)",
		"unmute":   "Let muted members post again (owners and admins)",
	}[op]
	cmd := &cobra.Command{
		Use:   op,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			if op != "leave" && op != "disband" && len(users) == 0 {
				return errors.New("give --users")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var seq uint64
				var err error
				switch op {
				case "add":
					seq, err = c.AddMembers(ctx, conv, users...)
				case "remove":
					seq, err = c.RemoveMembers(ctx, conv, users...)
				case "leave":
					seq, err = c.Leave(ctx, conv)
				case "disband":
					seq, err = c.Disband(ctx, conv)
				case "approve":
					seq, err = c.ApproveJoin(ctx, conv, users...)
				case "decline":
					err = c.DeclineJoin(ctx, conv, users...)
				case "mute":
					seq, err = c.MuteMembersFor(ctx, conv, muteFor, users...)
				case "unmute":
					seq, err = c.Unmute(ctx, conv, users...)
				case "set-role":
					r, ok := wirepb.Role_value[strings.ToUpper(role)]
					if !ok {
						return fmt.Errorf("role %q: want member or admin", role)
					}
					seq, err = c.SetRole(ctx, conv, wirepb.Role(r), users...)
				}
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "seq": seq})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: done (#%d)\n", conv, seq)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the group's id")
	if op != "leave" && op != "disband" {
		cmd.Flags().StringSliceVar(&users, "users", nil, "the users to act on")
	}
	if op == "set-role" {
		cmd.Flags().StringVar(&role, "role", "member", "member or admin")
	}
	if op == "mute" {
		cmd.Flags().DurationVar(&muteFor, "for", 0, "how long the mute lasts (1h, 24h); 0: until unmuted")
	}
	return cmd
}

func newGroupMembersCmd() *cobra.Command {
	var o clientOptions
	var conv string
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List a group's members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				all, err := c.AllMembers(ctx, conv)
				if err != nil {
					return err
				}
				if o.json {
					out := make([]map[string]any, len(all))
					for i, m := range all {
						out[i] = map[string]any{"user": m.User, "role": strings.ToLower(m.Role.String()), "joined_seq": m.JoinedSeq, "muted": m.Muted}
						if m.MutedUntilMs > 0 {
							out[i]["muted_until_ms"] = m.MutedUntilMs
						}
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, m := range all {
					line := fmt.Sprintf("%-24s %s", m.User, strings.ToLower(m.Role.String()))
					switch {
					case m.MutedUntilMs > 0:
						line += ", muted until " + time.UnixMilli(m.MutedUntilMs).Local().Format(time.DateTime)
					case m.Muted:
						line += ", muted"
					}
					fmt.Fprintln(cmd.OutOrStdout(), line)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "the group's id")
	return cmd
}

func newGroupSettingsCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var adminsOnly bool
	var prejoin uint32
	var pin, unpin uint64
	var slowMode time.Duration
	var title, description, picture, savePicture string
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show a group's settings, or change them (owners and admins)",
		Long: `Without a setting flag, show the group's settings (any member). With one,
change it: --admins-only lets only owners and admins post new messages (a
class, an announcement channel; members still read, react and edit their
own), --admins-only=false opens the group again; --prejoin-history N lets a
member added later see the last N messages before its join; --slow-mode 30s
lets a plain member post a new message at most once every 30 s (owners and
admins are exempt; 0 turns it off); --title renames the group (every
member's list shows it) and --description says what it is for; --picture
FILE makes an image the group's picture (--picture "" takes it away), and
--save-picture PATH saves it; --pin SEQ pins
a message for every member to see (--unpin SEQ takes it off), alone; pins
also work in a direct conversation (either member) and a service one (its
agent).`,
		Example: `  switchboard group settings --data-dir D --user teacher --conv g:class --admins-only
  switchboard group settings --data-dir D --user teacher --conv g:class --slow-mode 30s
  switchboard group settings --data-dir D --user teacher --conv g:class --title '7B Biology' --description 'Homework and questions'
  switchboard group settings --data-dir D --user teacher --conv g:class --pin 12
  switchboard group settings --data-dir D --user bob --conv d:alice:bob --pin 3
  switchboard group settings --data-dir D --user pupil --conv g:class --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			var ch client.GroupSettingsChange
			if cmd.Flags().Changed("admins-only") {
				ch.AdminsOnly = &adminsOnly
			}
			if cmd.Flags().Changed("prejoin-history") {
				ch.PrejoinHistory = &prejoin
			}
			if cmd.Flags().Changed("slow-mode") {
				ch.SlowMode = &slowMode
			}
			if cmd.Flags().Changed("title") {
				ch.Title = &title
			}
			if cmd.Flags().Changed("description") {
				ch.Description = &description
			}
			ch.PinSeq, ch.UnpinSeq = pin, unpin
			var img []byte
			var imgType string
			if cmd.Flags().Changed("picture") {
				if picture == "" {
					ch.Picture = &picture
				} else {
					var err error
					if img, imgType, err = readFile(picture, ""); err != nil {
						return err
					}
				}
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				s, seq, err := c.ChangeGroupSettings(ctx, conv, ch)
				if err == nil && img != nil {
					var pseq uint64
					s, pseq, err = c.SetGroupPicture(ctx, conv, filepath.Base(picture), imgType, img)
					seq = max(seq, pseq)
				}
				if err != nil {
					return err
				}
				if savePicture != "" {
					_, data, err := c.GroupPicture(ctx, conv)
					if err != nil {
						return err
					}
					if err := os.WriteFile(savePicture, data, 0o644); err != nil {
						return err
					}
				}
				if o.json {
					pinned := s.PinnedSeqs
					if pinned == nil {
						pinned = []uint64{}
					}
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "admins_only": s.AdminsOnly, "prejoin_history": s.PrejoinHistory,
						"pinned_seqs": pinned, "slow_mode_ms": s.SlowMode.Milliseconds(), "title": s.Title, "description": s.Description,
						"picture": s.Picture.GetId(), "member_count": s.Members, "managers": managersJSON(s.Managers), "seq": seq})
				}
				who := "every member posts"
				if s.AdminsOnly {
					who = "only owners and admins post"
				}
				if s.SlowMode > 0 {
					who += fmt.Sprintf(", a plain member once every %v", s.SlowMode)
				}
				name := conv
				if s.Title != "" {
					name = fmt.Sprintf("%s %q", conv, s.Title)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s, %d members: %s; a new member sees %d messages before its join; pinned: %v\n", name, s.Members, who, s.PrejoinHistory, s.PinnedSeqs)
				if s.Description != "" {
					fmt.Fprintln(cmd.OutOrStdout(), s.Description)
				}
				if len(s.Managers) > 0 {
					run := make([]string, len(s.Managers))
					for i, m := range s.Managers {
						run[i] = fmt.Sprintf("%s (%s)", m.User, strings.ToLower(m.Role.String()))
					}
					fmt.Fprintln(cmd.OutOrStdout(), "run by:", strings.Join(run, ", "))
				}
				if p := s.Picture; p != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "picture: %s (%s, %d bytes)\n", p.Name, p.Mime, p.Size)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "group id")
	cmd.Flags().BoolVar(&adminsOnly, "admins-only", false, "only owners and admins post new messages (=false: every member)")
	cmd.Flags().Uint32Var(&prejoin, "prejoin-history", 0, "messages before its join a member added later sees")
	cmd.Flags().StringVar(&title, "title", "", "the group's name, as every member's list shows it")
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	cmd.Flags().StringVar(&picture, "picture", "", "an image file to make the group's picture (\"\": take it away)")
	cmd.Flags().StringVar(&savePicture, "save-picture", "", "save the group's picture to this file")
	cmd.Flags().DurationVar(&slowMode, "slow-mode", 0, "a plain member posts a new message at most once per this interval (0: off)")
	cmd.Flags().Uint64Var(&pin, "pin", 0, "pin the message at this seq for every member")
	cmd.Flags().Uint64Var(&unpin, "unpin", 0, "unpin the message at this seq")
	return cmd
}

// managersJSON is a group's managers as --json prints them.
func managersJSON(ms []*wirepb.Member) []map[string]string {
	out := make([]map[string]string, len(ms))
	for i, m := range ms {
		out[i] = map[string]string{"user": m.User, "role": strings.ToLower(m.Role.String())}
	}
	return out
}
