package client

import (
	"context"
	"math"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// MyMetrics reads the client's own user's service metrics in window ("1h",
// or "30s/15s" for a sliding family; one of the node's --metrics-windows):
// the newest limit windows with activity, newest first (limit 0: one).
func (c *Client) MyMetrics(ctx context.Context, window string, limit int) (*wirepb.MyMetricsResult, error) {
	return c.metrics(ctx, "", window, limit)
}

// TeamMetrics reads another key's rows as MyMetrics reads the user's own:
// an agent's id, "*" for the whole desk or "line:NAME" for a business
// line. Only a user the desk marks a supervisor may (FORBIDDEN otherwise).
func (c *Client) TeamMetrics(ctx context.Context, key, window string, limit int) (*wirepb.MyMetricsResult, error) {
	return c.metrics(ctx, key, window, limit)
}

func (c *Client) metrics(ctx context.Context, key, window string, limit int) (*wirepb.MyMetricsResult, error) {
	// A limit past uint32 stays past the node's bound (INVALID), not wrapped.
	n := uint32(math.MaxUint32)
	if limit < math.MaxUint32 {
		n = uint32(max(limit, 0))
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MyMetrics{MyMetrics: &wirepb.MyMetricsRequest{Window: window, Limit: n, Key: key}}})
	if err != nil {
		return nil, err
	}
	return res.GetMyMetrics(), nil
}
