package pebblestore

import (
	"slices"
	"sync"
)

// appendInfo describes a message append for the committer.
type appendInfo struct {
	conv  string
	first uint64   // lowest seq of the batch
	undo  [][]byte // keys to delete if the WAL write fails (rows may have reached the file)
}

// unsynced hides messages that are applied (ApplyNoSyncWait makes them
// visible in the memtable) but whose WAL sync has not completed: readers
// see a message only once it is durable, and never one whose sync fails.
// A conversation's messages from the lowest seq of its first unsynced
// batch on are hidden; that is conservative (a durable message above an
// unsynced one waits for it), never wrong, and lasts one fsync.
type unsynced struct {
	mu   sync.RWMutex
	from map[string][]uint64 // conv → lowest seq of each unsynced batch
}

func newUnsynced() *unsynced { return &unsynced{from: map[string][]uint64{}} }

func (u *unsynced) add(apps []*appendInfo) {
	if len(apps) == 0 {
		return
	}
	u.mu.Lock()
	for _, a := range apps {
		u.from[a.conv] = append(u.from[a.conv], a.first)
	}
	u.mu.Unlock()
}

func (u *unsynced) remove(apps []*appendInfo) {
	if len(apps) == 0 {
		return
	}
	u.mu.Lock()
	for _, a := range apps {
		l := u.from[a.conv]
		if i := slices.Index(l, a.first); i >= 0 {
			l = slices.Delete(l, i, i+1)
		}
		if len(l) == 0 {
			delete(u.from, a.conv)
		} else {
			u.from[a.conv] = l
		}
	}
	u.mu.Unlock()
}

func (u *unsynced) clear() {
	u.mu.Lock()
	clear(u.from)
	u.mu.Unlock()
}

// hideFrom returns the lowest seq of conv that readers must not see yet.
func (u *unsynced) hideFrom(conv string) (uint64, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	l, ok := u.from[conv]
	if !ok {
		return 0, false
	}
	return slices.Min(l), true
}
