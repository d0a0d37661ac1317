package client

import (
	"context"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// DeskHandover hands the service session of conv from the robot to the
// next step of its route (a human queue or agent). The robot or the
// customer may ask; anyone else gets FORBIDDEN, and a session no longer
// with the robot INVALID.
func (c *Client) DeskHandover(ctx context.Context, conv string) (*wirepb.DeskHandoverResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_DeskHandover{DeskHandover: &wirepb.DeskHandoverRequest{Conv: conv}}})
	if err != nil {
		return nil, err
	}
	return res.GetDeskHandover(), nil
}
