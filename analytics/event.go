package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-im/switchboard/internal/openhours"
	"github.com/switchboard-im/switchboard/storage"
)

// ErrInvalidEvent is wrapped by Process for events it cannot interpret; such
// an event changes nothing, not even the seq consumed.
var ErrInvalidEvent = errors.New("metrics: invalid event")

// AllKey is the aggregation key that covers every agent.
const AllKey = "*"

// LinePrefix starts the key of a business line's rows: "line:cars" covers
// every agent's work in conversations of the line "cars". User ids cannot
// contain ':', so line keys never meet agent ids.
const LinePrefix = "line:"

// maxLineLen bounds a business line's name.
const maxLineLen = 64

// LineKey is the row key of a business line.
func LineKey(line string) string { return LinePrefix + line }

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
	// Line is the business line the event places its conversation in (the
	// desk's session start names it); empty for most events. The first
	// line a conversation gets is kept.
	Line string
	// Desk is the service-desk step a system message records (DeskOf):
	// it moves the conversation's owner and carries the queue counts.
	// Zero for every other event.
	Desk DeskStep
}

// Desk steps that the engine reads (docs/DESK.md, "The system messages").
const (
	DeskStart      = "start"
	DeskAfterHours = "after_hours"
	DeskHandover   = "handover"
	DeskAssigned   = "assigned"
	DeskTransfer   = "transfer"
	DeskRequeue    = "requeue"
	DeskClose      = "close"
	DeskRating     = "rating"
	// DeskOverflow: a waiting session moved on along its route. It moves
	// no owner, but ends an assignment a crash cut (the thread recorded
	// it and died before it took effect, so the session still waited).
	DeskOverflow = "overflow"
)

// RequeueUnanswered is the reason of a requeue step the answer timeout
// wrote: the agent missed the session.
const RequeueUnanswered = "unanswered"

// DeskStep is what the metrics take from a desk system message. Every
// step but after_hours, handover, overflow and rating sets the
// conversation's owner: Owner after an assignment or a transfer to an
// agent, nobody after a start, a transfer to a queue, a requeue or a
// close (an overflow drops only an owner a crash left). A rating
// comes after the close and changes no owner. Start, after_hours,
// handover and close also set when the session's first response is timed
// from (docs/METRICS.md, "First response of a desk session").
type DeskStep struct {
	Op        string // one of the Desk* constants; "" for no step
	Owner     string // the agent who owns the conversation after the step
	WaitMs    int64  // assigned: the queue wait it ends
	Abandoned bool   // close: the session was waiting in a queue
	// Missed (requeue): the desk took the session back from an agent who
	// did not answer it within the answer timeout (reason "unanswered").
	Missed   bool
	Reopened bool // start: a customer's message after the close reopened
	Outbound bool // start: an agent reached out first; nobody asked
	// TargetMs (start): the line's first-response target, against which
	// the session's first response is timely; 0: the reply threshold.
	TargetMs int64
	// Hours (start): the line's opening hours, in which the session's
	// first response is counted, as JSON without their message (hoursKey);
	// "": always open. Hours that do not parse count as none.
	Hours string
	// OpensAtMs (after_hours): when the line opens next, in Unix ms; 0
	// when it never opens again.
	OpensAtMs int64
	// A rating's score (1-5), the agent who had the session when it
	// closed ("" when the robot had it) and the rated session's id: only
	// the first rating of a session counts.
	Score   int
	Agent   string
	Session string
}

// maxWaitMs bounds a recorded queue wait (about 35 years).
const maxWaitMs = 1 << 40

// hoursLimits bound the opening hours a start step may carry: far above
// what any desk configuration writes, so the metrics never refuse hours
// the desk accepted. maxHoursLen bounds their JSON.
var hoursLimits = openhours.Limits{DayIntervals: 96, ClosedDates: 2000, MessageBytes: 1 << 20}

const maxHoursLen = 64 << 10

// hoursKey is the form in which a start step's hours reach Event.Desk:
// JSON without the customers' message, at most maxHoursLen bytes. The
// engine parses it once per distinct key (Engine.schedule).
func hoursKey(h openhours.Hours) (string, error) {
	h.Message = ""
	b, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	if len(b) > maxHoursLen {
		return "", fmt.Errorf("hours of %d bytes, limit %d", len(b), maxHoursLen)
	}
	return string(b), nil
}

// A customer's rating of a desk session scores MinScore to MaxScore;
// SatisfiedScore and above count as satisfied (the CSAT rate). The desk
// takes its bounds from here, so a rating it accepts is one the metrics
// count.
const (
	MinScore       = 1
	MaxScore       = 5
	SatisfiedScore = 4
)

// maxSessionLen bounds a rated session's id, which the engine keeps per
// conversation (the desk's ids are a conversation id, at most 128 bytes,
// and a number).
const maxSessionLen = 256

// EventFromMessage converts a stored message. System messages, recall
// markers (MsgRecall), reactions, votes, polls' closes and edits become
// SenderSystem events, which only consume their seq: a recall or an edit
// is a correction, and a reaction or a vote is not a reply, not something
// said to the other side.
// A message that was later tombstoned keeps its role and counts, so that a
// recall never changes numbers already reported.
func EventFromMessage(m storage.Message) Event {
	role := m.SenderRole
	if m.Kind == storage.MsgSystem || m.Kind == storage.MsgRecall || m.Kind.Annotation() || m.Edit() || m.PollClose() {
		role = storage.SenderSystem
	}
	return Event{Conv: m.ConvID, Seq: m.Seq, Sender: m.Sender, Role: role, ClientTS: m.ClientTS, ServerTS: m.ServerTS,
		Line: LineOf(m), Desk: DeskOf(m)}
}

// DeskOf returns the desk step a system message records
// ({"desk":"assigned","agent":"a1","wait_ms":…}, docs/DESK.md), or a zero
// step. A body that is not a desk step the engine reads, or names an agent
// that cannot be one, gives a zero step too: the message then only
// consumes its seq, as before.
func DeskOf(m storage.Message) DeskStep {
	if m.Kind != storage.MsgSystem || len(m.Body) == 0 || m.Body[0] != '{' || !bytes.Contains(m.Body, []byte(`"desk"`)) {
		return DeskStep{}
	}
	var b struct {
		Desk   string `json:"desk"`
		Agent  string `json:"agent"`
		To     string `json:"to"`
		WaitMs int64  `json:"wait_ms"`
		// OpenWaitMs: the part of the wait in the line's opening hours,
		// where the line has hours; it is the queue wait then.
		OpenWaitMs *int64           `json:"open_wait_ms"`
		Abandoned  bool             `json:"abandoned"`
		ReopenedBy uint64           `json:"reopened_by"`
		Outbound   bool             `json:"outbound"`
		TargetMs   int64            `json:"first_response_target_ms"`
		Hours      *openhours.Hours `json:"hours"`
		OpensAtMs  int64            `json:"opens_at_ms"`
		Session    string           `json:"session"`
		Score      int              `json:"score"` // a fraction or a string fails the whole body
		Reason     string           `json:"reason"`
	}
	if json.Unmarshal(m.Body, &b) != nil {
		return DeskStep{}
	}
	st := DeskStep{Op: b.Desk}
	switch b.Desk {
	case DeskStart:
		st.Reopened, st.Outbound, st.TargetMs = b.ReopenedBy != 0, b.Outbound, b.TargetMs
		if b.Hours != nil {
			// Hours too long are none: the step still starts a session.
			st.Hours, _ = hoursKey(*b.Hours)
		}
	case DeskHandover, DeskOverflow:
	case DeskRequeue:
		st.Missed = b.Reason == RequeueUnanswered
	case DeskAfterHours:
		st.OpensAtMs = b.OpensAtMs
	case DeskAssigned:
		st.Owner, st.WaitMs = b.Agent, b.WaitMs
		if b.OpenWaitMs != nil {
			st.WaitMs = *b.OpenWaitMs
		}
	case DeskTransfer:
		switch kind, arg, _ := strings.Cut(b.To, ":"); {
		case kind == "user" && arg != "":
			st.Owner = arg
		case kind != "queue" || arg == "":
			return DeskStep{}
		}
	case DeskClose:
		st.Abandoned = b.Abandoned
	case DeskRating:
		// A robot's session names its "bot" instead of an agent: it counts
		// for the line and "*" only.
		st.Score, st.Agent, st.Session = b.Score, b.Agent, b.Session
	default:
		return DeskStep{}
	}
	if st.check() != nil {
		return DeskStep{}
	}
	return st
}

// check validates a step: a known op, an owner that can be an agent key
// (only where the op names one), a wait in range, and a rating's score,
// agent and session.
func (d *DeskStep) check() error {
	switch d.Op {
	case "":
		if *d != (DeskStep{}) {
			return errors.New("desk fields without a desk step")
		}
		return nil
	case DeskStart, DeskAfterHours, DeskHandover, DeskAssigned, DeskTransfer, DeskRequeue, DeskClose, DeskRating, DeskOverflow:
	default:
		return fmt.Errorf("unknown desk step %q", d.Op)
	}
	switch {
	case d.Op == DeskAssigned && d.Owner == "":
		return errors.New("an assignment names no agent")
	case d.Owner != "" && (d.Op != DeskAssigned && d.Op != DeskTransfer || !validAgent(d.Owner)):
		return fmt.Errorf("desk step %s: owner %q", d.Op, d.Owner)
	case d.WaitMs != 0 && d.Op != DeskAssigned, d.WaitMs < 0 || d.WaitMs > maxWaitMs:
		return fmt.Errorf("desk step %s: queue wait %d ms", d.Op, d.WaitMs)
	case d.Abandoned && d.Op != DeskClose:
		return fmt.Errorf("desk step %s: abandoned", d.Op)
	case d.Missed && d.Op != DeskRequeue:
		return fmt.Errorf("desk step %s: missed", d.Op)
	case d.Reopened && d.Op != DeskStart:
		return fmt.Errorf("desk step %s: reopened", d.Op)
	case d.Outbound && (d.Op != DeskStart || d.Reopened):
		return fmt.Errorf("desk step %s: outbound", d.Op)
	case d.TargetMs != 0 && d.Op != DeskStart, d.TargetMs < 0 || d.TargetMs > maxWaitMs:
		return fmt.Errorf("desk step %s: first-response target %d ms", d.Op, d.TargetMs)
	case d.Hours != "" && d.Op != DeskStart, len(d.Hours) > maxHoursLen:
		return fmt.Errorf("desk step %s: hours of %d bytes", d.Op, len(d.Hours))
	case d.OpensAtMs != 0 && d.Op != DeskAfterHours, d.OpensAtMs > maxAbsMillis || d.OpensAtMs < -maxAbsMillis:
		return fmt.Errorf("desk step %s: opens at %d ms", d.Op, d.OpensAtMs)
	case d.Op != DeskRating && (d.Score != 0 || d.Agent != "" || d.Session != ""):
		return fmt.Errorf("desk step %s: rating fields", d.Op)
	case d.Op == DeskRating && (d.Score < MinScore || d.Score > MaxScore):
		return fmt.Errorf("rating: score %d (want %d-%d)", d.Score, MinScore, MaxScore)
	case d.Op == DeskRating && d.Agent != "" && !validAgent(d.Agent):
		return fmt.Errorf("rating: agent %q", d.Agent)
	case d.Op == DeskRating && (d.Session == "" || len(d.Session) > maxSessionLen):
		return fmt.Errorf("rating: session id of %d bytes (want 1-%d)", len(d.Session), maxSessionLen)
	}
	return nil
}

// validAgent: an id that can be an agent's row key.
func validAgent(id string) bool {
	return id != "" && id != AllKey && !strings.HasPrefix(id, LinePrefix)
}

// LineOf returns the business line a desk session-start system message
// names ({"desk":"start","line":"cars",…}, docs/DESK.md), or "". A body
// that is not such a message, or a line that is not a valid name, gives "".
func LineOf(m storage.Message) string {
	if m.Kind != storage.MsgSystem || len(m.Body) == 0 || m.Body[0] != '{' || !bytes.Contains(m.Body, []byte(`"start"`)) {
		return ""
	}
	var b struct {
		Desk string `json:"desk"`
		Line string `json:"line"`
	}
	if json.Unmarshal(m.Body, &b) != nil || b.Desk != "start" || !ValidLine(b.Line) {
		return ""
	}
	return b.Line
}

// ValidLine reports whether s can name a business line: 1–64 bytes of
// letters, digits, '_', '-' and '.'.
func ValidLine(s string) bool {
	if s == "" || len(s) > maxLineLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
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
	case ev.Role == storage.SenderAgent && !validAgent(ev.Sender):
		return fmt.Errorf("%w: conversation %q seq %d: agent id %q", ErrInvalidEvent, ev.Conv, ev.Seq, ev.Sender)
	case ev.Line != "" && !ValidLine(ev.Line):
		return fmt.Errorf("%w: conversation %q seq %d: business line %q (want 1-%d of letters, digits, _ - .)",
			ErrInvalidEvent, ev.Conv, ev.Seq, ev.Line, maxLineLen)
	case ev.Desk.Op != "" && ev.counts():
		return fmt.Errorf("%w: conversation %q seq %d: a desk step from a customer or agent message", ErrInvalidEvent, ev.Conv, ev.Seq)
	}
	if err := ev.Desk.check(); err != nil {
		return fmt.Errorf("%w: conversation %q seq %d: %w", ErrInvalidEvent, ev.Conv, ev.Seq, err)
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
