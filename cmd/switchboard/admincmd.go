package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/wirepb"

	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// The admin commands talk to any node's admin HTTP API. Against a local dev
// node they find its address and token in <data-dir>/dev/admin.json;
// otherwise --admin and --admin-token (or SWITCHBOARD_ADMIN_TOKEN).

type adminOptions struct {
	dataDir string
	url     string
	token   string
	json    bool
}

func (o *adminOptions) flags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.dataDir, "data-dir", "./data", "data directory of a local dev node (to find its admin address and token)")
	f.StringVar(&o.url, "admin", "", "admin API base URL, e.g. http://10.0.0.5:8080, or the node's --admin host:port (default: from the data dir)")
	f.StringVar(&o.token, "admin-token", "", "admin token, or an API key with the command's scope (default: SWITCHBOARD_ADMIN_TOKEN, or from the data dir)")
	f.BoolVar(&o.json, "json", false, "print JSON")
}

// devAdmin is what a dev node writes about its admin API.
type devAdmin struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func devAdminPath(dataDir string) string { return filepath.Join(dataDir, "dev", "admin.json") }

// adminURL is the admin API's base URL from --admin: a URL, or the
// host:port serve's --admin takes (one SWITCHBOARD_ADMIN serves both, as
// in the container image), dialled on 127.0.0.1 when it names every
// interface.
func adminURL(s string) string {
	if s == "" || strings.Contains(s, "://") {
		return s
	}
	return "http://" + dialable(s)
}

func (o *adminOptions) resolve() error {
	o.url = adminURL(o.url)
	if o.token == "" {
		o.token = os.Getenv("SWITCHBOARD_ADMIN_TOKEN")
	}
	if o.url != "" && o.token != "" {
		return nil
	}
	b, err := os.ReadFile(devAdminPath(o.dataDir))
	if err != nil {
		if o.url == "" {
			return fmt.Errorf("no --admin given and no dev node in %s (%w)", o.dataDir, err)
		}
		return nil // no token: read-only endpoints may be open
	}
	var d devAdmin
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("%s: %w", devAdminPath(o.dataDir), err)
	}
	if o.url == "" {
		o.url = d.URL
	}
	if o.token == "" {
		o.token = d.Token
	}
	return nil
}

// call does one API request and decodes the JSON answer into out.
func (o *adminOptions) call(ctx context.Context, method, path string, out any) error {
	return o.callWith(ctx, method, path, nil, out)
}

// callWith is call with a JSON request body (in, unless nil).
func (o *adminOptions) callWith(ctx context.Context, method, path string, in, out any) error {
	if err := o.resolve(); err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(o.url, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	client := &http.Client{Timeout: 90 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if res.StatusCode/100 != 2 {
		var e struct{ Error, Code string }
		_ = json.Unmarshal(answer, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(answer))
		}
		err := fmt.Errorf("admin API %s %s: %s: %s", method, path, res.Status, e.Error)
		if code, ok := wirepb.Code_value[e.Code]; ok {
			err = fmt.Errorf("%w (%w)", err, wirepb.Errorf(wirepb.Code(code), "%s", e.Error))
		}
		return err
	}
	return json.Unmarshal(answer, out)
}

func newClusterCmd() *cobra.Command {
	var o adminOptions
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect and operate a cluster through any node's admin API"}
	o.flags(cmd)

	cmd.AddCommand(&cobra.Command{
		Use: "members", Short: "List the members: id, address, state, grains, connections, uptime, version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res struct {
				Members []admin.Member `json:"members"`
			}
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/members", &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, res)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tGRAINS\tCONNECTIONS\tUPTIME\tVERSION")
			for _, m := range res.Members {
				self := ""
				if m.Self {
					self = " *"
				}
				fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, self, m.Address, m.State, grainsText(m.Grains), m.Connections,
					time.Duration(m.UptimeSeconds)*time.Second, m.Version)
			}
			return tw.Flush()
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use: "status", Short: "Cluster health, message rates and storage latency", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st admin.Status
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/status", &st); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, st)
			}
			fmt.Printf("health       %s\nmembers      %d (%d unreachable)\ngrains       %s\nconnections  %d\n",
				st.Health, st.Members, st.Unreachable, grainsText(st.Grains), st.Connections)
			var builds []string
			for _, b := range sortedKeys(st.Builds) {
				builds = append(builds, fmt.Sprintf("%s on %d", b, st.Builds[b]))
			}
			fmt.Printf("builds       %s\n", strings.Join(builds, ", "))
			for _, k := range sortedKeys(st.Counters) {
				fmt.Printf("%-44s %.0f\n", k, st.Counters[k])
			}
			for _, k := range sortedKeys(st.Latency) {
				fmt.Printf("%-44s %.3f ms (mean)\n", k, st.Latency[k])
			}
			return nil
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use: "where <kind>/<id>", Short: "Which node hosts a grain (user/alice, conversation/d:alice:bob)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, id, ok := strings.Cut(args[0], "/")
			if !ok || kind == "" || id == "" {
				return fmt.Errorf("want <kind>/<id>, e.g. user/alice, not %q", args[0])
			}
			var res map[string]string
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/where/"+url.PathEscape(kind)+"/"+url.PathEscape(id), &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("%s/%s is on %s (%s)\n", kind, id, res["node"], res["address"])
			return nil
		},
	})

	var grainsNode string
	grains := &cobra.Command{
		Use: "grains", Short: "Active grains by kind, per node", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res struct {
				Grains map[string]map[string]int64 `json:"grains"`
			}
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/grains?node="+url.QueryEscape(grainsNode), &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(os.Stdout, res)
			}
			for _, node := range sortedKeys(res.Grains) {
				fmt.Printf("%s  %s\n", node, grainsText(res.Grains[node]))
			}
			return nil
		},
	}
	grains.Flags().StringVar(&grainsNode, "node", "", "only this node (id or address)")
	cmd.AddCommand(grains)

	var drainWait time.Duration
	drain := &cobra.Command{
		Use: "drain <node>", Short: "Tell a node's clients to reconnect elsewhere, and wait until they did", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res map[string]any
			if err := o.call(cmd.Context(), http.MethodPost, "/api/v1/drain/"+url.PathEscape(args[0]), &res); err != nil {
				return err
			}
			return waitDrained(cmd.Context(), &o, args[0], drainWait)
		},
	}
	drain.Flags().DurationVar(&drainWait, "wait", time.Minute, "how long to wait for the node's connections to move (0: do not wait)")
	cmd.AddCommand(drain)
	return cmd
}

// waitDrained polls the members until the node has no connections left,
// printing progress.
func waitDrained(ctx context.Context, o *adminOptions, node string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		var res struct {
			Members []admin.Member `json:"members"`
		}
		if err := o.call(ctx, http.MethodGet, "/api/v1/members", &res); err != nil {
			return err
		}
		left := int64(-1)
		for _, m := range res.Members {
			if m.ID == node || m.Address == node {
				left = m.Connections
			}
		}
		if o.json {
			if err := printJSON(os.Stdout, map[string]any{"node": node, "draining": true, "connections_left": left}); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(os.Stderr, "\rdraining %s: %d connections left   ", node, max(left, 0))
		}
		if left <= 0 || wait <= 0 {
			if !o.json {
				fmt.Fprintln(os.Stderr)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s still has %d connections after %s", node, left, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func grainsText(g map[string]int64) string {
	if len(g) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range sortedKeys(g) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, g[k]))
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- metrics ----------------------------------------------------------------

type metricsOptions struct {
	adminOptions
	window, slide time.Duration
	key, line     string
	from, to      string
}

func newMetricsCmd() *cobra.Command {
	var o metricsOptions
	run := func(recompute bool) func(cmd *cobra.Command, _ []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"window": {o.window.String()}}
			switch {
			case o.line != "" && o.key != "":
				return errors.New("--key and --line select different rows: give one")
			case o.line != "":
				q.Set("key", analytics.LineKey(o.line))
			}
			if o.slide > 0 {
				q.Set("slide", o.slide.String())
			}
			for name, v := range map[string]string{"key": o.key, "from": o.from, "to": o.to} {
				if v != "" {
					q.Set(name, v)
				}
			}
			if recompute {
				q.Set("recompute", "1")
			}
			var rep analytics.Report
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/metrics?"+q.Encode(), &rep); err != nil {
				return err
			}
			if rep.Rows == nil {
				rep.Rows = []analytics.Row{}
			}
			if o.json {
				return printJSON(os.Stdout, rep)
			}
			return printMetrics(os.Stdout, rep)
		}
	}
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Service metrics: timely-reply rate, response times, sessions, ratings (see docs/METRICS.md)",
		Long: `Service metrics of service conversations, computed in event time by the
metrics grain from the durable message log: per agent, per business line
("line:NAME", from the desk's scenes) and "*" (everyone), per window. "metrics recompute" answers from a batch recomputation over the
stored log instead; the two agree.`,
		Args: cobra.NoArgs,
		RunE: run(false),
	}
	o.flags(cmd)
	f := cmd.PersistentFlags()
	f.DurationVar(&o.window, "window", time.Hour, "window size")
	f.DurationVar(&o.slide, "slide", 0, "window slide (default: the size, a tumbling window)")
	f.StringVar(&o.key, "key", "", `only this agent ("*" = everyone, "line:NAME" = a business line)`)
	f.StringVar(&o.line, "line", "", "only this business line (the desk scenes' line), the same as --key line:NAME")
	f.StringVar(&o.from, "from", "", "only windows starting at or after this time (RFC 3339)")
	f.StringVar(&o.to, "to", "", "only windows starting before this time (RFC 3339)")
	cmd.AddCommand(&cobra.Command{Use: "recompute", Short: "The batch recomputation over the stored log, same output", Args: cobra.NoArgs, RunE: run(true)})
	return cmd
}

func printMetrics(w io.Writer, rep analytics.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KEY\tWINDOW START\tQUESTIONS\tTIMELY\tAVG RESP\tMSG TIMELY\tAVG MSG RESP\tSESSIONS\tAVG SESSION\tMSGS/SESSION\tAVG FIRST RESP\tDESK FIRSTS\tAVG DESK FIRST\tRESOLVED\tAVG HANDLE\tMISSED\tRATINGS\tAVG RATING\tCSAT\tFINAL\t")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%s\t%.1f%%\t%s\t%d\t%s\t%.1f\t%s\t%d\t%s\t%d\t%s\t%d\t%d\t%.2f\t%.1f%%\t%v\t\n",
			r.Key, r.WindowStart.Format(time.RFC3339), r.Questions, 100*r.TimelyRate, ms(r.AvgResponseMs),
			100*r.MsgTimelyRate, ms(r.AvgMsgResponseMs), r.Sessions, ms(r.AvgSessionMs), r.AvgSessionMessages,
			ms(r.AvgFirstResponseMs), r.DeskFirstResponses, ms(r.AvgDeskFirstResponseMs), r.DeskResolved, ms(r.AvgHandleMs), r.DeskMissed, r.Ratings, r.AvgRating, 100*r.CSATRate, r.Final)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "late events: %d, future events: %d\n", rep.LateEvents, rep.FutureEvents)
	return err
}

func ms(v float64) string {
	return (time.Duration(v) * time.Millisecond).Round(time.Millisecond).String()
}
