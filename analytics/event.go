package analytics

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// ErrInvalidEvent is wrapped by Process for events it cannot interpret; such
// an event changes nothing, not even the seq consumed.
var ErrInvalidEvent = errors.New("metrics: invalid event")

// AllKey is the aggregation key that covers every agent.
const AllKey = "*"

// maxAbsMillis bounds event times (about ±35,000 years) so that the
// millisecond arithmetic can never overflow.
const maxAbsMillis = 1 << 50

// Event is one durable message of a service conversation.
type Event struct {
	Conv     string
	Seq      uint64
	Sender   string
	Role     storage.SenderRole
	ClientTS time.Time // the client's send time; zero if unknown
	ServerTS time.Time // the server's receive time
}

// EventFromMessage converts a stored message. System messages and recall
// markers (MsgRecall) become SenderSystem events, which only consume their
// seq: a recall is a correction, not something said to the other side.
// A message that was later tombstoned keeps its role and counts, so that a
// recall never changes numbers already reported.
func EventFromMessage(m storage.Message) Event {
	role := m.SenderRole
	if m.Kind == storage.MsgSystem || m.Kind == storage.MsgRecall {
		role = storage.SenderSystem
	}
	return Event{Conv: m.ConvID, Seq: m.Seq, Sender: m.Sender, Role: role, ClientTS: m.ClientTS, ServerTS: m.ServerTS}
}

// counts reports whether the event takes part in the metrics.
func (ev *Event) counts() bool {
	return ev.Role == storage.SenderCustomer || ev.Role == storage.SenderAgent
}

// check validates the fields Process relies on.
func (ev *Event) check() error {
	switch {
	case ev.Conv == "":
		return fmt.Errorf("%w: no conversation id", ErrInvalidEvent)
	case ev.Seq == 0:
		return fmt.Errorf("%w: conversation %q: seq 0", ErrInvalidEvent, ev.Conv)
	case ev.ServerTS.IsZero():
		return fmt.Errorf("%w: conversation %q seq %d: no server time", ErrInvalidEvent, ev.Conv, ev.Seq)
	case !inRange(ev.ServerTS) || !inRange(ev.ClientTS):
		return fmt.Errorf("%w: conversation %q seq %d: time out of range", ErrInvalidEvent, ev.Conv, ev.Seq)
	case ev.Role == storage.SenderAgent && (ev.Sender == "" || ev.Sender == AllKey):
		return fmt.Errorf("%w: conversation %q seq %d: agent id %q", ErrInvalidEvent, ev.Conv, ev.Seq, ev.Sender)
	}
	return nil
}

func inRange(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	// Checked on seconds first: UnixMilli is undefined far outside the range.
	s := t.Unix()
	if s > maxAbsMillis/1000 || s < -maxAbsMillis/1000 {
		return false
	}
	return true
}

// eventTime is the client time when known, else the server time, in ms.
func (ev *Event) eventTime() int64 {
	if !ev.ClientTS.IsZero() {
		return ev.ClientTS.UnixMilli()
	}
	return ev.ServerTS.UnixMilli()
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
