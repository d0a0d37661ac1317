package clustertest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Three processes on loopback share one Cassandra keyspace. Clients on
// every node reach every user, conversation and group wherever its grain
// lives, and pushes reach a user's devices on whichever nodes they are.
func TestMultiNodeRouting(t *testing.T) {
	c := newCluster(t, nil)
	for range 3 {
		c.addNode("127.0.0.1", "")
	}
	start := time.Now()
	c.startAll()
	t.Logf("3 nodes up and agreeing on membership in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	f := c.fronts
	alice := c.dial(ctx, "alice", "phone", f[0])
	bobPhone := c.dial(ctx, "bob", "phone", f[1])
	bobLaptop := c.dial(ctx, "bob", "laptop", f[2])
	carol := c.dial(ctx, "carol", "phone", f[2])
	dave := c.dial(ctx, "dave", "phone", f[0])
	at := map[*tclient]*node{alice: c.nodes[0], bobPhone: c.nodes[1], bobLaptop: c.nodes[2], carol: c.nodes[2], dave: c.nodes[0]}

	group, err := alice.CreateGroup(ctx, "g:multi", "multi", []string{"bob", "carol", "dave"})
	if err != nil {
		t.Fatal(err)
	}
	ab, cb, dc := wirepb.DirectConvID("alice", "bob"), wirepb.DirectConvID("bob", "carol"), wirepb.DirectConvID("carol", "dave")
	sends := []struct {
		from *tclient
		to   client.Target
		conv string
	}{
		{alice, client.ToUser("bob"), ab}, {bobPhone, client.ToUser("alice"), ab},
		{carol, client.ToUser("bob"), cb}, {bobLaptop, client.ToUser("carol"), cb},
		{dave, client.ToUser("carol"), dc}, {carol, client.ToUser("dave"), dc},
		{alice, client.ToConv(group), group}, {bobPhone, client.ToConv(group), group},
		{carol, client.ToConv(group), group}, {dave, client.ToConv(group), group},
	}
	l := &load{t: t}
	remoteSends := 0
	for round := range 3 {
		for _, s := range sends {
			m, err := s.from.SendText(ctx, s.to, s.from.name)
			if err != nil {
				t.Fatalf("%s → %s: %v", s.from.name, s.conv, err)
			}
			if m.Conv != s.conv {
				t.Fatalf("%s: acked in %s, want %s", s.from.name, m.Conv, s.conv)
			}
			l.acks = append(l.acks, ack{conv: m.Conv, id: m.ClientMsgID, seq: m.Seq})
			if round == 0 && c.where(c.nodes[0], actors.KindConversation, s.conv) != at[s.from] {
				remoteSends++
			}
		}
	}

	// Where the grains live, as any node sees it: every node gives the
	// same answer.
	for _, conv := range []string{ab, cb, dc, group} {
		h := c.where(c.nodes[0], actors.KindConversation, conv)
		for _, n := range c.nodes[1:] {
			if o := c.where(n, actors.KindConversation, conv); o != h {
				t.Fatalf("%s: %s says %s, %s says %s", conv, c.nodes[0].name, h.name, n.name, o.name)
			}
		}
		t.Logf("conversation %s lives on %s", conv, h.name)
	}
	remotePushes := 0
	for cl, n := range at {
		u := c.where(c.nodes[0], actors.KindUser, cl.User())
		if u != n {
			remotePushes++
		}
		t.Logf("user %s lives on %s; device %s is connected to %s", cl.User(), u.name, cl.name, n.name)
	}
	// bob's devices are on n1 and n2 and his grain on one node, and the
	// group has senders on all three: both counts are > 0 by construction.
	if remoteSends == 0 || remotePushes == 0 {
		t.Fatalf("no cross-node traffic: %d remote sends, %d remote pushes", remoteSends, remotePushes)
	}
	t.Logf("%d of %d sends went to a conversation on another node; %d of %d devices are on a node other than their user's grain",
		remoteSends, len(sends), remotePushes, len(at))

	// The stored logs match the acks, and read the same through every node.
	last := l.verify(ctx, map[string]*tclient{ab: bobPhone, cb: bobPhone, dc: carol, group: bobPhone})
	for _, r := range []*tclient{alice, bobPhone, carol} {
		if got := uint64(len(history(t, ctx, r, group))); got != last[group] {
			t.Fatalf("history of %s through %s: %d messages, want %d", group, at[r].name, got, last[group])
		}
	}
	t.Logf("the group's history reads the same through n0, n1 and n2")
	devices := map[*tclient][]string{
		alice: {ab, group}, bobPhone: {ab, cb, group}, bobLaptop: {ab, cb, group},
		carol: {cb, dc, group}, dave: {dc, group},
	}
	for cl, what := range converge(devices, last, 20*time.Second) {
		t.Errorf("%s did not get every message: %s", cl.name, what)
	}
	t.Logf("%d devices hold every message of their conversations, no gap", len(devices))
	// Four senders, three rounds.
	if want := uint64(3 * 4); last[group] < want {
		t.Fatalf("group holds %d messages, want at least %d", last[group], want)
	}
	for cl := range at {
		if errs := cl.errors(); len(errs) > 0 {
			t.Fatalf("%s: client errors %v", cl.name, errs)
		}
	}
}
