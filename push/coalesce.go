package push

import (
	"fmt"
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
	Recalled bool
	Badge    int // the user's total unread after this message
}

// Coalescer merges the messages of one (user, conversation) within Interval
// into one Notification with a count, the newest badge and preview. A
// recalled message never contributes its text; Recall also strips the text
// of a pending notification whose preview was the recalled message.
type Coalescer struct {
	Interval time.Duration
	// Flush receives each merged notification (without tokens).
	Flush func(Notification)

	mu      sync.Mutex
	pending map[string]*Notification
	timers  map[string]*time.Timer
}

func key(user, conv string) string { return user + "\x00" + conv }

// Add queues m; the first message of a key starts its interval.
func (c *Coalescer) Add(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending, c.timers = map[string]*Notification{}, map[string]*time.Timer{}
	}
	k := key(m.User, m.Conv)
	n := c.pending[k]
	if n == nil {
		n = &Notification{User: m.User, Conv: m.Conv}
		c.pending[k] = n
		c.timers[k] = time.AfterFunc(c.Interval, func() { c.fire(k) })
	}
	n.Count++
	if m.Seq >= n.Seq {
		n.Seq, n.Badge, n.From, n.Text = m.Seq, m.Badge, m.From, m.Text
		if m.Recalled {
			n.Text = ""
		}
	}
}

// Recall drops the preview of a pending notification showing seq.
func (c *Coalescer) Recall(user, conv string, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.pending[key(user, conv)]; n != nil && n.Seq == seq {
		n.Text = ""
	}
}

func (c *Coalescer) fire(k string) {
	c.mu.Lock()
	n := c.pending[k]
	delete(c.pending, k)
	delete(c.timers, k)
	c.mu.Unlock()
	if n != nil && c.Flush != nil {
		n.ID = fmt.Sprintf("push/%s/%s/%d", n.User, n.Conv, n.Seq)
		c.Flush(*n)
	}
}
