package cql

import "sync"

// activityCache remembers the last activity (milliseconds) this store wrote
// per user and conversation, so TouchConversation can delete the index
// entry it replaces without reading it, and skip a touch that would not
// move anything. Bounded: when full it is cleared (a forgotten entry costs
// one stale index entry, removed by the next ListUserConvs that meets it).
type activityCache struct {
	mu  sync.Mutex
	m   map[[2]string]int64
	max int
}

func newActivityCache(max int) *activityCache {
	return &activityCache{m: map[[2]string]int64{}, max: max}
}

func (c *activityCache) get(userID, convID string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[[2]string{userID, convID}]
	return v, ok
}

func (c *activityCache) raise(userID, convID string, ms int64) {
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
