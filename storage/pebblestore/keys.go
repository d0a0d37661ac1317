package pebblestore

import (
	"encoding/binary"
)

// Key encodings. Every key starts with a one-byte table tag; ids are
// separated by a 0x00 byte (ids never contain NUL: storage.Limits.CheckID),
// numbers are 8-byte big-endian, so byte order equals logical order and every
// list operation is a single forward (or reverse) iteration over one prefix.
//
//	tag  key                                         value
//	'c'  c conv                                      conversation head
//	'm'  m conv 0 user                               member
//	'M'  M user 0 conv                               member (by user; written with 'm')
//	's'  s conv 0 seq(8)                             message
//	'u'  u user 0 conv                               user-conversation state
//	'i'  i user 0 inbox_seq(8)                       inbox entry
//	'v'  v user 0 device                             device cursor
//	'p'  p user 0 device                             push token: platform, token, updated (pushtoken.go)
//	'I'  I user                                      inbox head: epoch(8) reserved(8) (userwrite.go)
//	'e'  e conv 0 media                              media: uploader, name, type, size, complete (media.go)
//	'E'  E conv 0 media 0 chunk(8)                   media chunk
//	'o'  o hour(8) conv 0 media                      upload no message carries yet (media.go)
//	'h'  h user 0 id                                 scheduled send: due, created, send (scheduled.go)
//	'H'  H due_ms(8) user 0 id                       scheduled send, by when it is due
//	'k'  k key                                       metrics checkpoint
//	'f'  f key                                       checkpoint fence: epoch(8) (fence.go)
//	'x'  x name                                      store metadata (the commit counter)
const (
	tagConv       = 'c'
	tagMember     = 'm'
	tagMembership = 'M'
	tagMessage    = 's'
	// 'd' was a client-id lookup, retired: nothing read it (the grains
	// dedupe from the recent log), and every append paid its write.
	tagUserConv = 'u'
	// 'a' was an activity index (conversations by last activity), retired:
	// the user grain orders its list in memory, and every touch paid a
	// delete and a write for it. Stores written before keep dead 'a' keys.
	tagInbox      = 'i'
	tagDevice     = 'v'
	tagPushToken  = 'p'
	tagMedia      = 'e'
	tagMediaChunk = 'E'
	tagMediaOpen  = 'o'
	tagScheduled  = 'h'
	tagSchedDue   = 'H'
	tagCheckpoint = 'k'
	tagFence      = 'f'
	tagMeta       = 'x'
)

// metaCommitKey holds the counter of the last applied commit group; the
// store's watermark file records the last acknowledged one, so a WAL that
// lost acknowledged groups is detected on open (damage.go).
var metaCommitKey = key(tagMeta, "commit")

// key builds a key from a tag and parts; strings are joined by 0x00.
func key(tag byte, parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n+8)
	k = append(k, tag)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// prefix is key(tag, parts...) followed by the separator, the common prefix
// of every key below that path.
func prefix(tag byte, parts ...string) []byte {
	return append(key(tag, parts...), 0)
}

func appendUint64(k []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(k, v)
}

func convKey(conv string) []byte             { return key(tagConv, conv) }
func memberKey(conv, user string) []byte     { return key(tagMember, conv, user) }
func membershipKey(user, conv string) []byte { return key(tagMembership, user, conv) }
func messageKey(conv string, seq uint64) []byte {
	return appendUint64(prefix(tagMessage, conv), seq)
}
func userConvKey(user, conv string) []byte    { return key(tagUserConv, user, conv) }
func inboxKey(user string, seq uint64) []byte { return appendUint64(prefix(tagInbox, user), seq) }
func deviceKey(user, device string) []byte    { return key(tagDevice, user, device) }
func checkpointKey(k string) []byte           { return key(tagCheckpoint, k) }

// upperBound returns the smallest key greater than every key with prefix p.
func upperBound(p []byte) []byte {
	ub := append([]byte(nil), p...)
	for i := len(ub) - 1; i >= 0; i-- {
		if ub[i] < 0xff {
			ub[i]++
			return ub[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
