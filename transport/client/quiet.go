package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// QuietHours reads this user's quiet hours: the hours of the week their
// offline notifications pause, in their own time zone (nil: none).
func (c *Client) QuietHours(ctx context.Context) (*wirepb.QuietHours, error) {
	return c.quietHours(ctx, &wirepb.QuietHoursRequest{})
}

// SetQuietHours sets this user's quiet hours (EveryDay builds the usual
// nightly ones) and answers them as stored. Hours the server cannot read
// (an unknown zone or day, intervals out of order, too many in a day)
// fail INVALID, saying what is wrong.
func (c *Client) SetQuietHours(ctx context.Context, q *wirepb.QuietHours) (*wirepb.QuietHours, error) {
	if q == nil {
		return nil, fmt.Errorf("set quiet hours: none given (ClearQuietHours takes them away)")
	}
	return c.quietHours(ctx, &wirepb.QuietHoursRequest{Set: q})
}

// ClearQuietHours takes this user's quiet hours away: notifications go
// out at any hour again.
func (c *Client) ClearQuietHours(ctx context.Context) error {
	_, err := c.quietHours(ctx, &wirepb.QuietHoursRequest{Off: true})
	return err
}

func (c *Client) quietHours(ctx context.Context, req *wirepb.QuietHoursRequest) (*wirepb.QuietHours, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_QuietHours{QuietHours: req}})
	if err != nil {
		return nil, err
	}
	return res.GetQuietHours().GetQuiet(), nil
}

// Weekdays are the days quiet hours name, Sunday first.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// EveryDay is quiet hours from from to to ("HH:MM") on each of days
// (none: every day) in zone: "22:00" to "07:00" makes the night quiet, as
// the mornings before 07:00 and the evenings from 22:00 of those days.
// from equal to to is a whole day. The server checks the times.
func EveryDay(zone, from, to string, days ...string) *wirepb.QuietHours {
	if len(days) == 0 {
		days = Weekdays
	}
	var spans string
	switch {
	case from == to:
		spans = "00:00-24:00"
	case from < to: // "HH:MM" compares as a time
		spans = from + "-" + to
	case to == "00:00":
		spans = from + "-24:00"
	default:
		spans = "00:00-" + to + "," + from + "-24:00"
	}
	q := &wirepb.QuietHours{Zone: zone, Week: map[string]string{}}
	for _, d := range days {
		q.Week[strings.ToLower(d)] = spans
	}
	return q
}
