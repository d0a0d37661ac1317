package transport_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// pipelineEnv is a node whose conversation grains refuse a sender past 50
// sends/s (RATE_LIMITED, transient) and whose connections refuse past
// 150 requests/s when the frame is read: a pipelined client meets both.
func pipelineEnv(t *testing.T) *env {
	return newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 50, SendBurst: 5},
		transport: transport.Config{MaxQueueWait: time.Minute, ConnRate: 150, ConnBurst: 20, UserRate: 1e6, UserBurst: 1e6},
	})
}

// sendAll pipelines n sends from alice to bob, calling during(i) after
// the i-th is acknowledged, and checks that every one was stored once,
// with seqs 1..n in the order sent.
func sendAll(t *testing.T, e *env, alice *client.Client, n int, during func(i int)) {
	t.Helper()
	ps := make([]*client.Pending, n)
	for i := range ps {
		p, err := alice.Send(client.ToUser("bob"), []byte(fmt.Sprint("m", i)), "")
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, p := range ps {
		m, err := p.Wait(ctx)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if m.Seq != uint64(i+1) {
			t.Fatalf("send %d got seq %d, want %d (sent in order, nothing else in the conversation)", i, m.Seq, i+1)
		}
		if during != nil {
			during(i)
		}
	}
	// Stored once each, in order: the server's history, as bob reads it.
	bob := e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	var got []string
	for from := uint64(1); ; {
		page, err := bob.History(tctx(t), conv, client.HistoryOptions{FromSeq: from, OldestFirst: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, string(m.Body))
		}
		from = page[len(page)-1].Seq + 1
	}
	if len(got) != n {
		t.Fatalf("history holds %d messages, want %d", len(got), n)
	}
	for i, b := range got {
		if b != fmt.Sprint("m", i) {
			t.Fatalf("history[%d] = %q, want m%d", i, b, i)
		}
	}
}

// 200 sends to one conversation, pipelined 16 deep, while the server
// refuses some of them transiently (the grain's and the connection's rate
// limits) and the sends written behind those: all are stored exactly once,
// in the order sent.
func TestPipelinedSendsSurviveRefusals(t *testing.T) {
	t.Parallel()
	e := pipelineEnv(t)
	alice := e.dial("alice", "phone")
	sendAll(t, e, alice, 200, nil)
	if alice.BusyRefusals() == 0 {
		t.Fatal("no send was refused as chained behind a refused one: the test did not exercise the pipeline's refusals")
	}
	t.Logf("%d BUSY refusals (sends behind a refused one)", alice.BusyRefusals())
}

// The same across reconnects in the middle of the pipeline: what the old
// connection stored is not stored again, nothing overtakes.
func TestPipelinedSendsSurviveReconnects(t *testing.T) {
	t.Parallel()
	e := pipelineEnv(t)
	var connects atomic.Int32
	alice := e.dial("alice", "phone", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Kind == client.EventConnected {
				connects.Add(1)
			}
		}
	})
	sendAll(t, e, alice, 200, func(i int) {
		if i == 40 || i == 110 {
			alice.Reconnect()
		}
	})
	if n := connects.Load(); n < 3 {
		t.Fatalf("%d connects, want 3 (two reconnects)", n)
	}
}

// With FailOnBusy, a send refused BUSY fails with that error, and so do
// the sends written behind it; the accepted ones keep their order, and a
// send queued after the refusals goes through. The refusals: one worker
// per connection that may wait 1 ms, and sends to four conversations
// pipelined, so lane heads wait for the worker past the bound.
func TestPipelinedSendsFailOnBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 1e6, SendBurst: 1e6},
		transport: transport.Config{MaxQueueWait: time.Millisecond, Workers: 1, ConnRate: 1e6, ConnBurst: 1e6, UserRate: 1e6, UserBurst: 1e6},
	})
	alice := e.dial("alice", "phone", func(c *client.Config) { c.FailOnBusy = true })
	peers := []string{"bob", "carol", "dave", "erin"}
	const perPeer = 40
	ps := map[string][]*client.Pending{}
	for i := range perPeer {
		for _, p := range peers {
			pd, err := alice.Send(client.ToUser(p), []byte(fmt.Sprint(p, i)), "")
			if err != nil {
				t.Fatal(err)
			}
			ps[p] = append(ps[p], pd)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	refused := 0
	for _, p := range peers {
		var last uint64
		for i, pd := range ps[p] {
			m, err := pd.Wait(ctx)
			switch {
			case err == nil:
				if m.Seq <= last {
					t.Fatalf("%s send %d got seq %d, not after %d", p, i, m.Seq, last)
				}
				last = m.Seq
			case codeOf(err) == wirepb.Code_BUSY:
				refused++
				if m.State != client.StateFailed {
					t.Fatalf("%s send %d refused but %v", p, i, m.State)
				}
			default:
				t.Fatalf("%s send %d: %v, want success or BUSY", p, i, err)
			}
		}
	}
	t.Logf("%d of %d refused BUSY", refused, perPeer*len(peers))
	if refused == 0 {
		t.Fatal("nothing refused: 160 sends through one worker within 1 ms each?")
	}
	if int64(refused) != alice.BusyRefusals() {
		t.Fatalf("%d sends failed BUSY, the client counted %d refusals: a BUSY send was resent", refused, alice.BusyRefusals())
	}
	// Later sends are not chained to the refusals: one at a time, they go
	// through (each may still meet the 1 ms bound on a slow machine).
	for _, p := range peers {
		for attempt := 0; ; attempt++ {
			_, err := alice.SendText(ctx, client.ToUser(p), "later")
			if err == nil {
				break
			}
			if codeOf(err) != wirepb.Code_BUSY || strings.Contains(err.Error(), "behind a refused send") || attempt > 50 {
				t.Fatalf("a later send to %s (attempt %d): %v", p, attempt, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
