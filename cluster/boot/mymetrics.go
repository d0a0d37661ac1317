package boot

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	pcluster "github.com/asynkron/protoactor-go/cluster"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/metricsactor"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/analytics"
)

// myMetrics answers one key's rows from the metrics grain, the same query
// the admin API's /api/v1/metrics?key=KEY makes, so the numbers equal
// `switchboard metrics`. The session checked the key (the user's own, or a
// supervisor's); only that key's rows leave. It reads the streaming state
// as it stands: every agent's workbench polls, and a catch-up with the log
// reads every service conversation.
func myMetrics(c *pcluster.Cluster, windows []analytics.WindowSpec) actors.MyMetrics {
	return func(ctx context.Context, key, window string, limit int) ([]actors.MetricsRow, error) {
		w, err := analytics.ParseWindow(window)
		if err != nil {
			return nil, &session.Error{Code: pb.Code_INVALID, Message: err.Error()}
		}
		if !slices.Contains(windows, w) {
			names := make([]string, len(windows))
			for i, k := range windows {
				names[i] = k.Flag()
			}
			return nil, &session.Error{Code: pb.Code_INVALID, Message: "window " + window + " is not kept by this node's metrics engine (it keeps " + strings.Join(names, ", ") + ")"}
		}
		if key == "" {
			return nil, &session.Error{Code: pb.Code_INVALID, Message: "no metrics key"}
		}
		limit = max(limit, 1)
		rep, err := metricsactor.Query(ctx, c, &pb.MetricsQuery{SizeMs: w.Size.Milliseconds(), SlideMs: w.Slide.Milliseconds(), Key: key, Streaming: true})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return nil, err
			}
			// The grain is activating or moving: the client retries.
			return nil, &session.Error{Code: pb.Code_RETRY, Message: err.Error()}
		}
		rows := make([]actors.MetricsRow, 0, min(limit, len(rep.Rows)))
		slices.SortFunc(rep.Rows, func(a, b analytics.Row) int { return cmp.Compare(b.WindowStart.UnixMilli(), a.WindowStart.UnixMilli()) })
		for _, r := range rep.Rows {
			if r.Key != key { // the grain filters by key; never let another through
				continue
			}
			if len(rows) == limit {
				break
			}
			rows = append(rows, actors.MetricsRow{
				WindowStart: r.WindowStart, WindowEnd: r.WindowEnd,
				Questions: r.Questions, Timely: r.Timely, TimelyRate: r.TimelyRate, AvgResponseMs: r.AvgResponseMs,
				MsgQuestions: r.MsgQuestions, MsgTimely: r.MsgTimely, MsgTimelyRate: r.MsgTimelyRate, AvgMsgResponseMs: r.AvgMsgResponseMs,
				Sessions: r.Sessions, AvgSessionMs: r.AvgSessionMs, AvgSessionMessages: r.AvgSessionMessages, AvgFirstResponseMs: r.AvgFirstResponseMs,
				QueueWaits: r.QueueWaits, AvgQueueWaitMs: r.AvgQueueWaitMs, Abandoned: r.Abandoned,
				Ratings: r.Ratings, AvgRating: r.AvgRating, Satisfied: r.Satisfied, CSATRate: r.CSATRate,
				DeskFirstResponses: r.DeskFirstResponses, DeskFirstTimely: r.DeskFirstTimely,
				DeskFirstTimelyRate: r.DeskFirstTimelyRate, AvgDeskFirstResponseMs: r.AvgDeskFirstResponseMs,
				DeskHandled: r.DeskHandled, DeskResolved: r.DeskResolved, AvgHandleMs: r.AvgHandleMs, DeskMissed: r.DeskMissed, Final: r.Final,
			})
		}
		return rows, nil
	}
}
