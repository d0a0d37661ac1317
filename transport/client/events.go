package client

import "time"

// EventKind says what an Event reports.
type EventKind int

const (
	// EventConnected: a connection is up and its first sync applied.
	EventConnected EventKind = iota + 1
	// EventDisconnected: the connection dropped; the client reconnects.
	EventDisconnected
	// EventSynced: a resync finished; Conversations() is current.
	EventSynced
	// EventMessage: Message is new to this client, or changed (recalled).
	EventMessage
	// EventMessageState: one of this user's messages changed state.
	EventMessageState
	// EventRead: this user's read cursor in Conv moved to Seq (another device).
	EventRead
	// EventReceipt: User (the other side) read Conv up to Seq.
	EventReceipt
	// EventMembership: this user joined or left Conv, or its role changed.
	EventMembership
	// EventTyping: User is typing in Conv (Typing false: stopped).
	EventTyping
	// EventError: Err stopped the client (e.g. its token was refused).
	EventError
	// EventQueuePosition: this user's service session in Conv waits at
	// position Seq of its queue (1 = next); Seq 0: it left the queue. Wait
	// is the queue's estimate of the wait (0: none yet).
	// Best effort: the desk's "queued" and "assigned" messages are the record.
	EventQueuePosition
	// EventDeskNote: User added an internal note to the service session of
	// Conv, which now holds Seq notes (DeskSession reads them). Sent to the
	// session's agent; best effort.
	EventDeskNote
	// EventFlags: this user's own flags of Conv (Pinned, Muted, Archived,
	// MarkedUnread in Conversation) changed, on this device or another.
	EventFlags
	// EventDeskAgent: User (a supervisor, "admin", or "desk" for the desk
	// itself) changed this user's agent state: DeskStatus reads it. Best
	// effort.
	EventDeskAgent
	// EventStarred: this user's starred messages changed (on any device):
	// Starred reads them. Best effort.
	EventStarred
	// EventScheduled: this user's scheduled messages changed (one set or
	// cancelled on any device, or sent or failed when due):
	// ScheduledMessages reads them. Best effort.
	EventScheduled
	// EventDrafts: this user's drafts changed (on any device): Drafts
	// reads them. Best effort.
	EventDrafts
	// EventProfile: this user's own profile changed (on any device, or by
	// the operator): Profile reads it. Best effort.
	EventProfile
	// EventJoinRequests: the requests to join Conv, a group this user owns
	// or administers, changed (someone asked, or another manager answered):
	// JoinRequests reads them. Best effort.
	EventJoinRequests
	// EventAway: this user's away message changed (on any device, or by
	// an erasure): Away reads it. Best effort.
	EventAway
	// EventReminder: a reminder this user set on a starred message
	// (Remind) is due now: the message is Conv's at Seq (Messages holds it
	// if it was read here; History reads it). Starred no longer lists
	// the reminder. A device offline then gets none: the phone is
	// notified instead.
	EventReminder
	// EventCall: a step of a call in Conv (Call): it rings here, was
	// answered, a signal from the other side, or it ended. User is who
	// caused it. The node also records each call's end as a system
	// message of Conv.
	EventCall
)

func (k EventKind) String() string {
	switch k {
	case EventConnected:
		return "connected"
	case EventDisconnected:
		return "disconnected"
	case EventSynced:
		return "synced"
	case EventMessage:
		return "message"
	case EventMessageState:
		return "message_state"
	case EventRead:
		return "read"
	case EventReceipt:
		return "receipt"
	case EventMembership:
		return "membership"
	case EventTyping:
		return "typing"
	case EventError:
		return "error"
	case EventQueuePosition:
		return "queue_position"
	case EventFlags:
		return "flags"
	case EventDeskNote:
		return "desk_note"
	case EventDeskAgent:
		return "desk_agent"
	case EventStarred:
		return "starred"
	case EventScheduled:
		return "scheduled"
	case EventDrafts:
		return "drafts"
	case EventProfile:
		return "profile"
	case EventJoinRequests:
		return "join_requests"
	case EventAway:
		return "away"
	case EventReminder:
		return "reminder"
	case EventCall:
		return "call"
	}
	return "unknown"
}

// Event is one thing that happened. The local state (Messages,
// Conversations) is updated before the event is sent, so an application
// that misses events (a full channel drops them) can always re-read it.
type Event struct {
	Kind EventKind
	Conv string
	User string
	Seq  uint64
	// Wait: EventQueuePosition's estimate of the wait from now (0: none).
	Wait    time.Duration
	Typing  bool
	Message *Message
	Err     error
	Call    *CallEvent // EventCall
}

// emit sends an event without blocking: the local state is the truth.
func (c *Client) emit(e Event) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(e)
		return
	}
	select {
	case c.events <- e:
	default:
		c.dropped.Add(1)
	}
}
