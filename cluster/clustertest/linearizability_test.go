package clustertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Linearizability of each conversation's log, checked with porcupine on the
// operations the clients saw, with client-side call and return times:
// every acknowledged send (returns its seq) and periodic reads of the
// latest page of history (returns seq → client_msg_id).
//
// The model is a log whose seqs the sends assign: a send of id returning
// seq s is legal iff no message holds s yet (no seq has two messages), and
// then the log holds id at s. A read of the newest messages down to seq lo
// is legal iff it shows every message the model holds at lo or above, each
// at its seq, and every message of a recorded send it shows is in the
// model at that seq: nothing acked is missing or moved, nothing shows
// before its send took effect, nothing shown disappears.
//
// Seq order is checked apart (seqOrder): a send that returned before
// another was called has the lower seq. The model does not demand that
// seqs become visible in order: a conversation grain pipelines its
// appends, and the CQL store shows a batch's rows as soon as they are
// written, before the batch is acknowledged, so a read may show seq s+1
// while s, sent concurrently, is not there yet. checkLinearizable counts
// such reads (holes).

// logEntry is one message of the model's log.
type logEntry struct {
	seq uint64
	id  string
}

// logState is the model's state: entries in seq order, never changed in
// place (Step returns a new slice).
type logState []logEntry

type sendIn struct{ id string }
type sendOut struct{ seq uint64 }
type readIn struct{}

// readOut is a page of the newest messages: entries is what the read
// showed of recorded sends; lo is the lowest seq of the page (0: the page
// was empty).
type readOut struct {
	lo      uint64
	entries []logEntry
}

var logModel = porcupine.Model{
	Init: func() any { return logState(nil) },
	Step: func(state, in, out any) (bool, any) {
		st := state.(logState)
		switch in := in.(type) {
		case sendIn:
			seq := out.(sendOut).seq
			i, taken := slices.BinarySearchFunc(st, seq, func(x logEntry, s uint64) int { return cmpU64(x.seq, s) })
			if taken {
				return false, st
			}
			next := make(logState, 0, len(st)+1)
			next = append(append(append(next, st[:i]...), logEntry{seq: seq, id: in.id}), st[i:]...)
			return true, next
		case readIn:
			r := out.(readOut)
			shown := make(map[uint64]string, len(r.entries))
			for _, e := range r.entries {
				shown[e.seq] = e.id
			}
			if r.lo == 0 {
				return len(st) == 0, st // an empty page: nothing may be in the log
			}
			for _, e := range st {
				if e.seq >= r.lo && shown[e.seq] != e.id {
					return false, st // a message missing from the page, or moved
				}
			}
			for _, e := range r.entries {
				i, found := slices.BinarySearchFunc(st, e.seq, func(x logEntry, s uint64) int { return cmpU64(x.seq, s) })
				if !found || st[i].id != e.id {
					return false, st // shown before its send took effect, or at another seq
				}
			}
			return true, st
		}
		return false, st
	},
	Equal: func(a, b any) bool { return slices.Equal(a.(logState), b.(logState)) },
	Hash: func(s any) uint64 {
		st := s.(logState)
		if len(st) == 0 {
			return 0
		}
		var h uint64
		for _, e := range st {
			h = h*31 + e.seq
		}
		return h
	},
	DescribeOperation: func(in, out any) string {
		switch in := in.(type) {
		case sendIn:
			return fmt.Sprintf("send(%s) → %d", in.id, out.(sendOut).seq)
		case readIn:
			r := out.(readOut)
			if len(r.entries) == 0 {
				return fmt.Sprintf("read(newest, from %d) → []", r.lo)
			}
			return fmt.Sprintf("read(newest, from %d) → %d..%d (%d sends; not shown as sends: %v)", r.lo, r.entries[0].seq, r.entries[len(r.entries)-1].seq, len(r.entries), notShown(r))
		}
		return "?"
	},
	DescribeState: func(s any) string {
		st := s.(logState)
		if len(st) == 0 {
			return "[]"
		}
		return fmt.Sprintf("%d sends, last %s at %d", len(st), st[len(st)-1].id, st[len(st)-1].seq)
	},
}

// notShown lists the seqs in a read's range that it shows no recorded
// send at (system messages, or holes), at most 8.
func notShown(r readOut) []uint64 {
	var out []uint64
	for k, s := 0, r.lo; len(r.entries) > 0 && s <= r.entries[len(r.entries)-1].seq && len(out) < 8; s++ {
		for k < len(r.entries) && r.entries[k].seq < s {
			k++
		}
		if k >= len(r.entries) || r.entries[k].seq != s {
			out = append(out, s)
		}
	}
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// reads records periodic newest-page history reads of every conversation
// of a workload, each by a member's client.
type reads struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	ops  []readOp
}

type readOp struct {
	conv         string
	reader       string
	call, ret    time.Time
	msgs         []client.Message
	lowestOfPage uint64
}

// pageSize is how many of the newest messages a recorded read fetches.
const pageSize = 40

// startReads reads every conversation's newest page every `every`, until
// stopped, through a second device ("audit") of a member: the member's
// own device must get its messages by push or resync, not by these reads
// (push latency is measured on it).
func startReads(ctx context.Context, c *cluster, w *workload, every time.Duration) *reads {
	r := &reads{stop: make(chan struct{})}
	audit := map[string]*tclient{}
	for _, conv := range w.convs {
		m := w.readers[conv]
		cl := audit[m.User()]
		if cl == nil {
			cl = c.dial(ctx, m.User(), "audit", m.front)
			audit[m.User()] = cl
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-r.stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				call := time.Now()
				page, err := cl.History(ctx, conv, client.HistoryOptions{Limit: pageSize})
				ret := time.Now()
				if err != nil {
					continue // a failed read shows nothing: no operation
				}
				op := readOp{conv: conv, reader: cl.name, call: call, ret: ret, msgs: page}
				for _, m := range page {
					if op.lowestOfPage == 0 || m.Seq < op.lowestOfPage {
						op.lowestOfPage = m.Seq
					}
				}
				r.mu.Lock()
				r.ops = append(r.ops, op)
				r.mu.Unlock()
			}
		}()
	}
	return r
}

func (r *reads) halt() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
}

// checkLinearizable stops the reads and checks each conversation's history
// of acked sends and reads. On a violation it writes porcupine's
// visualization into the test's temp dir (kept in $SWITCHBOARD_ARTIFACTS
// too, when set) and fails.
func checkLinearizable(t *testing.T, l *load, r *reads) {
	t.Helper()
	r.halt()
	l.mu.Lock()
	acks := slices.Clone(l.acks)
	l.mu.Unlock()
	r.mu.Lock()
	rops := slices.Clone(r.ops)
	r.mu.Unlock()
	var base time.Time
	for _, a := range acks {
		if base.IsZero() || a.sent.Before(base) {
			base = a.sent
		}
	}
	for _, op := range rops {
		if base.IsZero() || op.call.Before(base) {
			base = op.call
		}
	}
	clients := map[string]int{}
	clientID := func(name string) int {
		if id, ok := clients[name]; ok {
			return id
		}
		clients[name] = len(clients)
		return clients[name]
	}
	tracked := map[string]bool{} // client_msg_ids of recorded sends
	byConv := map[string][]porcupine.Operation{}
	for _, a := range acks {
		tracked[a.conv+"\x00"+a.id] = true
		sender, _, _ := strings.Cut(a.id, "-")
		byConv[a.conv] = append(byConv[a.conv], porcupine.Operation{ClientId: clientID(sender), Input: sendIn{id: a.id},
			Call: int64(a.sent.Sub(base)), Output: sendOut{seq: a.seq}, Return: int64(a.at.Sub(base))})
	}
	reads := 0
	for _, op := range rops {
		out := readOut{lo: op.lowestOfPage}
		for _, m := range op.msgs {
			if tracked[op.conv+"\x00"+m.ClientMsgID] {
				out.entries = append(out.entries, logEntry{seq: m.Seq, id: m.ClientMsgID})
			}
		}
		slices.SortFunc(out.entries, func(a, b logEntry) int { return cmpU64(a.seq, b.seq) })
		byConv[op.conv] = append(byConv[op.conv], porcupine.Operation{ClientId: clientID("read:" + op.reader), Input: readIn{},
			Call: int64(op.call.Sub(base)), Output: out, Return: int64(op.ret.Sub(base))})
		reads++
	}
	// Seq order: whatever returned before a send was called holds a lower
	// seq in the same conversation.
	for _, bad := range seqOrder(acks) {
		t.Errorf("seq order: %s", bad)
	}
	// Holes: reads that showed a recorded send at s+1.. while one at a
	// lower seq of their range, acked later, was not there yet.
	holes := 0
	sentAt := map[string]map[uint64]bool{}
	for _, a := range acks {
		if sentAt[a.conv] == nil {
			sentAt[a.conv] = map[uint64]bool{}
		}
		sentAt[a.conv][a.seq] = true
	}
	for conv, ops := range byConv {
		for _, o := range ops {
			if r, ok := o.Output.(readOut); ok {
				for _, s := range notShown(r) {
					if sentAt[conv][s] {
						holes++
						break
					}
				}
			}
		}
	}
	convs := make([]string, 0, len(byConv))
	for conv := range byConv {
		convs = append(convs, conv)
	}
	slices.Sort(convs)
	for _, conv := range convs {
		ops := byConv[conv]
		start := time.Now()
		res, info := porcupine.CheckOperationsVerbose(logModel, ops, time.Minute)
		t.Logf("linearizability of %s: %s over %d operations (checked in %s)", conv, res, len(ops), time.Since(start).Round(time.Millisecond))
		if res == porcupine.Ok {
			continue
		}
		name := strings.NewReplacer(":", "_", "/", "_").Replace(conv) + "-linearizability.html"
		dir := t.TempDir()
		if a := os.Getenv("SWITCHBOARD_ARTIFACTS"); a != "" {
			dir = a
		}
		path := filepath.Join(dir, name)
		if err := porcupine.VisualizePath(logModel, info, path); err != nil {
			t.Errorf("%s: write the visualization: %v", conv, err)
		}
		if res == porcupine.Illegal {
			t.Errorf("%s: the history of %d operations is NOT linearizable; porcupine's visualization: %s", conv, len(ops), path)
		} else {
			t.Errorf("%s: porcupine could not decide within a minute (%s); visualization: %s", conv, res, path)
		}
	}
	t.Logf("LINEARIZABILITY: %d conversations, %d acked sends and %d reads checked with porcupine; %d reads showed a hole (a later seq before an earlier one)",
		len(convs), len(acks), reads, holes)
}

// createGroup creates a group, retrying a request that got no answer (a
// loaded machine): a retry that finds the group made by the lost attempt
// takes it.
func createGroup(ctx context.Context, cl *tclient, conv string, members []string) (string, error) {
	for try := 0; ; try++ {
		id, err := cl.CreateGroup(ctx, conv, "load", members)
		switch {
		case err == nil:
			return id, nil
		case try > 0 && wirepb.CodeOf(err) == wirepb.Code_EXISTS:
			return conv, nil
		case errors.Is(err, client.ErrDisconnected) && try < 5:
			time.Sleep(time.Second)
		default:
			return "", err
		}
	}
}

// seqOrder returns the pairs of sends to one conversation where one
// returned before the other was called but got the higher seq.
func seqOrder(acks []ack) []string {
	byConv := map[string][]ack{}
	for _, a := range acks {
		byConv[a.conv] = append(byConv[a.conv], a)
	}
	var bad []string
	for conv, as := range byConv {
		byRet := slices.Clone(as)
		slices.SortFunc(byRet, func(a, b ack) int { return a.at.Compare(b.at) })
		byCall := slices.Clone(as)
		slices.SortFunc(byCall, func(a, b ack) int { return a.sent.Compare(b.sent) })
		// Sweep the calls in time order, keeping the highest seq returned
		// before the current call.
		var top ack
		i := 0
		for _, b := range byCall {
			for i < len(byRet) && byRet[i].at.Before(b.sent) {
				if byRet[i].seq > top.seq {
					top = byRet[i]
				}
				i++
			}
			if top.seq >= b.seq && len(bad) < 10 {
				bad = append(bad, fmt.Sprintf("%s: %s returned seq %d at %s, before %s was sent (%s), which got seq %d",
					conv, top.id, top.seq, top.at.Format("15:04:05.000"), b.id, b.sent.Format("15:04:05.000"), b.seq))
			}
		}
	}
	return bad
}
