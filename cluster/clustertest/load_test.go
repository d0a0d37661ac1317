package clustertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// ack is one acknowledged send.
type ack struct {
	conv, id string
	seq      uint64
	sent, at time.Time // when Send was called, when the ack came
	msgID    uint64
	dup      bool // answered as a duplicate of an earlier attempt
}

// load runs senders through the SDK, each sending with its own
// client_msg_ids, one message at a time, and records every ack.
type load struct {
	t *testing.T
	// nodeLogs names the nodes' log files, for the lines a failed audit
	// prints (nil: none).
	nodeLogs func() []string
	ctx      context.Context
	stop     chan struct{}
	wg       sync.WaitGroup

	mu   sync.Mutex
	acks []ack
	errs []string
}

func newLoad(t *testing.T, ctx context.Context) *load {
	l := &load{t: t, ctx: ctx, stop: make(chan struct{})}
	t.Cleanup(l.halt)
	return l
}

// send starts a sender: c sends to `to` every `every`.
func (l *load) send(c *tclient, to client.Target, name string, every time.Duration) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			id := fmt.Sprintf("%s-%d", name, i)
			sent := time.Now()
			p, err := c.Send(to, []byte(id), id)
			if err != nil {
				l.fail("%s: send %s: %v", c.name, id, err)
				continue
			}
			m, err := p.Wait(l.ctx)
			if err != nil {
				l.fail("%s: send %s: %v", c.name, id, err)
				continue
			}
			l.mu.Lock()
			l.acks = append(l.acks, ack{conv: m.Conv, id: id, seq: m.Seq, sent: sent, at: time.Now(), msgID: m.MsgID, dup: m.Duplicate})
			l.mu.Unlock()
		}
	}()
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

// halt stops the senders and waits for their last sends.
func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// waitAcks waits for n more acks than now.
func (l *load) waitMore(n int, within time.Duration) {
	l.t.Helper()
	want := l.count() + n
	deadline := time.Now().Add(within)
	for l.count() < want {
		if time.Now().After(deadline) {
			l.t.Fatalf("only %d of %d acks within %s; errors: %v", l.count(), want, within, l.errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *load) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// firstAckAfter is when the first send to conv made after t0 was acked
// (zero: none yet). Sends made before t0 do not count: the dead node may
// have acked them just before it died.
func (l *load) firstAckAfter(conv string, t0 time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, a := range l.acks {
		if a.conv == conv && a.sent.After(t0) && (first.IsZero() || a.at.Before(first)) {
			first = a.at
		}
	}
	return first
}

// history reads conv's whole log, oldest first.
func history(t *testing.T, ctx context.Context, c *tclient, conv string) []client.Message {
	t.Helper()
	var all []client.Message
	for from := uint64(1); ; {
		var page []client.Message
		var err error
		for try := 0; ; try++ {
			page, err = c.History(ctx, conv, client.HistoryOptions{FromSeq: from, OldestFirst: true, Limit: 500})
			if err == nil || try == 5 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("history %s from %d: %v", conv, from, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		from = page[len(page)-1].Seq + 1
	}
}

// verify checks the stored log of every conversation against the acks:
// seqs 1..N, each client_msg_id stored once, every ack at its seq, no
// seq acked to two different messages. It returns each conversation's
// last seq. readers maps each conversation to a member's client.
func (l *load) verify(ctx context.Context, readers map[string]*tclient) map[string]uint64 {
	t := l.t
	t.Helper()
	l.mu.Lock()
	acks := slices.Clone(l.acks)
	l.mu.Unlock()
	last := map[string]uint64{}
	convs := make([]string, 0, len(readers))
	for conv := range readers {
		convs = append(convs, conv)
	}
	slices.Sort(convs)
	for _, conv := range convs {
		all := history(t, ctx, readers[conv], conv)
		ids := map[string]uint64{}
		for i, m := range all {
			if m.Seq != uint64(i+1) {
				t.Fatalf("%s: seq %d at position %d (gap, duplicate or disorder)", conv, m.Seq, i)
			}
			if m.ClientMsgID == "" {
				continue
			}
			if s, dup := ids[m.ClientMsgID]; dup {
				t.Fatalf("%s: %s stored twice, at %d and %d", conv, m.ClientMsgID, s, m.Seq)
			}
			ids[m.ClientMsgID] = m.Seq
		}
		bySeq := map[uint64]string{}
		n := 0
		for _, a := range acks {
			if a.conv != conv {
				continue
			}
			n++
			if other, dup := bySeq[a.seq]; dup && other != a.id {
				t.Fatalf("%s: seq %d acked to both %s and %s (two writers)", conv, a.seq, other, a.id)
			}
			bySeq[a.seq] = a.id
			if s, ok := ids[a.id]; !ok || s != a.seq {
				held := "nothing"
				if a.seq >= 1 && a.seq <= uint64(len(all)) {
					m := all[a.seq-1]
					held = fmt.Sprintf("msg %d from %s, client id %q, kind %v, %q", m.MsgID, m.Sender, m.ClientMsgID, m.Kind, trim(string(m.Body), 40))
				}
				l.logConvLines(conv)
				t.Fatalf("%s: %s acked at seq %d (msg %d, duplicate answer %v, sent %s, acked %s), stored at %d (present %v): acked message lost; seq %d holds %s",
					conv, a.id, a.seq, a.msgID, a.dup, a.sent.Format("15:04:05.000"), a.at.Format("15:04:05.000"), s, ok, a.seq, held)
			}
		}
		last[conv] = uint64(len(all))
		t.Logf("%s: %d messages stored, seqs 1..%d contiguous, %d acks all stored at their seq", conv, len(all), len(all), n)
	}
	return last
}

// converge waits until every (client, conversation) holds the whole log,
// seqs 1..last with no gap: pushes and resyncs reached it. It returns the
// devices that did not, with what they hold.
func converge(members map[*tclient][]string, last map[string]uint64, within time.Duration) map[*tclient]string {
	deadline := time.Now().Add(within)
	missing := map[*tclient]string{}
	for c, convs := range members {
		for _, conv := range convs {
			want := last[conv]
			for {
				got := c.Messages(conv)
				ok := uint64(len(got)) == want
				for i := 0; ok && i < len(got); i++ {
					ok = got[i].Seq == uint64(i+1)
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					missing[c] += fmt.Sprintf("%s: holds %d of seqs 1..%d: %s; ", conv, len(got), want, seqSummary(got))
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	return missing
}

func seqSummary(ms []client.Message) string {
	seqs := make([]uint64, len(ms))
	for i, m := range ms {
		seqs[i] = m.Seq
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var out []string
	for i := 0; i < len(seqs) && len(out) < 12; {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		out = append(out, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		i = j + 1
	}
	return fmt.Sprint(out)
}

// trim cuts s to at most n bytes for a log line.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// logConvLines prints the nodes' log lines that name conv (the last 80 of
// each), so a failed audit shows what the conversation's grains did.
func (l *load) logConvLines(conv string) {
	if l.nodeLogs == nil {
		return
	}
	for _, f := range l.nodeLogs() {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var hits []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, conv) {
				hits = append(hits, line)
			}
		}
		l.t.Logf("%s: %d lines name %s; the last 80:\n%s", filepath.Base(f), len(hits), conv, strings.Join(hits[max(0, len(hits)-80):], "\n"))
	}
}
