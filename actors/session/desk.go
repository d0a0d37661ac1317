package session

import "context"

// DeskHandoverResult is where a handed-over service session went.
type DeskHandoverResult struct {
	Session       string
	State         string // queued or assigned
	QueuePosition int
	Agent         string // once assigned
}

// DeskSession is implemented by sessions that serve service desk requests
// (the node's device sessions); a carrier finds it with a type assertion,
// so Session stays as it is for carriers without a desk.
type DeskSession interface {
	// DeskHandover hands the service session of conv from the robot to the
	// next step of its route; the desk checks that the user is the robot
	// or the customer.
	DeskHandover(ctx context.Context, conv string) (DeskHandoverResult, error)
	// DeskEnter enters the desk as the customer from scene (NAME/DATA, or
	// NAME with data apart).
	DeskEnter(ctx context.Context, scene, data string) (DeskSessionInfo, error)
	// DeskStatus sets the user's agent status ("" reads it); the user must
	// be a registered agent.
	DeskStatus(ctx context.Context, status string) (DeskAgentInfo, error)
	// DeskEndWrapUp frees the user's slots in wrap-up (the agent is done
	// with the sessions it closed).
	DeskEndWrapUp(ctx context.Context) (DeskAgentInfo, error)
	// DeskAgent reads another agent's state, the sessions it holds
	// included; the user must be a supervisor (or that agent).
	DeskAgent(ctx context.Context, agent string) (DeskAgentInfo, error)
	// DeskManageAgent sets another agent's status ("" keeps it) and ends
	// its wrap-up (endWrapUp); the user must be a supervisor (or that
	// agent).
	DeskManageAgent(ctx context.Context, agent, status string, endWrapUp bool) (DeskAgentInfo, error)
	// DeskReach starts an outbound session with customer, the user (an
	// agent) writing first, in the line of scene (NAME/DATA, or NAME with
	// data apart).
	DeskReach(ctx context.Context, customer, scene, data string) (DeskSessionInfo, error)
	// DeskQueue lists a skill group's waiting sessions for one of its agents.
	DeskQueue(ctx context.Context, skill string) (DeskQueueInfo, error)
	// DeskTransfer hands the session of conv, held by the user, to
	// "user:ID" or "queue:SKILL" with an internal note.
	DeskTransfer(ctx context.Context, conv, to, note string) (DeskSessionInfo, error)
	// DeskClose closes the session of conv; the user is its agent or customer.
	DeskClose(ctx context.Context, conv, reason string) (DeskSessionInfo, error)
	// DeskSessionOf is the session of conv as the user sees it: its
	// customer without the notes, its agent and supervisors with them.
	DeskSessionOf(ctx context.Context, conv string) (DeskSessionInfo, error)
	// DeskNote adds the user's internal note to the session of conv; the
	// user is its agent or a supervisor.
	DeskNote(ctx context.Context, conv, text string) (DeskSessionInfo, error)
	// DeskTag adds and removes tags (contact reasons) of the session of
	// conv; the user is its agent or a supervisor.
	DeskTag(ctx context.Context, conv string, add, remove []string) (DeskSessionInfo, error)
	// DeskRate rates the closed session of conv; the user is its customer.
	DeskRate(ctx context.Context, conv string, score int, comment string) (DeskRating, error)
	// DeskSavedReplies lists a business line's saved replies; the user
	// must be a registered agent.
	DeskSavedReplies(ctx context.Context, line, conv string) ([]DeskSavedReply, error)
}

// DeskSavedReply is a text an agent sends often, named for a menu.
type DeskSavedReply struct {
	Name string
	Text string
}

// DeskRating is the rating that stands for a session: the first one.
type DeskRating struct {
	Session   string
	Score     int
	Comment   string
	Duplicate bool // the session had been rated before this request
}

// DeskSessionInfo is a service session as its participants see it.
type DeskSessionInfo struct {
	Conv          string
	Session       string
	State         string // bot, queued, assigned or closed
	QueuePosition int
	// QueueWaitMs: while queued, the queue's estimate of the wait (0: none).
	QueueWaitMs int64
	Agent       string // once assigned
	Queue       string // while queued
	// AfterHours: the session started while its line was closed; OpensAt
	// is when the line opens next (Unix ms, 0: no opening ahead).
	AfterHours bool
	OpensAt    int64
	// FirstResponseTargetMs is the session's first-response target (0:
	// none) and FirstResponseDueMs when an agent's first message is due
	// (Unix ms, in the line's opening hours), and StartedMs when the
	// session started: for the same readers as Notes.
	FirstResponseTargetMs int64
	FirstResponseDueMs    int64
	StartedMs             int64
	// AnswerByMs: while assigned, when the session goes back to its queue
	// unless its agent wrote in it first (Unix ms; 0: not watched), for
	// the same readers as Notes.
	AnswerByMs int64
	// Notes are the agents' internal notes, oldest first: only in the
	// answers of DeskSessionOf and DeskNote to the session's agent and
	// supervisors, never to its customer.
	Notes []DeskNote
	// Tags are the agents' contact reasons, for the same readers as Notes.
	Tags []string
	// CustomerAttributes are what the business told the desk about the
	// customer (their plan, e-mail, orders), for the same readers as
	// Notes.
	CustomerAttributes map[string]string
}

// DeskNote is an agent's internal note about a service session.
type DeskNote struct {
	By   string
	AtMs int64
	Text string
}

// DeskAgentInfo is an agent's state.
type DeskAgentInfo struct {
	User string
	// Name is the agent's display name (their profile's; "": none).
	Name     string
	Status   string
	Capacity int
	Skills   []string
	Load     int      // sessions held and slots in wrap-up
	Sessions []string // the held sessions' ids
	// Supervisor may read others' metrics and every queue.
	Supervisor bool
	// WrapUp are the slots sessions the agent closed keep taken.
	WrapUp []DeskWrapUp
	// StatusBy is who set the status last (the agent, a supervisor,
	// "admin", "desk"; empty: not known) and StatusSinceMs when.
	StatusBy      string
	StatusSinceMs int64
}

// DeskWrapUp is a slot a closed session keeps taken until UntilMs.
type DeskWrapUp struct {
	Session string
	UntilMs int64
}

// DeskWaiting is one waiting session of a queue.
type DeskWaiting struct {
	Conv     string
	Session  string
	Position int // 1 = next
	SinceMs  int64
	// DueMs is when its first response falls due (0: no target, or an
	// agent has had it already).
	DueMs int64
	// Priority is the customer's priority in the line (0: none).
	Priority int
	// Customer is who waits, CustomerName their display name (their
	// profile's; "": none): what an agent calls them.
	Customer, CustomerName string
}

// DeskQueueAgent is one agent of a queue as the queue sees it.
type DeskQueueAgent struct {
	User     string
	Name     string // the agent's display name ("": none)
	Status   string
	Load     int
	Capacity int
}

// DeskQueueInfo is a queue as one of its agents sees it.
type DeskQueueInfo struct {
	Skill   string
	Waiting []DeskWaiting // the first ones, in queue order
	Total   int           // all waiting
	Agents  []DeskQueueAgent
}
