package storage

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits are the size limits every backend enforces before writing.
type Limits struct {
	// MaxBodyBytes is the largest message body accepted (default 64 KiB).
	MaxBodyBytes int
	// MaxIDBytes is the longest user, device, conversation, client message
	// or checkpoint id accepted (default 128 bytes).
	MaxIDBytes int
	// MaxPayloadBytes is the largest inbox entry payload (default 4 KiB).
	MaxPayloadBytes int
	// MaxBatch is the most messages or inbox entries in one append (default 1024).
	MaxBatch int
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{MaxBodyBytes: 64 << 10, MaxIDBytes: 128, MaxPayloadBytes: 4 << 10, MaxBatch: 1024}
}

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxIDBytes <= 0 {
		l.MaxIDBytes = d.MaxIDBytes
	}
	if l.MaxPayloadBytes <= 0 {
		l.MaxPayloadBytes = d.MaxPayloadBytes
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = d.MaxBatch
	}
	return l
}

// CheckID rejects empty, over-long, non-UTF-8 ids and ids holding a NUL byte
// (backends use NUL as a key separator).
func (l Limits) CheckID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%s id is empty: %w", what, ErrInvalid)
	case len(id) > l.MaxIDBytes:
		return fmt.Errorf("%s id is %d bytes, limit %d: %w", what, len(id), l.MaxIDBytes, ErrInvalid)
	case !utf8.ValidString(id):
		return fmt.Errorf("%s id is not UTF-8: %w", what, ErrInvalid)
	}
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return fmt.Errorf("%s id contains a NUL byte: %w", what, ErrInvalid)
		}
	}
	return nil
}

// CheckOptionalID is CheckID that accepts the empty id.
func (l Limits) CheckOptionalID(what, id string) error {
	if id == "" {
		return nil
	}
	return l.CheckID(what, id)
}

// CheckMessages validates a batch for AppendMessages.
func (l Limits) CheckMessages(convID string, msgs []Message) error {
	if err := l.CheckID("conversation", convID); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return fmt.Errorf("empty message batch: %w", ErrInvalid)
	}
	if len(msgs) > l.MaxBatch {
		return fmt.Errorf("batch of %d messages, limit %d: %w", len(msgs), l.MaxBatch, ErrTooLarge)
	}
	var seen map[uint64]struct{} // only for batches that are not ascending
	for i := range msgs {
		m := &msgs[i]
		if m.ConvID != "" && m.ConvID != convID {
			return fmt.Errorf("message %d belongs to %q, not %q: %w", i, m.ConvID, convID, ErrInvalid)
		}
		if m.Seq == 0 {
			return fmt.Errorf("message %d has seq 0: %w", i, ErrInvalid)
		}
		if err := checkSeqUnique(msgs, i, &seen); err != nil {
			return err
		}
		if err := l.CheckID("sender", m.Sender); err != nil {
			return err
		}
		if err := l.CheckOptionalID("client message", m.ClientMsgID); err != nil {
			return err
		}
		if len(m.Body) > l.MaxBodyBytes {
			return fmt.Errorf("message body is %d bytes, limit %d: %w", len(m.Body), l.MaxBodyBytes, ErrTooLarge)
		}
	}
	return nil
}

// CheckInbox validates a batch for AppendInbox.
func (l Limits) CheckInbox(userID string, entries []InboxEntry) error {
	if err := l.CheckID("user", userID); err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("empty inbox batch: %w", ErrInvalid)
	}
	if len(entries) > l.MaxBatch {
		return fmt.Errorf("batch of %d inbox entries, limit %d: %w", len(entries), l.MaxBatch, ErrTooLarge)
	}
	seen := make(map[uint64]struct{}, len(entries))
	for i := range entries {
		e := &entries[i]
		if e.UserID != "" && e.UserID != userID {
			return fmt.Errorf("inbox entry %d belongs to %q, not %q: %w", i, e.UserID, userID, ErrInvalid)
		}
		if e.Seq == 0 {
			return fmt.Errorf("inbox entry %d has seq 0: %w", i, ErrInvalid)
		}
		if _, dup := seen[e.Seq]; dup {
			return fmt.Errorf("inbox seq %d twice in one batch: %w", e.Seq, ErrInvalid)
		}
		seen[e.Seq] = struct{}{}
		if err := l.CheckOptionalID("conversation", e.ConvID); err != nil {
			return err
		}
		if len(e.Payload) > l.MaxPayloadBytes {
			return fmt.Errorf("inbox payload is %d bytes, limit %d: %w", len(e.Payload), l.MaxPayloadBytes, ErrTooLarge)
		}
	}
	return nil
}

// CheckUserWrite validates one WriteUser: the inbox entries as for
// AppendInbox (when there are any), and at most MaxBatch read cursors,
// activities and devices each, all with valid ids.
func (l Limits) CheckUserWrite(userID string, w *UserWrite) error {
	if err := l.CheckID("user", userID); err != nil {
		return err
	}
	if len(w.Inbox) > 0 {
		if err := l.CheckInbox(userID, w.Inbox); err != nil {
			return err
		}
	}
	for what, n := range map[string]int{"read cursors": len(w.Reads), "activities": len(w.Activity), "devices": len(w.Devices)} {
		if n > l.MaxBatch {
			return fmt.Errorf("%d %s in one user write, limit %d: %w", n, what, l.MaxBatch, ErrTooLarge)
		}
	}
	for _, r := range w.Reads {
		if err := l.CheckID("conversation", r.ConvID); err != nil {
			return err
		}
	}
	for _, a := range w.Activity {
		if err := l.CheckID("conversation", a.ConvID); err != nil {
			return err
		}
	}
	for _, d := range w.Devices {
		if d.UserID != "" && d.UserID != userID {
			return fmt.Errorf("device %q belongs to %q, not %q: %w", d.DeviceID, d.UserID, userID, ErrInvalid)
		}
		if err := l.CheckID("device", d.DeviceID); err != nil {
			return err
		}
	}
	return nil
}

// CheckLimit rejects a non-positive page size.
func CheckLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("page limit %d must be positive: %w", limit, ErrInvalid)
	}
	return nil
}

// Millis truncates t to the millisecond in UTC, the precision every backend
// stores. The zero time stays zero.
func Millis(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// checkSeqUnique rejects msgs[i] if its seq appeared earlier in the batch.
// Batches are almost always ascending, which needs no memory to check; a
// map is built only for the rest.
func checkSeqUnique(msgs []Message, i int, seen *map[uint64]struct{}) error {
	if *seen == nil {
		if i == 0 || msgs[i].Seq > msgs[i-1].Seq {
			return nil
		}
		*seen = make(map[uint64]struct{}, len(msgs))
		for _, m := range msgs[:i] {
			(*seen)[m.Seq] = struct{}{}
		}
	}
	if _, dup := (*seen)[msgs[i].Seq]; dup {
		return fmt.Errorf("seq %d twice in one batch: %w", msgs[i].Seq, ErrInvalid)
	}
	(*seen)[msgs[i].Seq] = struct{}{}
	return nil
}
