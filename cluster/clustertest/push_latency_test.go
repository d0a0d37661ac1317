package clustertest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// pushBound is how soon after its ack every online member device must
// hold a message, by push or by a resync the server triggers.
const pushBound = 2 * time.Second

// seenLog records, on one device, when each message first reached it
// (an EventMessage: a push, or a fetch during a resync) and when the
// device was disconnected.
type seenLog struct {
	mu      sync.Mutex
	first   map[string]time.Time // conv + "\x00" + client_msg_id → first seen
	offline []span               // the last one open (zero end) while disconnected
}

type span struct{ from, to time.Time }

func (s *seenLog) record(ev client.Event) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Kind {
	case client.EventMessage:
		if ev.Message == nil || ev.Message.ClientMsgID == "" {
			return
		}
		if s.first == nil {
			s.first = map[string]time.Time{}
		}
		k := ev.Conv + "\x00" + ev.Message.ClientMsgID
		if _, ok := s.first[k]; !ok {
			s.first[k] = now
		}
	case client.EventDisconnected:
		if n := len(s.offline); n == 0 || !s.offline[n-1].to.IsZero() {
			s.offline = append(s.offline, span{from: now})
		}
	case client.EventConnected:
		if n := len(s.offline); n > 0 && s.offline[n-1].to.IsZero() {
			s.offline[n-1].to = now
		}
	}
}

// at returns when the device first held the message.
func (s *seenLog) at(conv, id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.first[conv+"\x00"+id]
	return t, ok
}

// onlineThrough reports whether the device was connected for the whole of
// [from, to]: a device offline in that window is not owed a push.
func (s *seenLog) onlineThrough(from, to time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.offline {
		end := sp.to
		if end.IsZero() {
			end = time.Now()
		}
		if sp.from.Before(to) && end.After(from) {
			return false
		}
	}
	return true
}

// pushLatency is, for every acked message (up to `until`) and every member
// device other than the sender's that was online from the ack to the
// bound, the time from the ack to that device first holding it. It logs
// the distribution and fails the test if any exceeds pushBound (or never
// arrived). Call it after w.check: the devices have converged.
func pushLatency(t *testing.T, l *load, w *workload, since, until time.Time) {
	t.Helper()
	l.mu.Lock()
	acks := slices.Clone(l.acks)
	l.mu.Unlock()
	var lat []time.Duration
	var late []string
	skipped := 0
	for _, a := range acks {
		if a.at.Before(since) || a.at.After(until) {
			continue
		}
		sender, _, _ := strings.Cut(a.id, ">")
		for cl, convs := range w.members {
			if cl.User() == sender || !slices.Contains(convs, a.conv) {
				continue
			}
			if !cl.seen.onlineThrough(a.at, a.at.Add(pushBound)) {
				skipped++
				continue
			}
			at, ok := cl.seen.at(a.conv, a.id)
			d := max(at.Sub(a.at), 0)
			if !ok {
				d = time.Hour
			}
			lat = append(lat, d)
			if d > pushBound {
				what := d.Round(time.Millisecond).String()
				if !ok {
					what = "never"
				}
				late = append(late, fmt.Sprintf("%s seq %d (%s) to %s: %s after its ack at %s",
					a.conv, a.seq, a.id, cl.name, what, a.at.Format("15:04:05.000")))
			}
		}
	}
	if len(lat) == 0 {
		t.Fatal("push latency: no (message, online device) pair measured")
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Millisecond)
	}
	t.Logf("PUSH LATENCY ack→recipient device over %d deliveries (%d acked messages; %d pairs skipped: device offline within %s of the ack): p50 %s p90 %s p99 %s max %s; over %s: %d",
		len(lat), countAcks(acks, since, until), skipped, pushBound, q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(time.Millisecond), pushBound, len(late))
	for i, s := range late {
		if i == 20 {
			t.Errorf("... and %d more late deliveries", len(late)-i)
			break
		}
		t.Errorf("late delivery: %s", s)
	}
}

func countAcks(acks []ack, since, until time.Time) int {
	n := 0
	for _, a := range acks {
		if !a.at.Before(since) && !a.at.After(until) {
			n++
		}
	}
	return n
}
