package transport

import (
	"context"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Limits of my_metrics (docs/PROTOCOL.md, "My metrics").
const (
	// MaxMyMetricsRows bounds the windows one answer carries: two days of
	// hour windows, far under a frame.
	MaxMyMetricsRows = 48
	// MaxMetricsWindowBytes bounds the window name ("30s/15s").
	MaxMetricsWindowBytes = 32
	// MaxMetricsKeyBytes bounds a supervisor's key: the longest is
	// "line:" and a 64-byte line name (a user id is at most 64 bytes).
	MaxMetricsKeyBytes = len("line:") + 64
)

func validateMyMetrics(op *wirepb.MyMetricsRequest) error {
	if op.Window == "" || len(op.Window) > MaxMetricsWindowBytes {
		return invalid("bad window %q (want a metrics window family such as 1h)", op.Window)
	}
	if op.Limit > MaxMyMetricsRows {
		return invalid("limit %d, at most %d", op.Limit, MaxMyMetricsRows)
	}
	if len(op.Key) > MaxMetricsKeyBytes {
		return invalid("metrics key is %d bytes, limit %d", len(op.Key), MaxMetricsKeyBytes)
	}
	return nil
}

// myMetrics answers the connection's user's own metrics rows, or a
// supervisor's key (the session checks who may read it).
func (c *conn) myMetrics(ctx context.Context, op *wirepb.MyMetricsRequest) *wirepb.Response {
	ms, ok := c.sess.(session.MetricsSession)
	if !ok {
		return &wirepb.Response{Error: &wirepb.Error{Code: wirepb.Code_INVALID, Message: "this node has no metrics engine"}}
	}
	rows, err := ms.MyMetrics(ctx, op.Key, op.Window, int(op.Limit))
	if err != nil {
		return c.fail(err)
	}
	key := op.Key
	if key == "" {
		key = c.sess.User()
	}
	out := &wirepb.MyMetricsResult{User: c.sess.User(), Key: key, Window: op.Window, Rows: make([]*wirepb.MyMetricsRow, 0, len(rows))}
	for _, r := range rows {
		out.Rows = append(out.Rows, &wirepb.MyMetricsRow{
			WindowStartMs: r.WindowStart.UnixMilli(), WindowEndMs: r.WindowEnd.UnixMilli(),
			Questions: r.Questions, Timely: r.Timely, TimelyRate: r.TimelyRate, AvgResponseMs: r.AvgResponseMs,
			MsgQuestions: r.MsgQuestions, MsgTimely: r.MsgTimely, MsgTimelyRate: r.MsgTimelyRate, AvgMsgResponseMs: r.AvgMsgResponseMs,
			Sessions: r.Sessions, AvgSessionMs: r.AvgSessionMs, AvgSessionMessages: r.AvgSessionMessages, AvgFirstResponseMs: r.AvgFirstResponseMs,
			QueueWaits: r.QueueWaits, AvgQueueWaitMs: r.AvgQueueWaitMs, Abandoned: r.Abandoned,
			Ratings: r.Ratings, AvgRating: r.AvgRating, Satisfied: r.Satisfied, CsatRate: r.CSATRate,
			DeskFirstResponses: r.DeskFirstResponses, DeskFirstTimely: r.DeskFirstTimely,
			DeskFirstTimelyRate: r.DeskFirstTimelyRate, AvgDeskFirstResponseMs: r.AvgDeskFirstResponseMs,
			DeskHandled: r.DeskHandled, DeskResolved: r.DeskResolved, AvgHandleMs: r.AvgHandleMs, DeskMissed: r.DeskMissed, Final: r.Final,
		})
	}
	return &wirepb.Response{Result: &wirepb.Response_MyMetrics{MyMetrics: out}}
}
