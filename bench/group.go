package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// runGroup: Groups groups of Members members, all online; the first
// Senders members of each group send to it, Rate spread over all senders.
// Groups over the server's large-group threshold (500) are delivered by
// read fan-out through the node hub: the warm-up checks every member
// subscribed.
func runGroup(ctx context.Context, p *pool, o Options, res *Result) ([]*client.Client, error) {
	res.Params["groups"], res.Params["members"], res.Params["senders_per_group"] = o.Groups, o.Members, o.Senders
	res.Params["rate"], res.Params["duration_s"], res.Params["body_bytes"] = o.Rate, o.Duration.Seconds(), o.BodySize
	errs := newErrCount()
	t := newTraffic(o.BodySize, errs)
	clients, err := groupSetup(ctx, p, o, t, "g", o.Groups, o.Members, o.Senders)
	if err != nil {
		return clients, err
	}
	if len(o.SenderExec) == 0 {
		return clients, runTraffic(ctx, t, o, p, res, errs)
	}
	// Senders in their own process: each sender user is connected there
	// alone. This process made the group through them and now lets go;
	// they are no one's recipients here (with several senders per group
	// they would otherwise receive each other's messages).
	isSender := map[string]bool{}
	var senderClients []*client.Client
	for _, s := range t.senders {
		isSender[s.c.User()] = true
		senderClients = append(senderClients, s.c)
		s.self.handedOff.Store(true)
	}
	for _, s := range t.senders {
		rs := s.recips[:0:0]
		for _, r := range s.recips {
			if !isSender[r.name] {
				rs = append(rs, r)
			}
		}
		s.recips, s.fanout = rs, len(rs)
	}
	if o.Senders > 1 {
		res.Notes = append(res.Notes, "senders in their own process: a group's senders do not receive each other's messages")
	}
	closeAll(senderClients)
	return clients, runRemoteTraffic(ctx, t, o, p, res, errs)
}

// maxUsersPerChange is the most users one create_group or membership
// request may name (the server's limit, 1000).
const maxUsersPerChange = 1000

func groupSetup(ctx context.Context, p *pool, o Options, t *traffic, prefix string, groups, members, senders int) ([]*client.Client, error) {
	n := groups * members
	names := make([]string, n)
	recips := make([]*recipient, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%s%d-m%d", o.RunID, prefix, i/members, i%members)
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
	}
	convs := make([]string, groups)
	var wg sync.WaitGroup
	errc := make(chan error, groups)
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The server takes at most maxUsersPerChange users in one
			// request: create with the first ones, add the rest.
			ms := names[g*members+1 : (g+1)*members]
			owner := clients[g*members]
			first := ms[:min(len(ms), maxUsersPerChange)]
			conv, err := owner.CreateGroup(ctx, "", fmt.Sprintf("bench %s %d", o.RunID, g), first)
			for rest := ms[len(first):]; err == nil && len(rest) > 0; rest = rest[min(len(rest), maxUsersPerChange):] {
				_, err = owner.AddMembers(ctx, conv, rest[:min(len(rest), maxUsersPerChange)]...)
			}
			if err != nil {
				errc <- fmt.Errorf("create group %d: %w", g, err)
				return
			}
			convs[g] = conv
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return clients, err
	}
	// A member's connection subscribes to a large group's read fan-out
	// when the membership push reaches it; a message sent before that is
	// not pushed to it, and the SDK, holding no earlier message of the
	// group, does not notice the gap. Wait for every member's push, so
	// what is measured is the steady state.
	deadline := time.Now().Add(60 * time.Second)
	for {
		waiting := 0
		for _, r := range recips {
			if r.joined.Load() == 0 {
				waiting++
			}
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.errs.add("membership_push_missing")
			break
		}
		select {
		case <-ctx.Done():
			return clients, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	for g := range groups {
		for s := range senders {
			var rs []*recipient
			for m := range members {
				if m != s {
					rs = append(rs, recips[g*members+m])
				}
			}
			t.addSender(clients[g*members+s], client.ToConv(convs[g]), rs).self = recips[g*members+s]
		}
	}
	return clients, nil
}
