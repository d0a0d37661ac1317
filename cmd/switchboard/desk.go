package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// send is call with a JSON request body.
func (o *adminOptions) send(ctx context.Context, method, path string, in, out any) error {
	if err := o.resolve(); err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(o.url, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s", e.Error)
	}
	return json.Unmarshal(b, out)
}

func newDeskCmd() *cobra.Command {
	var o adminOptions
	cmd := &cobra.Command{Use: "desk", Short: "Service desk: scenes, agents, queues, sessions (through the admin API; docs/DESK.md)"}
	o.flags(cmd)

	scene := &cobra.Command{Use: "scene", Short: "Register and list entry scenes"}
	var name, line, route string
	set := &cobra.Command{
		Use: "set", Short: "Register a scene of a business line and its route (bot, bot:ID, queue:SKILL, agent:ID; a queue or agent step ending in /WAIT, like queue:vip/2m, overflows to the next step after WAIT)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.Scene
			in := desk.Scene{Line: line, Route: strings.Split(route, ",")}
			if err := o.send(cmd.Context(), http.MethodPut, "/api/v1/desk/scenes/"+url.PathEscape(name), in, &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			fmt.Printf("scene %s (line %s): %s\n", out.Name, out.Line, strings.Join(out.Route, " → "))
			return nil
		},
	}
	set.Flags().StringVar(&name, "scene", "", "scene name, e.g. listing")
	set.Flags().StringVar(&line, "line", "", "business line, e.g. cars")
	set.Flags().StringVar(&route, "route", "", "route steps, comma-separated, e.g. bot,queue:sales or agent:a1/5m,queue:sales")
	for _, f := range []string{"scene", "line", "route"} {
		_ = set.MarkFlagRequired(f)
	}
	list := &cobra.Command{
		Use: "list", Short: "List the scenes", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Scenes []desk.Scene `json:"scenes"`
			}
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/desk/scenes", &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			for _, s := range out.Scenes {
				fmt.Printf("%-20s %-12s %s\n", s.Name, s.Line, strings.Join(s.Route, ","))
			}
			return nil
		},
	}
	scene.AddCommand(set, list)

	var user, status, skills string
	var capacity int
	var supervisor, endWrapUp bool
	agent := &cobra.Command{
		Use: "agent", Short: "Show an agent, or set its status, capacity, skills and supervisor role, or end its wrap-up", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.AgentInfo
			u := desk.AgentUpdate{}
			f := cmd.Flags()
			if f.Changed("status") {
				u.Status = &status
			}
			if f.Changed("capacity") {
				u.Capacity = &capacity
			}
			if f.Changed("skills") {
				list := []string{}
				for _, s := range strings.Split(skills, ",") {
					if s = strings.TrimSpace(s); s != "" {
						list = append(list, s)
					}
				}
				u.Skills = &list
			}
			if f.Changed("supervisor") {
				u.Supervisor = &supervisor
			}
			u.EndWrapUp = endWrapUp
			path := "/api/v1/desk/agents/" + url.PathEscape(user)
			var err error
			if u.Status == nil && u.Capacity == nil && u.Skills == nil && u.Supervisor == nil && !u.EndWrapUp {
				err = o.call(cmd.Context(), http.MethodGet, path, &out)
			} else {
				err = o.send(cmd.Context(), http.MethodPost, path, u, &out)
			}
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			role := ""
			if out.Supervisor {
				role = " supervisor"
			}
			fmt.Printf("%s %s%s load %d/%d skills %s sessions %s\n", out.User, out.Status, role, out.Load, out.Capacity,
				strings.Join(out.Skills, ","), strings.Join(out.Sessions, " "))
			if out.StatusBy != "" {
				fmt.Printf("  %s since %s, set by %s\n", out.Status, time.UnixMilli(out.StatusSinceMs).UTC().Format(time.RFC3339), out.StatusBy)
			}
			for _, w := range out.WrapUp {
				fmt.Printf("  wrap-up of %s until %s\n", w.Session, time.UnixMilli(w.UntilMs).UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
	agent.Flags().StringVar(&user, "user", "", "the agent")
	agent.Flags().StringVar(&status, "status", "", "online, away or offline")
	agent.Flags().IntVar(&capacity, "capacity", 0, "most sessions at once")
	agent.Flags().BoolVar(&endWrapUp, "end-wrap-up", false, "free the agent's slots still in wrap-up (--desk-wrap-up) at once")
	agent.Flags().StringVar(&skills, "skills", "", "skill groups, comma-separated")
	agent.Flags().BoolVar(&supervisor, "supervisor", false, "may watch every queue and read the team's metrics (--supervisor=false takes it back)")
	_ = agent.MarkFlagRequired("user")

	var skill string
	queue := &cobra.Command{
		Use: "queue", Short: "Show a skill group's waiting sessions and agents", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.QueueInfo
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/desk/queues/"+url.PathEscape(skill), &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, struct {
					Waiting []desk.Waiting    `json:"waiting"`
					Agents  []desk.QueueAgent `json:"agents"`
				}{out.Waiting, out.Agents})
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WAITING\tSESSION\tSINCE\tFIRST RESPONSE DUE")
			for _, w := range out.Waiting {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.Conv, w.Session, time.UnixMilli(w.SinceMs).UTC().Format(time.RFC3339), dueText(w.FirstResponseDueMs, time.Now()))
			}
			fmt.Fprintln(tw, "AGENT\tSTATUS\tLOAD")
			for _, a := range out.Agents {
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\n", a.User, a.Status, a.Load, a.Capacity)
			}
			fmt.Fprintf(tw, "assigned %d, abandoned %d, overflowed %d\n", out.Stats.Assigned, out.Stats.Abandoned, out.Stats.Overflowed)
			return tw.Flush()
		},
	}
	queue.Flags().StringVar(&skill, "skill", "", "skill group (or @USER for an owner agent's own queue)")
	_ = queue.MarkFlagRequired("skill")

	var sceneArg, conv, to, note, reason string
	printSession := func(s desk.SessionInfo, full bool) error {
		if o.json {
			if full {
				return printJSON(os.Stdout, s)
			}
			return printJSON(os.Stdout, struct {
				Conv          string  `json:"conv"`
				Session       string  `json:"session"`
				Agent         *string `json:"agent"`
				QueuePosition int     `json:"queue_position"`
			}{s.Conv, s.Session, s.Agent, s.QueuePosition})
		}
		who := ""
		switch {
		case s.Agent != nil:
			who = "agent " + *s.Agent
		case s.Bot != "":
			who = "robot " + s.Bot
		case s.QueuePosition > 0:
			who = fmt.Sprintf("queue %s, position %d", s.Queue, s.QueuePosition)
		}
		if who != "" {
			who = " (" + who + ")"
		}
		fmt.Printf("%s session %s: %s%s\n", s.Conv, s.Session, s.State, who)
		if s.AfterHours {
			opens := "the line has no open hours ahead"
			if s.OpensAt > 0 {
				opens = "the line opens " + time.UnixMilli(s.OpensAt).UTC().Format(time.RFC3339)
			}
			fmt.Printf("  started after hours: %s\n", opens)
		}
		if len(s.Tags) > 0 {
			fmt.Printf("  tags: %s\n", strings.Join(s.Tags, ", "))
		}
		for _, n := range s.Notes {
			fmt.Printf("  note by %s at %s: %s\n", n.By, time.UnixMilli(n.At).UTC().Format(time.RFC3339), n.Text)
		}
		if r := s.Rating; r != nil {
			fmt.Printf("  rated %d by the customer at %s", r.Score, time.UnixMilli(r.At).UTC().Format(time.RFC3339))
			if r.Comment != "" {
				fmt.Printf(": %s", r.Comment)
			}
			fmt.Println()
		}
		return nil
	}
	enter := &cobra.Command{
		Use: "enter", Short: "A customer enters through a scene (NAME or NAME/DATA)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.SessionInfo
			if err := o.send(cmd.Context(), http.MethodPost, "/api/v1/desk/enter", admin.DeskRequest{User: user, Scene: sceneArg}, &out); err != nil {
				return err
			}
			return printSession(out, false)
		},
	}
	enter.Flags().StringVar(&user, "user", "", "the customer")
	enter.Flags().StringVar(&sceneArg, "scene", "", "scene, e.g. listing/123")
	var customer string
	reach := &cobra.Command{
		Use: "reach", Short: "An agent writes to a customer first: an outbound session in the line of a scene (NAME or NAME/DATA)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.SessionInfo
			if err := o.send(cmd.Context(), http.MethodPost, "/api/v1/desk/reach", admin.DeskRequest{User: user, Customer: customer, Scene: sceneArg}, &out); err != nil {
				return err
			}
			return printSession(out, false)
		},
	}
	reach.Flags().StringVar(&user, "user", "", "the agent")
	reach.Flags().StringVar(&customer, "customer", "", "the customer")
	reach.Flags().StringVar(&sceneArg, "scene", "", "scene, e.g. listing/123")
	for _, f := range []string{"user", "customer", "scene"} {
		_ = reach.MarkFlagRequired(f)
	}
	var priority int
	priorityCmd := &cobra.Command{
		Use: "priority", Short: "Set a customer's priority in a business line (0 none to 9): its queues serve higher priorities first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out admin.CustomerPriority
			req := admin.CustomerPriority{Line: line, Customer: customer, Priority: priority}
			if err := o.send(cmd.Context(), http.MethodPost, "/api/v1/desk/priority", req, &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			fmt.Printf("%s in line %s: priority %d\n", out.Customer, out.Line, out.Priority)
			return nil
		},
	}
	priorityCmd.Flags().StringVar(&line, "line", "", "the business line")
	priorityCmd.Flags().StringVar(&customer, "customer", "", "the customer")
	priorityCmd.Flags().IntVar(&priority, "priority", 0, "0 (none) to 9")
	for _, f := range []string{"line", "customer"} {
		_ = priorityCmd.MarkFlagRequired(f)
	}
	step := func(use, short string, req func() admin.DeskRequest) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out desk.SessionInfo
				if err := o.send(cmd.Context(), http.MethodPost, "/api/v1/desk/"+use, req(), &out); err != nil {
					return err
				}
				return printSession(out, true)
			},
		}
		c.Flags().StringVar(&user, "user", "", "who does it")
		c.Flags().StringVar(&conv, "conv", "", "the service conversation")
		_ = c.MarkFlagRequired("user")
		_ = c.MarkFlagRequired("conv")
		return c
	}
	handover := step("handover", "The robot (or the customer) hands the session to the next step of its route", func() admin.DeskRequest {
		return admin.DeskRequest{User: user, Conv: conv}
	})
	transfer := step("transfer", "An agent hands its session (or a supervisor reassigns one, or moves a waiting one past the queue) to user:ID or queue:SKILL, with an internal note", func() admin.DeskRequest {
		return admin.DeskRequest{User: user, Conv: conv, To: to, Note: note}
	})
	transfer.Flags().StringVar(&to, "to", "", "user:ID or queue:SKILL")
	transfer.Flags().StringVar(&note, "note", "", "internal note (the customer does not see it)")
	_ = transfer.MarkFlagRequired("to")
	noteCmd := step("note", "Add an internal note to a session (the customer does not see it), e.g. from a CRM", func() admin.DeskRequest {
		return admin.DeskRequest{User: user, Conv: conv, Note: note}
	})
	noteCmd.Flags().StringVar(&note, "note", "", "the note")
	_ = noteCmd.MarkFlagRequired("note")
	var addTags, removeTags []string
	tagCmd := step("tag", "Tag a session with contact reasons (the customer does not see them), e.g. from a CRM", func() admin.DeskRequest {
		return admin.DeskRequest{User: user, Conv: conv, Add: addTags, Remove: removeTags}
	})
	tagCmd.Flags().StringSliceVar(&addTags, "add", nil, "tags to add (comma-separated or repeated)")
	tagCmd.Flags().StringSliceVar(&removeTags, "remove", nil, "tags to remove (comma-separated or repeated)")
	tagCmd.MarkFlagsOneRequired("add", "remove")
	closeCmd := step("close", "The agent or the customer closes the session", func() admin.DeskRequest {
		return admin.DeskRequest{User: user, Conv: conv, Reason: reason}
	})
	closeCmd.Flags().StringVar(&reason, "reason", "", "why (default resolved)")
	var score int
	var comment string
	rate := &cobra.Command{
		Use: "rate", Short: "The customer rates the closed session of a conversation (1 bad to 5 good)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.RatingInfo
			req := admin.DeskRequest{User: user, Conv: conv, Score: score, Comment: comment}
			if err := o.send(cmd.Context(), http.MethodPost, "/api/v1/desk/rate", req, &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			again := ""
			if out.Duplicate {
				again = " (rated before: this rating stands)"
			}
			fmt.Printf("%s session %s: rated %d%s\n", out.Conv, out.Session, out.Score, again)
			return nil
		},
	}
	rate.Flags().StringVar(&user, "user", "", "the customer")
	rate.Flags().StringVar(&conv, "conv", "", "the service conversation")
	rate.Flags().IntVar(&score, "score", 0, "1 (bad) to 5 (good)")
	rate.Flags().StringVar(&comment, "comment", "", "what the customer says")
	_ = rate.MarkFlagRequired("user")
	_ = rate.MarkFlagRequired("conv")
	_ = rate.MarkFlagRequired("score")
	session := &cobra.Command{
		Use: "session", Short: "Show the session of a conversation (with internal notes, unless --user is its customer)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.SessionInfo
			path := "/api/v1/desk/sessions/" + url.PathEscape(conv) + "?user=" + url.QueryEscape(user)
			if err := o.call(cmd.Context(), http.MethodGet, path, &out); err != nil {
				return err
			}
			return printSession(out, true)
		},
	}
	session.Flags().StringVar(&conv, "conv", "", "the service conversation")
	session.Flags().StringVar(&user, "user", "", "who asks")
	_ = session.MarkFlagRequired("conv")
	_ = enter.MarkFlagRequired("user")
	_ = enter.MarkFlagRequired("scene")

	var from string
	merge := &cobra.Command{
		Use: "merge", Short: "Merge an anonymous identity into an account (its conversations, read cursors and unread move over)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out desk.MergeInfo
			if err := o.send(cmd.Context(), http.MethodPost, "/api/v1/desk/merge", admin.MergeRequest{From: from, To: to}, &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			fmt.Printf("merge of %s into %s: %s, %d conversation(s) moved\n", out.From, out.To, out.Phase, out.Moved)
			return nil
		},
	}
	merge.Flags().StringVar(&from, "from", "", "the anonymous identity")
	merge.Flags().StringVar(&to, "to", "", "the account")
	_ = merge.MarkFlagRequired("from")
	_ = merge.MarkFlagRequired("to")

	cmd.AddCommand(scene, agent, queue, enter, reach, priorityCmd, handover, transfer, noteCmd, tagCmd, closeCmd, rate, session, merge, newDeskHoursCmd(&o), newDeskTargetsCmd(&o), newDeskRepliesCmd(&o), newDeskReasonsCmd(&o), newDeskCustomerCmd(&o))
	return cmd
}

// newDeskHoursCmd shows, sets or clears a business line's opening hours.
func newDeskHoursCmd(o *adminOptions) *cobra.Command {
	var h desk.Hours
	var days []string
	var clear bool
	cmd := &cobra.Command{
		Use:   "hours LINE",
		Short: "Show a business line's opening hours; with --tz set them, with --clear make it always open",
		Long: `A session that starts outside its line's hours gets an after_hours step
telling the customer when the line opens, with --message; it still takes
its route. Days not given are closed, e.g.

  switchboard desk hours cars --tz Europe/Berlin --day mon-fri=09:00-17:00 \
    --day sat=10:00-12:00,13:00-16:00 --closed 2026-12-25 --message "We answer from 9 to 5"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/desk/lines/" + url.PathEscape(args[0]) + "/hours"
			var out admin.LineHours
			var err error
			switch {
			case clear && h.TZ != "":
				return fmt.Errorf("--clear and --tz: choose one")
			case clear:
				err = o.send(cmd.Context(), http.MethodDelete, path, nil, &out)
			case h.TZ != "":
				if h.Week, err = parseDays(days); err != nil {
					return err
				}
				err = o.send(cmd.Context(), http.MethodPut, path, h, &out)
			case len(days) > 0 || len(h.ClosedDates) > 0 || h.Message != "":
				return fmt.Errorf("--day, --closed and --message need --tz (the hours are set whole)")
			default:
				err = o.call(cmd.Context(), http.MethodGet, path, &out)
			}
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			printHours(os.Stdout, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&h.TZ, "tz", "", "IANA time zone of the hours, e.g. Europe/Berlin (sets the hours)")
	cmd.Flags().StringArrayVar(&days, "day", nil, "DAYS=HH:MM-HH:MM[,HH:MM-HH:MM]: open intervals of a day (mon) or days (mon-fri); repeat")
	cmd.Flags().StringArrayVar(&h.ClosedDates, "closed", nil, "a date the line is closed, YYYY-MM-DD; repeat")
	cmd.Flags().StringVar(&h.Message, "message", "", "what a customer who comes while the line is closed reads")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the hours: the line is always open")
	return cmd
}

// newDeskReasonsCmd counts a business line's contact reasons over days.
func newDeskReasonsCmd(o *adminOptions) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "reasons LINE",
		Short: "Count a business line's contact reasons: its sessions per tag, over days",
		Long: `Counts the sessions of a business line that started on the days --from
to --to of the line (in the zone of its opening hours, UTC without; both
included; by default the week to today) per tag the
agents filed them under, as each session's tags are now (a wrap-up after
the close counts), e.g.

  switchboard desk reasons cars --from 2026-11-01 --to 2026-11-30`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if from != "" {
				q.Set("from", from)
			}
			if to != "" {
				q.Set("to", to)
			}
			path := "/api/v1/desk/lines/" + url.PathEscape(args[0]) + "/reasons"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var out desk.Reasons
			if err := o.call(cmd.Context(), http.MethodGet, path, &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			fmt.Printf("%s, %s to %s: %d tagged sessions\n", out.Line, out.From, out.To, out.Sessions)
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TAG\tSESSIONS\tSHARE")
			for _, r := range out.Tags {
				fmt.Fprintf(tw, "%s\t%d\t%.0f%%\n", r.Tag, r.Sessions, 100*float64(r.Sessions)/float64(out.Sessions))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD in the line's zone (default: six days before --to)")
	cmd.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD in the line's zone, included (default: today there)")
	return cmd
}

// newDeskTargetsCmd shows, sets or clears a business line's targets.
func newDeskTargetsCmd(o *adminOptions) *cobra.Command {
	var firstResponse, answerTimeout time.Duration
	var clear bool
	cmd := &cobra.Command{
		Use:   "targets LINE",
		Short: "Show a business line's service targets; with --first-response or --answer-timeout change them, with --clear remove them",
		Long: `A session records its line's first-response target when it starts; the
metrics count its first response (from the customer's asking to the first
agent message) as timely against it (desk_first_timely), and against
--metrics-reply-threshold where the line has none. --answer-timeout gives
the line its own answer timeout (the desk's is serve --desk-answer-timeout):
a session whose agent wrote nothing in it for that long goes back to its
queue and the agent is set away. Either may be the line's only target; a
flag changes its own target and keeps the other (0 removes it). A change
applies to sessions that start after it, e.g.

  switchboard desk targets cars --first-response 2m --answer-timeout 3m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/desk/lines/" + url.PathEscape(args[0]) + "/targets"
			setFirst, setAnswer := cmd.Flags().Changed("first-response"), cmd.Flags().Changed("answer-timeout")
			var out admin.LineTargets
			var err error
			switch {
			case clear && (setFirst || setAnswer):
				return fmt.Errorf("--clear and --first-response or --answer-timeout: choose one")
			case clear:
				err = o.send(cmd.Context(), http.MethodDelete, path, nil, &out)
			case setFirst || setAnswer:
				// A flag changes its own target: the other stays as it is.
				if err = o.call(cmd.Context(), http.MethodGet, path, &out); err != nil {
					return err
				}
				t := desk.Targets{}
				if out.Targets != nil {
					t = *out.Targets
				}
				if setFirst {
					t.FirstResponseMs = firstResponse.Milliseconds()
				}
				if setAnswer {
					t.AnswerTimeoutMs = answerTimeout.Milliseconds()
				}
				// A fresh answer: decoding into the one read would keep
				// the fields the new one leaves out (a removed target).
				out = admin.LineTargets{}
				if t == (desk.Targets{}) {
					err = o.send(cmd.Context(), http.MethodDelete, path, nil, &out) // nothing left
				} else {
					err = o.send(cmd.Context(), http.MethodPut, path, t, &out)
				}
			default:
				err = o.call(cmd.Context(), http.MethodGet, path, &out)
			}
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			if out.Targets == nil {
				fmt.Printf("%s: no targets (first responses are timely within the reply threshold)\n", out.Line)
				return nil
			}
			if ms := out.Targets.FirstResponseMs; ms > 0 {
				fmt.Printf("%s: first response within %v", out.Line, time.Duration(ms)*time.Millisecond)
			} else {
				fmt.Printf("%s: no first-response target", out.Line)
			}
			if ms := out.Targets.AnswerTimeoutMs; ms > 0 {
				fmt.Printf("; a session unanswered for %v goes back to its queue", time.Duration(ms)*time.Millisecond)
			}
			fmt.Println()
			return nil
		},
	}
	cmd.Flags().DurationVar(&firstResponse, "first-response", 0,
		fmt.Sprintf("the first-response target, %v to %v (0: none)", desk.MinFirstResponseTarget, desk.MaxFirstResponseTarget))
	cmd.Flags().DurationVar(&answerTimeout, "answer-timeout", 0,
		fmt.Sprintf("the line's own answer timeout, %v to %v (0: the desk's, serve --desk-answer-timeout)", desk.MinAnswerTimeout, desk.MaxAnswerTimeout))
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the targets: first responses count against the reply threshold")
	return cmd
}

// newDeskRepliesCmd shows or replaces a business line's saved replies.
func newDeskRepliesCmd(o *adminOptions) *cobra.Command {
	var file string
	var clear bool
	cmd := &cobra.Command{
		Use:   "replies LINE",
		Short: "Show a business line's saved replies; with --file replace them, with --clear remove them",
		Long: `Saved replies are texts the line's agents send often, named for their menu
(the agent workbench, desk_replies over the protocol). --file is a JSON list:

  [{"name":"hours","text":"We are open 9 to 6, Monday to Friday."},
   {"name":"refund","text":"Refunds reach your card within 5 working days."}]`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/desk/lines/" + url.PathEscape(args[0]) + "/replies"
			var out admin.LineReplies
			var err error
			switch {
			case clear && file != "":
				return fmt.Errorf("--clear and --file: choose one")
			case clear:
				err = o.send(cmd.Context(), http.MethodPut, path, admin.LineReplies{Replies: []desk.SavedReply{}}, &out)
			case file != "":
				in := admin.LineReplies{}
				b, rerr := os.ReadFile(file)
				if rerr != nil {
					return rerr
				}
				if jerr := json.Unmarshal(b, &in.Replies); jerr != nil {
					return fmt.Errorf("%s: want a JSON list of {\"name\", \"text\"}: %w", file, jerr)
				}
				err = o.send(cmd.Context(), http.MethodPut, path, in, &out)
			default:
				err = o.call(cmd.Context(), http.MethodGet, path, &out)
			}
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			fmt.Printf("line %s: %d saved replies\n", out.Line, len(out.Replies))
			for _, r := range out.Replies {
				fmt.Printf("  %-16s %s\n", r.Name, r.Text)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "a JSON list of {\"name\", \"text\"} that replaces the line's saved replies")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the line's saved replies")
	return cmd
}

// parseDays reads --day values ("mon-fri=09:00-17:00") into Hours.Week;
// the node checks the intervals.
func parseDays(days []string) (map[string]string, error) {
	order := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	week := map[string]string{}
	for _, d := range days {
		names, spans, ok := strings.Cut(d, "=")
		first, last, isRange := strings.Cut(names, "-")
		i, j := slices.Index(order, first), slices.Index(order, last)
		if !isRange {
			j = i
		}
		if !ok || i < 0 || j < i {
			return nil, fmt.Errorf("--day %q: want DAY=INTERVALS or DAY-DAY=INTERVALS, days mon..sun", d)
		}
		for _, day := range order[i : j+1] {
			if _, dup := week[day]; dup {
				return nil, fmt.Errorf("--day %q: %s is given twice", d, day)
			}
			week[day] = spans
		}
	}
	return week, nil
}

func printHours(w io.Writer, lh admin.LineHours) {
	h := lh.Hours
	if h == nil {
		fmt.Fprintf(w, "line %s: no hours, always open\n", lh.Line)
		return
	}
	fmt.Fprintf(w, "line %s, hours in %s:\n", lh.Line, h.TZ)
	for _, day := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		spans := h.Week[day]
		if spans == "" {
			spans = "closed"
		}
		fmt.Fprintf(w, "  %s %s\n", day, spans)
	}
	if len(h.ClosedDates) > 0 {
		fmt.Fprintf(w, "  closed on %s\n", strings.Join(h.ClosedDates, ", "))
	}
	if h.Message != "" {
		fmt.Fprintf(w, "  message: %s\n", h.Message)
	}
}

// registerDeskFlags makes every desk limit and timing a serve flag.
func registerDeskFlags(f *pflag.FlagSet, c *desk.Config) {
	d := desk.DefaultConfig()
	f.DurationVar(&c.StickyWindow, "desk-sticky-window", d.StickyWindow, "a customer back within this reaches the same conversation and agent")
	f.DurationVar(&c.InactivityTimeout, "desk-inactivity-timeout", d.InactivityTimeout, "close a session whose conversation was silent this long")
	f.DurationVar(&c.InactivityWarning, "desk-inactivity-warning", d.InactivityWarning, "tell the conversation this long before the inactivity close that it is about to close (0: no warning)")
	f.DurationVar(&c.WrapUp, "desk-wrap-up", d.WrapUp, "keep an agent's slot taken this long after a session it held closes, for its notes and tags (0: freed at once; at most 1h)")
	f.DurationVar(&c.AnswerTimeout, "desk-answer-timeout", d.AnswerTimeout, "give a session back to its queue, and set its agent away, when the agent it was given to wrote nothing in it for this long (0: never; 5s to 1h)")
	f.DurationVar(&c.OfferTimeout, "desk-offer-timeout", d.OfferTimeout, "offer a queue's head again after this without an answer")
	f.IntVar(&c.MaxWaiting, "desk-max-waiting", d.MaxWaiting, "most sessions waiting in one queue")
	f.IntVar(&c.MaxCapacity, "desk-max-capacity", d.MaxCapacity, "largest agent capacity")
	f.IntVar(&c.MaxSkills, "desk-max-skills", d.MaxSkills, "most skills per agent")
	f.IntVar(&c.MaxScenes, "desk-max-scenes", d.MaxScenes, "most registered scenes")
	f.IntVar(&c.PositionPushes, "desk-position-pushes", d.PositionPushes, "the first this many waiting customers of a queue are told each change of their position")
	f.StringVar(&c.BotUser, "desk-bot-user", d.BotUser, "the robot a \"bot\" route step adds")
	f.DurationVar(&c.RatingWindow, "desk-rating-window", d.RatingWindow, "a customer may rate a closed session for this long after its close")
	f.IntVar(&c.MaxRatingComment, "desk-max-rating-comment-bytes", d.MaxRatingComment, "longest comment of a customer's rating")
	f.IntVar(&c.MaxClosedDates, "desk-max-closed-dates", d.MaxClosedDates, "most closed dates in a business line's hours")
	f.IntVar(&c.MaxDayIntervals, "desk-max-day-intervals", d.MaxDayIntervals, "most open intervals of a day in a business line's hours")
	f.IntVar(&c.MaxHoursMessage, "desk-max-hours-message-bytes", d.MaxHoursMessage, "longest after-hours message of a business line")
	f.IntVar(&c.MaxSavedReplies, "desk-max-saved-replies", d.MaxSavedReplies, "most saved replies of a business line")
	f.IntVar(&c.MaxSavedReplyBytes, "desk-max-saved-reply-bytes", d.MaxSavedReplyBytes, "longest saved reply")
	f.IntVar(&c.MaxNoteBytes, "desk-max-note-bytes", d.MaxNoteBytes, "longest internal note on a session")
	f.IntVar(&c.MaxNotes, "desk-max-notes", d.MaxNotes, "most internal notes on one session")
	f.IntVar(&c.MaxSessionTags, "desk-max-session-tags", d.MaxSessionTags, "most tags (contact reasons) on one session")
	f.IntVar(&c.MaxReasonDays, "desk-max-reason-days", d.MaxReasonDays, "most days one question for a line's contact reasons covers")
	f.StringSliceVar(&c.VisitorScenes, "visitor-scenes", nil, "scenes (names, e.g. listing) a website's anonymous visitors may enter: the node mints their tokens at POST /visitor on --web, for the chat widget on a site that signs nobody in (none: no anonymous visitors)")
	f.BoolVar(&c.NoReopen, "desk-no-reopen", false, "a customer's message after its session closed starts no new session (by default it does, so an agent sees it)")
	f.DurationVar(&c.WakeInterval, "desk-wake-interval", d.WakeInterval, "wake the threads of open sessions and the online agents this often (the cluster's first member), for those no start-up or departure wake reached")
	f.DurationVar(&c.DropGrace, "desk-agent-drop-grace", d.DropGrace, "an agent seen connected whose every device has been gone this long goes offline (its sessions are re-queued)")
}

// dueText shows when a waiting session's first response falls due: "-"
// without a target, marked once it is overdue.
func dueText(dueMs int64, now time.Time) string {
	if dueMs == 0 {
		return "-"
	}
	due := time.UnixMilli(dueMs).UTC()
	if now.After(due) {
		return due.Format(time.RFC3339) + " (overdue " + now.Sub(due).Round(time.Second).String() + ")"
	}
	return due.Format(time.RFC3339)
}

// newDeskCustomerCmd shows or replaces what the business told the desk
// about a customer (their attributes).
func newDeskCustomerCmd(o *adminOptions) *cobra.Command {
	var set []string
	var clear bool
	cmd := &cobra.Command{
		Use:   "customer CUSTOMER",
		Short: "Show, or with --set replace, what the desk's agents are told about a customer (plan, e-mail, orders)",
		Long: `Print the attributes the business keeps about a customer for its
desk's agents, shown beside a session's internal notes (the customer
never sees them). --set NAME=VALUE (repeated) replaces them all with
those given; --clear removes them all.

  switchboard desk customer c1 --set plan=premium --set email=c1@example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/desk/customers/" + url.PathEscape(args[0]) + "/attributes"
			var out admin.CustomerAttributes
			if len(set) > 0 || clear {
				if len(set) > 0 && clear {
					return errors.New("--set or --clear, not both")
				}
				req := admin.CustomerAttributes{Attributes: map[string]json.RawMessage{}}
				for _, kv := range set {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("--set %q: want NAME=VALUE", kv)
					}
					b, _ := json.Marshal(v)
					req.Attributes[k] = b
				}
				if err := o.send(cmd.Context(), http.MethodPut, path, req, &out); err != nil {
					return err
				}
			} else if err := o.call(cmd.Context(), http.MethodGet, path, &out); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, out)
			}
			names := slices.Sorted(maps.Keys(out.Attributes))
			fmt.Printf("%s: %d attributes\n", out.Customer, len(names))
			for _, k := range names {
				var v string
				_ = json.Unmarshal(out.Attributes[k], &v)
				fmt.Printf("  %s: %s\n", k, v)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&set, "set", nil, "NAME=VALUE: replace the attributes with these (repeat it)")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove every attribute")
	return cmd
}
