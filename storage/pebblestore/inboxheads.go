package pebblestore

import "github.com/cockroachdb/pebble/v2"

// inboxHeadCache mirrors the inbox heads (epoch, reservation) that the
// committer's ops read and write, so that a WriteUser checks its epoch
// without a memtable read per flush. Only ops touch it, on the committer
// goroutine, and an op puts a head only once its batch write succeeded:
// an entry is what a read of the group's batch would return. A group
// that fails after its ops ran, and the reopen after a failed WAL, clear
// it (it may hold writes the database lost); a missing entry is read.
type inboxHeadCache struct {
	heads map[string]inboxHead
	limit int
}

func newInboxHeadCache(limit int) *inboxHeadCache {
	return &inboxHeadCache{heads: make(map[string]inboxHead), limit: limit}
}

// get returns user's inbox head, reading it through r (the group's
// indexed batch) when not cached.
func (c *inboxHeadCache) get(r pebble.Reader, user string) (inboxHead, error) {
	if h, ok := c.heads[user]; ok {
		return h, nil
	}
	h, err := loadInboxHead(r, user)
	if err != nil {
		return inboxHead{}, err
	}
	c.put(user, h)
	return h, nil
}

// put records the head an op just wrote (or read).
func (c *inboxHeadCache) put(user string, h inboxHead) {
	if _, ok := c.heads[user]; !ok && len(c.heads) >= c.limit {
		clear(c.heads) // bounded memory; a cleared head is read again
	}
	c.heads[user] = h
}

func (c *inboxHeadCache) clear() { clear(c.heads) }
