package cql

import "sync"

// maxCache remembers, per (user, conversation or device), the highest
// value of a max-wins column this store wrote or read: the last activity
// (milliseconds), so TouchConversation skips a touch that would not move
// anything; the read and device cursors, so raising them needs no read
// for the resulting value. The user grain is the single writer of these
// rows, so on its node the memory is exact. Bounded: when full it is
// cleared (a forgotten activity costs one redundant write, a forgotten
// cursor one read).
type maxCache struct {
	mu  sync.Mutex
	m   map[[2]string]int64
	max int
}

func newMaxCache(max int) *maxCache {
	return &maxCache{m: map[[2]string]int64{}, max: max}
}

func (c *maxCache) get(userID, convID string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[[2]string{userID, convID}]
	return v, ok
}

func (c *maxCache) raise(userID, convID string, ms int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{userID, convID}
	if v, ok := c.m[k]; ok {
		c.m[k] = max(v, ms)
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = ms
}
