// Package pebble is the embedded Store: one node, no setup, data in a
// directory. Writes go through a durable group commit (commit.go); keys are
// laid out in keys.go.
package pebble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/switchboard-im/switchboard/storage"
)

// Config configures the embedded store. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// Dir is the data directory; created if missing.
	Dir string
	// Limits are the size limits enforced before writing.
	Limits storage.Limits
	// CommitQueue is how many write requests may wait for the committer
	// before callers block (default 8192).
	CommitQueue int
	// MaxGroupOps caps the requests sharing one WAL sync (default 4096).
	MaxGroupOps int
	// MaxGroupBytes caps the size of one group's batch (default 8 MiB).
	MaxGroupBytes int
	// MemTableSize is Pebble's memtable size (default 64 MiB).
	MemTableSize uint64
	// CacheSize is Pebble's block cache size (default 128 MiB).
	CacheSize int64
	// LastSeqCacheSize bounds how many conversations' highest seq the
	// committer remembers to skip existence reads (default 1<<20).
	LastSeqCacheSize int
	// Logger receives Pebble's log lines (default slog.Default()).
	Logger *slog.Logger
	// MinFreeBytes is the free-space floor: below it the store refuses
	// writes with storage.ErrUnavailable (reads go on) and resumes by
	// itself once space is back. Default 2×MemTableSize, room for one
	// memtable flush plus the next WAL; negative disables the check.
	MinFreeBytes int64
	// MonitorInterval is how often the store writes its watermark, checks
	// free space while refusing writes and tries to recover (default
	// 250ms); repeated background errors are logged at most this often.
	MonitorInterval time.Duration
	// Verify selects the checks on open: VerifyFull also reads every table
	// and checks its checksums (about 10 MB of tables a second on a busy
	// 2-core machine); VerifyFiles checks the WAL, that every table exists
	// with its size, and the watermark; VerifyAuto (default) is full up to
	// VerifyFullMaxBytes of tables (default 256 MiB), files above.
	Verify             Verify
	VerifyFullMaxBytes int64
	// FS is the file system (default the OS's); tests inject faults here.
	FS vfs.FS
}

// DefaultConfig returns the defaults for dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:                dir,
		Limits:             storage.DefaultLimits(),
		CommitQueue:        8192,
		MaxGroupOps:        4096,
		MaxGroupBytes:      8 << 20,
		MemTableSize:       64 << 20,
		CacheSize:          128 << 20,
		LastSeqCacheSize:   1 << 20,
		Logger:             slog.Default(),
		MinFreeBytes:       2 * (64 << 20),
		MonitorInterval:    250 * time.Millisecond,
		Verify:             VerifyAuto,
		VerifyFullMaxBytes: 256 << 20,
		FS:                 vfs.Default,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig(c.Dir)
	c.Limits = c.Limits.WithDefaults()
	if c.CommitQueue <= 0 {
		c.CommitQueue = d.CommitQueue
	}
	if c.MaxGroupOps <= 0 {
		c.MaxGroupOps = d.MaxGroupOps
	}
	if c.MaxGroupBytes <= 0 {
		c.MaxGroupBytes = d.MaxGroupBytes
	}
	if c.MemTableSize == 0 {
		c.MemTableSize = d.MemTableSize
	}
	if c.CacheSize <= 0 {
		c.CacheSize = d.CacheSize
	}
	if c.LastSeqCacheSize <= 0 {
		c.LastSeqCacheSize = d.LastSeqCacheSize
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = 2 * int64(c.MemTableSize)
	}
	if c.MonitorInterval <= 0 {
		c.MonitorInterval = d.MonitorInterval
	}
	if c.Verify == "" {
		c.Verify = d.Verify
	}
	if c.VerifyFullMaxBytes <= 0 {
		c.VerifyFullMaxBytes = d.VerifyFullMaxBytes
	}
	if c.FS == nil {
		c.FS = d.FS
	}
	return c
}

// get reads a key from r (the db, or a group batch inside a writeOp); found
// is false when the key does not exist.
func get(r pebble.Reader, k []byte) (val []byte, found bool, err error) {
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val = append([]byte(nil), v...)
	return val, true, closer.Close()
}

func exists(r pebble.Reader, k []byte) (bool, error) {
	_, found, err := get(r, k)
	return found, err
}

// scan calls fn for each key/value in [lower, upper) in order (reverse when
// asked) until fn returns false.
func (s *Store) scan(lower, upper []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	return s.read(func(db *pebble.DB) error { return scanDB(db, lower, upper, reverse, fn) })
}

// sget is get on the current database.
func (s *Store) sget(k []byte) (val []byte, found bool, err error) {
	err = s.read(func(db *pebble.DB) error {
		val, found, err = get(db, k)
		return err
	})
	return val, found, err
}

func scanDB(db *pebble.DB, lower, upper []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	valid := it.First
	next := it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	for ok := valid(); ok; ok = next() {
		more, err := fn(it.Key(), it.Value())
		if err != nil {
			_ = it.Close()
			return err
		}
		if !more {
			break
		}
	}
	return it.Close()
}

// ---- conversations --------------------------------------------------------

func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	if err := s.limits.CheckID("conversation", c.ID); err != nil {
		return err
	}
	if !c.Kind.Valid() {
		return fmt.Errorf("conversation kind %d: %w", c.Kind, storage.ErrInvalid)
	}
	if len(c.Title) > s.limits.MaxPayloadBytes {
		return fmt.Errorf("title is %d bytes, limit %d: %w", len(c.Title), s.limits.MaxPayloadBytes, storage.ErrTooLarge)
	}
	c.Epoch, c.ReservedSeq, c.LastSeq = 0, 0, 0
	c.CreatedAt = storage.Millis(c.CreatedAt)
	k, v := convKey(c.ID), encodeConv(c)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		found, err := exists(b, k)
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("conversation %q: %w", c.ID, storage.ErrExists)
		}
		return b.Set(k, v, nil)
	})
}

func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if err := s.limits.CheckID("conversation", id); err != nil {
		return storage.Conversation{}, err
	}
	v, found, err := s.sget(convKey(id))
	if err != nil {
		return storage.Conversation{}, fmt.Errorf("get conversation %q: %w", id, err)
	}
	if !found {
		return storage.Conversation{}, fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
	}
	c, err := decodeConv(id, v)
	if err != nil {
		return c, fmt.Errorf("conversation %q: %w", id, err)
	}
	p := prefix(tagMessage, id)
	upper := upperBound(p)
	if from, ok := s.unsynced.hideFrom(id); ok {
		upper = messageKey(id, from) // not yet durable
	}
	err = s.scan(p, upper, true, func(k, _ []byte) (bool, error) {
		c.LastSeq = seqSuffix(k)
		return false, nil
	})
	return c, err
}

func seqSuffix(k []byte) uint64 {
	var seq uint64
	for _, b := range k[len(k)-8:] {
		seq = seq<<8 | uint64(b)
	}
	return seq
}

func (s *Store) ListConversations(ctx context.Context, cursor string, limit int) ([]storage.Conversation, string, error) {
	if err := storage.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	lower := []byte{tagConv}
	if cursor != "" {
		lower = append(convKey(cursor), 0) // strictly after the cursor
	}
	var out []storage.Conversation
	err := s.scan(lower, []byte{tagConv + 1}, false, func(k, v []byte) (bool, error) {
		c, err := decodeConv(string(k[1:]), v)
		if err != nil {
			return false, err
		}
		out = append(out, c)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list conversations: %w", err)
	}
	next := ""
	if len(out) == limit {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// updateHead runs fn on a conversation head inside the committer.
func (s *Store) updateHead(ctx context.Context, id string, fn func(c *storage.Conversation) (bool, error)) error {
	if err := s.limits.CheckID("conversation", id); err != nil {
		return err
	}
	k := convKey(id)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
		}
		c, err := decodeConv(id, v)
		if err != nil {
			return err
		}
		changed, err := fn(&c)
		if err != nil || !changed {
			return err
		}
		return b.Set(k, encodeConv(c), nil)
	})
}

func (s *Store) AcquireEpoch(ctx context.Context, id string, seen uint64) (uint64, error) {
	var epoch uint64
	err := s.updateHead(ctx, id, func(c *storage.Conversation) (bool, error) {
		if c.Epoch != seen {
			return false, fmt.Errorf("conversation %q epoch is %d, not %d: %w", id, c.Epoch, seen, storage.ErrEpochLost)
		}
		c.Epoch = seen + 1
		epoch = c.Epoch
		return true, nil
	})
	return epoch, err
}

func (s *Store) ReserveSeqs(ctx context.Context, id string, epoch uint64, upTo uint64) error {
	return s.updateHead(ctx, id, func(c *storage.Conversation) (bool, error) {
		if c.Epoch != epoch {
			return false, fmt.Errorf("conversation %q epoch is %d, not %d: %w", id, c.Epoch, epoch, storage.ErrEpochLost)
		}
		if upTo <= c.ReservedSeq {
			return false, nil
		}
		c.ReservedSeq = upTo
		return true, nil
	})
}

// ---- members --------------------------------------------------------------

func (s *Store) checkPair(a, aID, b, bID string) error {
	if err := s.limits.CheckID(a, aID); err != nil {
		return err
	}
	return s.limits.CheckID(b, bID)
}

func (s *Store) PutMember(ctx context.Context, m storage.Member) error {
	if err := s.checkPair("conversation", m.ConvID, "user", m.UserID); err != nil {
		return err
	}
	if m.Role > storage.RoleAgent {
		return fmt.Errorf("role %d: %w", m.Role, storage.ErrInvalid)
	}
	m.JoinedAt = storage.Millis(m.JoinedAt)
	v := encodeMember(m)
	mk, uk := memberKey(m.ConvID, m.UserID), membershipKey(m.UserID, m.ConvID)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		if err := b.Set(mk, v, nil); err != nil {
			return err
		}
		return b.Set(uk, v, nil)
	})
}

func (s *Store) RemoveMember(ctx context.Context, convID, userID string, leftSeq uint64) error {
	if err := s.checkPair("conversation", convID, "user", userID); err != nil {
		return err
	}
	if leftSeq == 0 {
		return fmt.Errorf("left seq 0: %w", storage.ErrInvalid)
	}
	mk, uk := memberKey(convID, userID), membershipKey(userID, convID)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, mk)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("member %q of %q: %w", userID, convID, storage.ErrNotFound)
		}
		m, err := decodeMember(convID, userID, v)
		if err != nil {
			return err
		}
		m.LeftSeq = leftSeq
		v = encodeMember(m)
		if err := b.Set(mk, v, nil); err != nil {
			return err
		}
		return b.Set(uk, v, nil)
	})
}

func (s *Store) GetMember(ctx context.Context, convID, userID string) (storage.Member, error) {
	if err := s.checkPair("conversation", convID, "user", userID); err != nil {
		return storage.Member{}, err
	}
	v, found, err := s.sget(memberKey(convID, userID))
	if err != nil {
		return storage.Member{}, fmt.Errorf("get member: %w", err)
	}
	if !found {
		return storage.Member{}, fmt.Errorf("member %q of %q: %w", userID, convID, storage.ErrNotFound)
	}
	return decodeMember(convID, userID, v)
}

// listAfter pages the keys below prefix p whose last part is after `after`,
// decoding each with fn.
func (s *Store) listAfter(p []byte, after string, limit int, fn func(last string, v []byte) error) error {
	if err := storage.CheckLimit(limit); err != nil {
		return err
	}
	lower := p
	if after != "" {
		lower = append(append(append([]byte(nil), p...), after...), 0)
	}
	n := 0
	return s.scan(lower, upperBound(p), false, func(k, v []byte) (bool, error) {
		if err := fn(string(k[len(p):]), v); err != nil {
			return false, err
		}
		n++
		return n < limit, nil
	})
}

func (s *Store) ListMembers(ctx context.Context, convID, afterUser string, limit int) ([]storage.Member, error) {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return nil, err
	}
	var out []storage.Member
	err := s.listAfter(prefix(tagMember, convID), afterUser, limit, func(user string, v []byte) error {
		m, err := decodeMember(convID, user, v)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %q: %w", convID, err)
	}
	return out, nil
}

func (s *Store) ListMemberships(ctx context.Context, userID, afterConv string, limit int) ([]storage.Member, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	var out []storage.Member
	err := s.listAfter(prefix(tagMembership, userID), afterConv, limit, func(conv string, v []byte) error {
		m, err := decodeMember(conv, userID, v)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list memberships of %q: %w", userID, err)
	}
	return out, nil
}

// ---- messages -------------------------------------------------------------

// appendMessagesOp encodes the batch on the caller's goroutine and returns
// the op that checks and writes it on the committer.
// With epoch > 0 the op also checks, serialised with AcquireEpoch, that the
// epoch is still the conversation's and the seqs are reserved; the per-row
// seq check stays (it is cheap here).
func (s *Store) appendMessagesOp(convID string, epoch uint64, msgs []storage.Message) (writeOp, *appendInfo, error) {
	if err := s.limits.CheckMessages(convID, msgs); err != nil {
		return nil, nil, err
	}
	type kv struct{ k, v []byte }
	rows := make([]kv, 0, len(msgs))
	var dedupe []kv
	for i := range msgs {
		m := msgs[i]
		m.ClientTS, m.ServerTS = storage.Millis(m.ClientTS), storage.Millis(m.ServerTS)
		rows = append(rows, kv{messageKey(convID, m.Seq), encodeMessage(&m)})
		if m.ClientMsgID != "" {
			dedupe = append(dedupe, kv{dedupeKey(convID, m.Sender, m.ClientMsgID), appendUint64(nil, m.Seq)})
		}
	}
	var batchMax uint64
	for i := range msgs {
		batchMax = max(batchMax, msgs[i].Seq)
	}
	op := func(b *pebble.Batch) error {
		if epoch > 0 {
			if err := checkEpoch(b, convID, epoch, batchMax); err != nil {
				return err
			}
		}
		last, err := s.lastSeqs.get(b, convID)
		if err != nil {
			return err
		}
		for i, r := range rows {
			if msgs[i].Seq > last {
				continue // above everything stored: cannot exist
			}
			found, err := exists(b, r.k)
			if err != nil {
				return err
			}
			if found {
				return fmt.Errorf("conversation %q seq %d: %w", convID, msgs[i].Seq, storage.ErrSeqExists)
			}
		}
		s.lastSeqs.raise(convID, batchMax)
		for _, r := range rows {
			if err := b.Set(r.k, r.v, nil); err != nil {
				return err
			}
		}
		for _, r := range dedupe {
			if err := b.Set(r.k, r.v, nil); err != nil {
				return err
			}
		}
		return nil
	}
	app := &appendInfo{conv: convID, first: ^uint64(0), undo: make([][]byte, 0, len(rows)+len(dedupe))}
	for i, r := range rows {
		app.first = min(app.first, msgs[i].Seq)
		app.undo = append(app.undo, r.k)
	}
	for _, r := range dedupe {
		app.undo = append(app.undo, r.k)
	}
	return op, app, nil
}

// checkEpoch fails an epoch-fenced append whose epoch moved on
// (ErrEpochLost) or that writes above the reservation (ErrInvalid).
func checkEpoch(b *pebble.Batch, convID string, epoch, maxSeq uint64) error {
	v, found, err := get(b, convKey(convID))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("append to %q with epoch %d: no conversation head: %w", convID, epoch, storage.ErrEpochLost)
	}
	c, err := decodeConv(convID, v)
	if err != nil {
		return err
	}
	if c.Epoch != epoch {
		return fmt.Errorf("append to %q: epoch is %d, not %d: %w", convID, c.Epoch, epoch, storage.ErrEpochLost)
	}
	if maxSeq > c.ReservedSeq {
		return fmt.Errorf("append to %q: seq %d above the reservation %d: %w", convID, maxSeq, c.ReservedSeq, storage.ErrInvalid)
	}
	return nil
}

func (s *Store) AppendMessages(ctx context.Context, convID string, epoch uint64, msgs []storage.Message) error {
	ch := make(chan error, 1)
	s.AppendMessagesAsync(ctx, convID, epoch, msgs, func(err error) { ch <- err })
	return <-ch
}

func (s *Store) AppendMessagesAsync(ctx context.Context, convID string, epoch uint64, msgs []storage.Message, done func(error)) {
	op, app, err := s.appendMessagesOp(convID, epoch, msgs)
	if err != nil {
		done(err)
		return
	}
	s.commit.submit(ctx, op, app, done)
}

func (s *Store) GetMessage(ctx context.Context, convID string, seq uint64) (storage.Message, error) {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return storage.Message{}, err
	}
	v, found, err := s.sget(messageKey(convID, seq))
	if err != nil {
		return storage.Message{}, fmt.Errorf("get message: %w", err)
	}
	if from, ok := s.unsynced.hideFrom(convID); ok && seq >= from {
		found = false // not yet durable
	}
	if !found {
		return storage.Message{}, fmt.Errorf("conversation %q seq %d: %w", convID, seq, storage.ErrNotFound)
	}
	return decodeMessage(convID, seq, v)
}

func (s *Store) ListMessages(ctx context.Context, convID string, fromSeq, toSeq uint64, order storage.Order, limit int) ([]storage.Message, error) {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	p := prefix(tagMessage, convID)
	lower := messageKey(convID, fromSeq)
	upper := upperBound(p)
	if toSeq != 0 {
		if toSeq < fromSeq {
			return nil, nil
		}
		if toSeq < ^uint64(0) {
			upper = messageKey(convID, toSeq+1)
		}
	}
	if from, ok := s.unsynced.hideFrom(convID); ok {
		if from <= fromSeq {
			return nil, nil
		}
		if toSeq == 0 || toSeq >= from {
			upper = messageKey(convID, from) // not yet durable
		}
	}
	var out []storage.Message
	err := s.scan(lower, upper, order == storage.NewestFirst, func(k, v []byte) (bool, error) {
		m, err := decodeMessage(convID, seqSuffix(k), v)
		if err != nil {
			return false, err
		}
		out = append(out, m)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", convID, err)
	}
	return out, nil
}

func (s *Store) FindByClientMsgID(ctx context.Context, convID, sender, clientMsgID string) (storage.Message, error) {
	if err := s.checkPair("conversation", convID, "sender", sender); err != nil {
		return storage.Message{}, err
	}
	if err := s.limits.CheckID("client message", clientMsgID); err != nil {
		return storage.Message{}, err
	}
	v, found, err := s.sget(dedupeKey(convID, sender, clientMsgID))
	if err != nil {
		return storage.Message{}, fmt.Errorf("find client message: %w", err)
	}
	if !found || len(v) != 8 {
		return storage.Message{}, fmt.Errorf("client message %q of %q in %q: %w", clientMsgID, sender, convID, storage.ErrNotFound)
	}
	return s.GetMessage(ctx, convID, seqSuffix(v))
}

func (s *Store) TombstoneMessage(ctx context.Context, convID string, seq uint64) error {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return err
	}
	k := messageKey(convID, seq)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("conversation %q seq %d: %w", convID, seq, storage.ErrNotFound)
		}
		m, err := decodeMessage(convID, seq, v)
		if err != nil {
			return err
		}
		if m.Recalled() {
			return nil
		}
		m.Flags |= storage.FlagRecalled
		m.Body = nil
		return b.Set(k, encodeMessage(&m), nil)
	})
}

// ---- user-conversation state ----------------------------------------------

func (s *Store) GetUserConv(ctx context.Context, userID, convID string) (storage.UserConv, error) {
	if err := s.checkPair("user", userID, "conversation", convID); err != nil {
		return storage.UserConv{}, err
	}
	var u storage.UserConv
	err := s.read(func(db *pebble.DB) error {
		var err error
		u, _, err = loadUserConv(db, userID, convID)
		return err
	})
	return u, err
}

func loadUserConv(r pebble.Reader, userID, convID string) (storage.UserConv, bool, error) {
	v, found, err := get(r, userConvKey(userID, convID))
	if err != nil || !found {
		return storage.UserConv{UserID: userID, ConvID: convID}, false, err
	}
	u, err := decodeUserConv(userID, convID, v)
	return u, true, err
}

// updateUserConv applies fn to the user's state of a conversation and keeps
// the activity index in step with it.
func (s *Store) updateUserConv(ctx context.Context, userID, convID string, fn func(u *storage.UserConv) bool) (storage.UserConv, error) {
	if err := s.checkPair("user", userID, "conversation", convID); err != nil {
		return storage.UserConv{}, err
	}
	var result storage.UserConv
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		old, found, err := loadUserConv(b, userID, convID)
		if err != nil {
			return err
		}
		u := old
		if !fn(&u) && found {
			result = old
			return nil
		}
		result = u
		if found && !old.LastActivity.Equal(u.LastActivity) {
			if err := b.Delete(activityKey(userID, old.LastActivity, convID), nil); err != nil {
				return err
			}
		}
		if !found || !old.LastActivity.Equal(u.LastActivity) {
			if err := b.Set(activityKey(userID, u.LastActivity, convID), nil, nil); err != nil {
				return err
			}
		}
		return b.Set(userConvKey(userID, convID), encodeUserConv(u), nil)
	})
	return result, err
}

func (s *Store) AdvanceReadCursor(ctx context.Context, userID, convID string, seq uint64) (uint64, error) {
	u, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		if seq <= u.ReadSeq {
			return false
		}
		u.ReadSeq = seq
		return true
	})
	return u.ReadSeq, err
}

func (s *Store) SetPinned(ctx context.Context, userID, convID string, pinned bool) error {
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := u.Pinned != pinned
		u.Pinned = pinned
		return changed
	})
	return err
}

func (s *Store) SetMuted(ctx context.Context, userID, convID string, muted bool) error {
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := u.Muted != muted
		u.Muted = muted
		return changed
	})
	return err
}

func (s *Store) TouchConversation(ctx context.Context, userID, convID string, at time.Time) error {
	at = storage.Millis(at)
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		if !at.After(u.LastActivity) {
			return false
		}
		u.LastActivity = at
		return true
	})
	return err
}

func (s *Store) ListUserConvs(ctx context.Context, userID string, after storage.ActivityCursor, limit int) ([]storage.UserConv, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	p := prefix(tagActivity, userID)
	lower := p
	if after.ConvID != "" {
		lower = append(activityKey(userID, after.At, after.ConvID), 0)
	}
	var out []storage.UserConv
	err := s.read(func(db *pebble.DB) error {
		return scanDB(db, lower, upperBound(p), false, func(k, _ []byte) (bool, error) {
			convID := string(k[len(p)+8:])
			u, _, err := loadUserConv(db, userID, convID)
			if err != nil {
				return false, err
			}
			out = append(out, u)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list conversations of %q: %w", userID, err)
	}
	return out, nil
}

// ---- inbox and devices ----------------------------------------------------

func (s *Store) AppendInbox(ctx context.Context, userID string, entries []storage.InboxEntry) error {
	if err := s.limits.CheckInbox(userID, entries); err != nil {
		return err
	}
	keys := make([][]byte, len(entries))
	vals := make([][]byte, len(entries))
	for i := range entries {
		e := entries[i]
		e.At = storage.Millis(e.At)
		keys[i], vals[i] = inboxKey(userID, e.Seq), encodeInbox(&e)
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		for i, k := range keys {
			found, err := exists(b, k)
			if err != nil {
				return err
			}
			if found {
				return fmt.Errorf("inbox of %q seq %d: %w", userID, entries[i].Seq, storage.ErrSeqExists)
			}
		}
		for i, k := range keys {
			if err := b.Set(k, vals[i], nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) ListInbox(ctx context.Context, userID string, after uint64, limit int) ([]storage.InboxEntry, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	if after == ^uint64(0) {
		return nil, nil
	}
	p := prefix(tagInbox, userID)
	var out []storage.InboxEntry
	err := s.scan(inboxKey(userID, after+1), upperBound(p), false, func(k, v []byte) (bool, error) {
		e, err := decodeInbox(userID, seqSuffix(k), v)
		if err != nil {
			return false, err
		}
		out = append(out, e)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list inbox of %q: %w", userID, err)
	}
	return out, nil
}

func (s *Store) LastInboxSeq(ctx context.Context, userID string) (uint64, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return 0, err
	}
	p := prefix(tagInbox, userID)
	var last uint64
	err := s.scan(p, upperBound(p), true, func(k, _ []byte) (bool, error) {
		last = seqSuffix(k)
		return false, nil
	})
	return last, err
}

func (s *Store) SetDeviceCursor(ctx context.Context, userID, deviceID string, cursor uint64, seen time.Time) (uint64, error) {
	if err := s.checkPair("user", userID, "device", deviceID); err != nil {
		return 0, err
	}
	seen = storage.Millis(seen)
	k := deviceKey(userID, deviceID)
	var result uint64
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		d := storage.Device{UserID: userID, DeviceID: deviceID}
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if found {
			if d, err = decodeDevice(userID, deviceID, v); err != nil {
				return err
			}
		}
		if cursor > d.Cursor {
			d.Cursor = cursor
		}
		if seen.After(d.LastSeen) {
			d.LastSeen = seen
		}
		result = d.Cursor
		return b.Set(k, encodeDevice(d), nil)
	})
	return result, err
}

func (s *Store) GetDevice(ctx context.Context, userID, deviceID string) (storage.Device, error) {
	if err := s.checkPair("user", userID, "device", deviceID); err != nil {
		return storage.Device{}, err
	}
	v, found, err := s.sget(deviceKey(userID, deviceID))
	if err != nil {
		return storage.Device{}, fmt.Errorf("get device: %w", err)
	}
	if !found {
		return storage.Device{}, fmt.Errorf("device %q of %q: %w", deviceID, userID, storage.ErrNotFound)
	}
	return decodeDevice(userID, deviceID, v)
}

func (s *Store) ListDevices(ctx context.Context, userID string) ([]storage.Device, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	p := prefix(tagDevice, userID)
	var out []storage.Device
	err := s.scan(p, upperBound(p), false, func(k, v []byte) (bool, error) {
		d, err := decodeDevice(userID, string(k[len(p):]), v)
		out = append(out, d)
		return true, err
	})
	if err != nil {
		return nil, fmt.Errorf("list devices of %q: %w", userID, err)
	}
	return out, nil
}

// ---- metrics checkpoints --------------------------------------------------

func (s *Store) SaveCheckpoint(ctx context.Context, cp storage.Checkpoint) error {
	if err := s.limits.CheckID("checkpoint", cp.Key); err != nil {
		return err
	}
	for conv := range cp.ConvSeqs {
		if err := s.limits.CheckID("conversation", conv); err != nil {
			return err
		}
	}
	cp.At = storage.Millis(cp.At)
	k, v := checkpointKey(cp.Key), encodeCheckpoint(cp)
	return s.commit.do(ctx, func(b *pebble.Batch) error { return b.Set(k, v, nil) })
}

func (s *Store) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	if err := s.limits.CheckID("checkpoint", key); err != nil {
		return storage.Checkpoint{}, err
	}
	v, found, err := s.sget(checkpointKey(key))
	if err != nil {
		return storage.Checkpoint{}, fmt.Errorf("load checkpoint: %w", err)
	}
	if !found {
		return storage.Checkpoint{}, fmt.Errorf("checkpoint %q: %w", key, storage.ErrNotFound)
	}
	return decodeCheckpoint(key, v)
}

// slogLogger adapts Pebble's logger to slog; errors repeating the same
// format are logged at most once per interval.
type slogLogger struct {
	l *slog.Logger
	t *throttle
}

func (s slogLogger) Infof(format string, args ...any) {
	s.l.Debug(fmt.Sprintf(format, args...))
}
func (s slogLogger) Errorf(format string, args ...any) {
	s.t.log(s.l, slog.LevelError, format, fmt.Sprintf(format, args...))
}
func (s slogLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.l.Error(msg)
	panic(fatalPanic(msg))
}

// fatalPanic is what Fatalf panics with. Pebble calls Fatalf without
// holding its commit lock when a commit fails, so the committer can close
// and reopen the database; any other panic in a commit (Pebble panics on a
// WAL write error while holding that lock) leaves a restart as the only way.
type fatalPanic string
