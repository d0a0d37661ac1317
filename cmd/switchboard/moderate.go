package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// newModerateCmd is moderation through the admin API: the users' reports,
// suspending a user and lifting it, a user's state, recalling any message,
// a user's messages, erasing a user.
func newModerateCmd() *cobra.Command {
	var o adminOptions
	cmd := &cobra.Command{Use: "moderate", Short: "Moderation: users' reports, suspending a user, recalling any message, erasing a user (through the admin API)"}
	o.flags(cmd)
	var user string
	userFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&user, "user", "", "the user")
		_ = c.MarkFlagRequired("user")
	}
	path := func(suffix string) string { return "/api/v1/users/" + url.PathEscape(user) + suffix }
	showStatus := func(st admin.UserStatus) error {
		if o.json {
			return printJSON(os.Stdout, st)
		}
		printUserStatus(os.Stdout, st)
		return nil
	}

	show := &cobra.Command{
		Use: "user", Short: "Whether a user is suspended, and their devices online", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st admin.UserStatus
			if err := o.call(cmd.Context(), http.MethodGet, path(""), &st); err != nil {
				return err
			}
			return showStatus(st)
		},
	}
	userFlag(show)

	var reason string
	var forDur time.Duration
	suspend := &cobra.Command{
		Use:   "suspend",
		Short: "Suspend a user: their devices are disconnected and cannot connect until it is lifted or ends",
		Long: `Suspend a user. Their online devices are disconnected with SUSPENDED and no
device of theirs can connect while the suspension holds. Their conversations
and messages stay; others can still write to them. The reason is shown to
the user's clients. Without --for it holds until "switchboard moderate unsuspend".`,
		Example: `  switchboard moderate suspend --user mallory --reason "selling counterfeit goods" --for 72h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := admin.SuspendRequest{Reason: reason}
			if forDur < 0 {
				return fmt.Errorf("--for %s: want a positive duration", forDur)
			}
			if forDur > 0 {
				req.For = forDur.String()
			}
			var st admin.UserStatus
			if err := o.callWith(cmd.Context(), http.MethodPost, path("/suspend"), req, &st); err != nil {
				return err
			}
			return showStatus(st)
		},
	}
	userFlag(suspend)
	suspend.Flags().StringVar(&reason, "reason", "", "why, shown to the user's clients")
	suspend.Flags().DurationVar(&forDur, "for", 0, "how long (0: until lifted)")

	unsuspend := &cobra.Command{
		Use: "unsuspend", Short: "Lift a user's suspension", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st admin.UserStatus
			if err := o.callWith(cmd.Context(), http.MethodPost, path("/unsuspend"), struct{}{}, &st); err != nil {
				return err
			}
			return showStatus(st)
		},
	}
	userFlag(unsuspend)

	var conv string
	var seq uint64
	recall := &cobra.Command{
		Use:   "recall",
		Short: "Recall any user message of any conversation, at any time",
		Long: `Recall a message as the operator: in any conversation (a direct one too, where
no member may recall the other's), past the sender's recall window. Every
member's device learns of it as of any recall; the recall event's sender is
"system".`,
		Example: `  switchboard moderate recall --conv d:bob:mallory --seq 7`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res struct {
				Conv      string `json:"conv"`
				Seq       uint64 `json:"seq"`
				RecallSeq uint64 `json:"recall_seq"`
			}
			p := "/api/v1/conversations/" + url.PathEscape(conv) + "/messages/" + strconv.FormatUint(seq, 10) + "/recall"
			if err := o.callWith(cmd.Context(), http.MethodPost, p, struct{}{}, &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("recalled %s #%d (recall event #%d)\n", res.Conv, res.Seq, res.RecallSeq)
			return nil
		},
	}
	recall.Flags().StringVar(&conv, "conv", "", "the conversation")
	recall.Flags().Uint64Var(&seq, "seq", 0, "the message's seq")
	_ = recall.MarkFlagRequired("conv")
	_ = recall.MarkFlagRequired("seq")

	freeze, unfreeze := moderateFreezeCmds(&o)

	var after string
	var limit int
	reports := &cobra.Command{
		Use: "reports", Short: "The users' open reports of messages, oldest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if after != "" {
				q.Set("after", after)
			}
			var res admin.Reports
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/reports?"+q.Encode(), &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("%d open\n", res.Total)
			for _, r := range res.Reports {
				fmt.Printf("\n%s  %s #%d  sent by %s at %s, reported by %s at %s\n  reason: %s\n  %s: %q\n",
					r.ID, r.Conv, r.Seq, r.Sender, r.SentAt.Format(time.RFC3339), r.Reporter, r.ReportedAt.Format(time.RFC3339), r.Reason, r.Kind, r.Body)
			}
			return nil
		},
	}
	reports.Flags().StringVar(&after, "after", "", "list the reports after this one")
	reports.Flags().IntVar(&limit, "limit", 100, "most reports to list (1–500)")

	var reportID, resolution string
	resolve := &cobra.Command{
		Use: "resolve", Short: "Close an open report, saying what was done", Args: cobra.NoArgs,
		Example: `  switchboard moderate resolve --report 7312 --resolution "suspended mallory, recalled the message"`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r admin.Report
			p := "/api/v1/reports/" + url.PathEscape(reportID) + "/resolve"
			if err := o.callWith(cmd.Context(), http.MethodPost, p, admin.ResolveRequest{Resolution: resolution}, &r); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, r)
			}
			fmt.Printf("resolved %s (%s #%d)\n", r.ID, r.Conv, r.Seq)
			return nil
		},
	}
	resolve.Flags().StringVar(&reportID, "report", "", "the report's id")
	resolve.Flags().StringVar(&resolution, "resolution", "", "what was done, for the log")
	_ = resolve.MarkFlagRequired("report")

	var around int
	contextCmd := &cobra.Command{
		Use: "context", Short: "The messages around a reported one (only for an open report)", Args: cobra.NoArgs,
		Example: `  switchboard moderate context --report 7312 --around 5`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var c admin.ReportContext
			p := "/api/v1/reports/" + url.PathEscape(reportID) + "/context?around=" + strconv.Itoa(around)
			if err := o.call(cmd.Context(), http.MethodGet, p, &c); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, c)
			}
			fmt.Printf("report %s: %s #%d, reported by %s: %s\n", c.Report.ID, c.Report.Conv, c.Report.Seq, c.Report.Reporter, c.Report.Reason)
			for _, m := range c.Messages {
				mark, body := "  ", m.Body
				if m.Reported {
					mark = "> "
				}
				if m.Recalled {
					body = "(recalled)"
				}
				fmt.Printf("%s#%d %s %s [%s]: %s\n", mark, m.Seq, m.SentAt.Format(time.RFC3339), m.Sender, m.Kind, body)
			}
			return nil
		},
	}
	contextCmd.Flags().StringVar(&reportID, "report", "", "the report's id")
	contextCmd.Flags().IntVar(&around, "around", 5, "messages on either side (1–20)")
	_ = contextCmd.MarkFlagRequired("report")

	var yes bool
	erase := &cobra.Command{
		Use:   "erase",
		Short: "Erase a user: recall every message they sent and close the account, for good",
		Long: `Erase a user, as for an account deleted at the user's request. Every message
they sent, in every conversation they were ever in, is recalled as the
operator (the text is cleared in the store and every member's device drops
it); their push registrations are deleted; they are suspended without end
("account erased"), so their devices are disconnected and cannot connect.
Their user id stays in others' member lists and as the recalled rows'
sender. It cannot be undone, so it asks for --yes. A user with much history
takes several requests of up to a minute each, each going on from where the
one before stopped; this command makes them until it is done, and running
it again after an interruption finishes it.`,
		Example: `  switchboard moderate erase --user eve --yes`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return fmt.Errorf("erasing %s cannot be undone: pass --yes", user)
			}
			var total admin.Erasure
			var req admin.EraseRequest
			for !total.Done {
				var res admin.Erasure
				if err := o.callWith(cmd.Context(), http.MethodPost, path("/erase"), req, &res); err != nil {
					return err
				}
				total.User, total.Done, req.After = res.User, res.Done, res.Next
				total.Conversations += res.Conversations
				total.Recalled += res.Recalled
				total.DeskSteps += res.DeskSteps
				total.PushTokens += res.PushTokens
				total.EndedDevices = append(total.EndedDevices, res.EndedDevices...)
			}
			if o.json {
				return printJSON(os.Stdout, total)
			}
			fmt.Printf("%s erased: messages recalled %d, conversations read %d, push registrations deleted %d\n",
				total.User, total.Recalled, total.Conversations, total.PushTokens)
			if total.DeskSteps > 0 {
				fmt.Printf("desk steps whose comment or reason was taken out: %d\n", total.DeskSteps)
			}
			if len(total.EndedDevices) > 0 {
				fmt.Printf("disconnected: %s\n", strings.Join(total.EndedDevices, ", "))
			}
			return nil
		},
	}
	userFlag(erase)
	erase.Flags().BoolVar(&yes, "yes", false, "erase: it cannot be undone")

	messages := &cobra.Command{
		Use:   "messages",
		Short: "Every message a user sent, in every conversation they were in (for their request for their data)",
		Long: `Print every message a user sent, in every conversation they were ever in,
by conversation and seq: texts, edits and cards, with recalled ones marked.
This is what a user asking for a copy of their data is owed of their
messages. It reads the user's conversations whole, page by page (GET
/api/v1/users/{user}/messages). --json prints one JSON object per line.`,
		Example: `  switchboard moderate messages --user eve --json > eve-messages.jsonl`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for {
				var page admin.SentMessages
				if err := o.call(cmd.Context(), http.MethodGet, path("/messages")+"?"+q.Encode(), &page); err != nil {
					return err
				}
				for _, m := range page.Messages {
					if err := printSentMessage(os.Stdout, m, o.json); err != nil {
						return err
					}
				}
				if page.Done || page.Next == nil {
					return nil
				}
				q.Set("after_conv", page.Next.Conv)
				q.Set("after_seq", strconv.FormatUint(page.Next.Seq, 10))
			}
		},
	}
	userFlag(messages)

	cmd.AddCommand(show, suspend, unsuspend, recall, freeze, unfreeze, reports, resolve, contextCmd, erase, messages)
	return cmd
}

func printUserStatus(w io.Writer, st admin.UserStatus) {
	switch {
	case !st.Suspended:
		fmt.Fprintf(w, "%s: not suspended\n", st.User)
	case st.Until.IsZero():
		fmt.Fprintf(w, "%s: suspended since %s, until lifted\n", st.User, st.Since.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "%s: suspended since %s, until %s\n", st.User, st.Since.Format(time.RFC3339), st.Until.Format(time.RFC3339))
	}
	if st.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", st.Reason)
	}
	if st.Name != "" || st.AvatarURL != "" {
		fmt.Fprintf(w, "shows as: %q, avatar %q\n", st.Name, st.AvatarURL)
	}
	if len(st.EndedDevices) > 0 {
		fmt.Fprintf(w, "disconnected: %s\n", strings.Join(st.EndedDevices, ", "))
	}
	if len(st.OnlineDevices) > 0 {
		fmt.Fprintf(w, "online: %s\n", strings.Join(st.OnlineDevices, ", "))
	}
}

// printSentMessage prints one message of "moderate messages".
func printSentMessage(w io.Writer, m admin.SentMessage, asJSON bool) error {
	if asJSON {
		return printJSON(w, m)
	}
	what := ""
	switch {
	case m.Recalled:
		what = "(recalled) "
	case m.Kind == "edit":
		what = fmt.Sprintf("(edit of #%d) ", m.RefSeq)
	case m.Kind == "card":
		what = "(card) "
	case m.Kind == "desk_step":
		what = "(desk step) "
	}
	_, err := fmt.Fprintf(w, "%s #%d %s %s%s\n", m.Conv, m.Seq, m.SentAt.Format(time.RFC3339), what, m.Body)
	return err
}
