package pebblestore

import (
	"github.com/cockroachdb/pebble/v2"
)

// lastSeqCache remembers the highest stored seq of recently written
// conversations (or inboxes) so that an append above it skips the
// existence read (a memtable seek that otherwise dominates the append
// cost). It is used only on the committer goroutine, which performs every
// write of its log, so an entry is never lower than the truth; an entry that is too high (a group
// whose commit failed) only costs a read. It is cleared when full rather
// than evicting one by one: reloading is one reverse seek per conversation.
type lastSeqCache struct {
	tag   byte // the log's key tag: tagMessage or tagInbox
	seqs  map[string]uint64
	limit int
}

func newLastSeqCache(tag byte, limit int) *lastSeqCache {
	return &lastSeqCache{tag: tag, seqs: make(map[string]uint64), limit: limit}
}

// get returns the highest seq stored for conv, reading it through r (the
// group's indexed batch) when not cached.
func (c *lastSeqCache) get(r pebble.Reader, conv string) (uint64, error) {
	if last, ok := c.seqs[conv]; ok {
		return last, nil
	}
	p := prefix(c.tag, conv)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err != nil {
		return 0, err
	}
	var last uint64
	if it.Last() {
		last = seqSuffix(it.Key())
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	c.put(conv, last)
	return last, nil
}

func (c *lastSeqCache) raise(conv string, seq uint64) {
	if seq > c.seqs[conv] {
		c.put(conv, seq)
	}
}

func (c *lastSeqCache) put(conv string, seq uint64) {
	if _, ok := c.seqs[conv]; !ok && len(c.seqs) >= c.limit {
		clear(c.seqs)
	}
	c.seqs[conv] = seq
}
