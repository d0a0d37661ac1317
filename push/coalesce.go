package push

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Message is one message that reached an offline recipient.
type Message struct {
	User     string
	Conv     string
	Seq      uint64
	From     string
	Text     string
	Words    Words // Text is the node's words (a missed call), or what the sender wrote (none)
	Recalled bool
	Badge    int // the user's total unread after this message
	// ExpiresAtMs: the message disappears then (Unix ms); 0: it stays.
	ExpiresAtMs int64
}

// Coalescer merges the messages of one (user, conversation) within Interval
// into one Notification with a count, the newest badge and preview. A
// recalled message never contributes its text; Recall takes a pending
// message out of its notification (the count drops, the preview goes if
// it was that message's) and a notification left with none is not sent.
// A notification expires with the last of its messages to disappear, and
// never while one of them stays.
type Coalescer struct {
	Interval time.Duration
	// Flush receives each merged notification (without tokens).
	Flush func(Notification)

	mu      sync.Mutex
	pending map[string]*Notification
	seqs    map[string][]uint64 // the pending messages of each key
	timers  map[string]*time.Timer
	stopped bool
}

func key(user, conv string) string { return user + "\x00" + conv }

// Add queues m; the first message of a key starts its interval.
func (c *Coalescer) Add(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	if c.pending == nil {
		c.pending, c.timers, c.seqs = map[string]*Notification{}, map[string]*time.Timer{}, map[string][]uint64{}
	}
	k := key(m.User, m.Conv)
	n := c.pending[k]
	if n == nil {
		n = &Notification{User: m.User, Conv: m.Conv}
		c.pending[k] = n
		c.timers[k] = time.AfterFunc(c.Interval, func() { c.fire(k) })
	}
	if slices.Contains(c.seqs[k], m.Seq) {
		return // a repeated delivery
	}
	c.seqs[k] = append(c.seqs[k], m.Seq)
	switch {
	case n.Count == 0:
		n.ExpiresAtMs = m.ExpiresAtMs
	case n.ExpiresAtMs == 0 || m.ExpiresAtMs == 0:
		n.ExpiresAtMs = 0 // something stays
	default:
		n.ExpiresAtMs = max(n.ExpiresAtMs, m.ExpiresAtMs)
	}
	n.Count++
	if m.Seq >= n.Seq {
		n.Seq, n.Badge, n.From, n.Text, n.LocKey, n.LocArgs = m.Seq, m.Badge, m.From, m.Text, m.Words.Key, m.Words.Args
		if m.Recalled {
			n.Text, n.LocKey, n.LocArgs = "", "", nil
		}
	}
}

// Recall takes seq out of its pending notification, if any: the count
// drops, the preview goes if it showed seq, and a notification left with
// no message is not sent at all. It reports whether seq was pending.
func (c *Coalescer) Recall(user, conv string, seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(user, conv)
	n := c.pending[k]
	i := slices.Index(c.seqs[k], seq)
	if n == nil || i < 0 {
		return false
	}
	c.seqs[k] = slices.Delete(c.seqs[k], i, i+1)
	n.Count--
	if n.Seq == seq {
		n.Text, n.LocKey, n.LocArgs = "", "", nil
	}
	if n.Count <= 0 {
		c.timers[k].Stop()
		delete(c.pending, k)
		delete(c.timers, k)
		delete(c.seqs, k)
	}
	return true
}

// Pending is how many notifications wait for their interval to end.
func (c *Coalescer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Stop drops every pending notification and refuses new ones.
func (c *Coalescer) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for k, t := range c.timers {
		t.Stop()
		delete(c.timers, k)
	}
	c.pending, c.seqs = nil, nil
}

func (c *Coalescer) fire(k string) {
	c.mu.Lock()
	n := c.pending[k]
	delete(c.pending, k)
	delete(c.timers, k)
	delete(c.seqs, k)
	c.mu.Unlock()
	if n != nil && c.Flush != nil {
		n.ID = fmt.Sprintf("push/%s/%s/%d", n.User, n.Conv, n.Seq)
		c.Flush(*n)
	}
}
