package bench

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// churnEvery is how often soak drops a random client's connection: the
// client reconnects and resyncs, which must lose and repeat nothing.
const churnEvery = 5 * time.Second

// runSoak: chat pairs and groups (Groups × Members) together on one
// schedule at Rate for Duration, with a reconnect every few seconds; the
// server's RSS over time (in the series) shows leaks.
func runSoak(ctx context.Context, p *pool, o Options, res *Result) ([]*client.Client, error) {
	res.Params["users"], res.Params["groups"], res.Params["members"] = o.Users, o.Groups, o.Members
	res.Params["rate"], res.Params["duration_s"], res.Params["churn_every_s"] = o.Rate, o.Duration.Seconds(), churnEvery.Seconds()
	errs := newErrCount()
	t := newTraffic(o.BodySize, errs)
	chat, err := chatSetup(ctx, p, o, t, "u", o.Users)
	if err != nil {
		return chat, err
	}
	groups, err := groupSetup(ctx, p, o, t, "g", o.Groups, o.Members, 1)
	clients := append(chat, groups...)
	if err != nil {
		return clients, err
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		tick := time.NewTicker(churnEvery)
		defer tick.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-tick.C:
				clients[rand.IntN(len(clients))].Reconnect()
			}
		}
	}()
	err = runTraffic(ctx, t, o, p, res, errs)
	if rs := res.Series; len(rs) >= 4 && res.Server.Measured {
		half := rs[len(rs)/2:]
		slope := (half[len(half)-1].ServerRSS - half[0].ServerRSS) / max(half[len(half)-1].T-half[0].T, 1)
		res.Params["server_rss_slope_second_half_bytes_per_s"] = slope
	}
	return clients, err
}
