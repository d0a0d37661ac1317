package storage

import (
	"fmt"
	"time"
)

// ScheduledSend is a message a user asked the node to send later ("send
// later"): the store keeps it under its user, and indexed by when it is
// due, so that any node finds what is due without knowing whose it is.
type ScheduledSend struct {
	User      string
	ID        string    // unique per user
	DueAt     time.Time // kept to the millisecond
	CreatedAt time.Time
	// Send is what to send, opaque to the store (the node's encoding);
	// at most Limits.MaxScheduledSendBytes.
	Send []byte
}

// scheduledSendOverhead is what a scheduled send holds beside its body:
// the ids that name its sender, conversation and client message, and its
// mentions (even a thousand ids fit).
const scheduledSendOverhead = 96 << 10

// MaxScheduledSendBytes bounds a scheduled send's encoded message: a body
// at its largest (MaxBodyBytes), with room for what names it.
func (l Limits) MaxScheduledSendBytes() int { return l.MaxBodyBytes + scheduledSendOverhead }

// ScheduleDay is the UTC day t falls in: the unit ScheduledDue reads.
func ScheduleDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// CheckScheduled checks what a store would refuse of s.
func (l Limits) CheckScheduled(s ScheduledSend) error {
	if err := l.CheckID("user", s.User); err != nil {
		return err
	}
	if err := l.CheckID("scheduled send", s.ID); err != nil {
		return err
	}
	switch {
	case s.DueAt.IsZero() || s.DueAt.Before(time.UnixMilli(0)):
		return fmt.Errorf("scheduled send %s due at %v: %w", s.ID, s.DueAt, ErrInvalid)
	case len(s.Send) == 0 || len(s.Send) > l.MaxScheduledSendBytes():
		return fmt.Errorf("scheduled send %s of %d bytes (1 to %d): %w", s.ID, len(s.Send), l.MaxScheduledSendBytes(), ErrInvalid)
	}
	return nil
}
