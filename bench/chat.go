package bench

import (
	"context"
	"fmt"

	"github.com/switchboard-im/switchboard/transport/client"
)

// runChat: Users users in 1:1 pairs, each sending to its peer; Rate is
// spread evenly over all of them.
func runChat(ctx context.Context, p *pool, o Options, res *Result) ([]*client.Client, error) {
	res.Params["users"], res.Params["rate"], res.Params["duration_s"], res.Params["body_bytes"] = o.Users, o.Rate, o.Duration.Seconds(), o.BodySize
	errs := newErrCount()
	t := newTraffic(o.BodySize, errs)
	clients, err := chatSetup(ctx, p, o, t, "u", o.Users)
	if err != nil {
		return clients, err
	}
	return clients, runTraffic(ctx, t, o, p, res, errs)
}

// chatSetup connects n users named <run>-<prefix><i> and makes each a
// sender to its pair's other user.
func chatSetup(ctx context.Context, p *pool, o Options, t *traffic, prefix string, n int) ([]*client.Client, error) {
	names := make([]string, n)
	recips := make([]*recipient, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%s%d", o.RunID, prefix, i)
		recips[i] = newRecipient(names[i])
	}
	base := len(t.senders)
	clients, err := connectMany(ctx, p, o, names, func(i int) func(client.Event) {
		return t.onEvent(recips[i], names[i], base+i)
	})
	if err != nil {
		return nil, err
	}
	for i, c := range clients {
		recips[i].c = c
		peer := i ^ 1
		t.addSender(c, client.ToUser(names[peer]), []*recipient{recips[peer]})
	}
	return clients, nil
}
