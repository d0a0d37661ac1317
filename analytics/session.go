package analytics

import (
	"math"
	"time"
)

// none marks an absent time in session fields.
const none = math.MaxInt64

// session is one open session of a conversation, in event-time ms.
type session struct {
	first, last   int64
	msgs          uint64
	firstCustomer bool   // the earliest message (ties: lowest seq) is a customer's
	custFirst     int64  // earliest customer message, or none
	agentFirst    int64  // earliest agent message, or none
	agent         uint32 // key of the agent at agentFirst; 0 if none
	// owner is the desk's owner of the conversation at the latest message
	// (event time, then seq) sent while it had one, at ownerAt; 0 if none.
	owner   uint32
	ownerAt int64
}

func newSession(t int64, customer bool, agent, owner uint32) session {
	s := session{first: t, last: t, custFirst: none, agentFirst: none}
	s.firstCustomer = customer
	s.note(t, customer, agent, owner)
	return s
}

// key is the agent the session counts for: its last owner, else the
// first agent who spoke; 0 if neither.
func (s *session) key() uint32 {
	if s.owner != 0 {
		return s.owner
	}
	return s.agent
}

// add puts one more message in s. Events arrive in seq order, so strict
// comparisons keep the lowest seq on ties.
func (s *session) add(t int64, customer bool, agent, owner uint32) {
	if t < s.first {
		s.first = t
		s.firstCustomer = customer
	}
	if t > s.last {
		s.last = t
	}
	s.note(t, customer, agent, owner)
}

func (s *session) note(t int64, customer bool, agent, owner uint32) {
	s.msgs++
	if owner != 0 && (s.owner == 0 || t >= s.ownerAt) {
		s.owner, s.ownerAt = owner, t
	}
	if customer {
		s.custFirst = min(s.custFirst, t)
	} else if t < s.agentFirst {
		s.agentFirst = t
		s.agent = agent
	}
}

// merge folds o, which lies entirely after s, into s. Open sessions are
// more than a gap apart, so no ties can arise.
func (s *session) merge(o *session) {
	s.last = max(s.last, o.last)
	s.msgs += o.msgs
	s.custFirst = min(s.custFirst, o.custFirst)
	if o.agentFirst < s.agentFirst {
		s.agentFirst = o.agentFirst
		s.agent = o.agent
	}
	if o.owner != 0 && (s.owner == 0 || o.ownerAt > s.ownerAt) {
		s.owner, s.ownerAt = o.owner, o.ownerAt
	}
}

// firstResponse is the time from the first customer message to the first
// agent message, defined when the customer spoke first and an agent replied.
func (s *session) firstResponse() (int64, bool) {
	if !s.firstCustomer || s.agentFirst == none {
		return 0, false
	}
	return s.agentFirst - s.custFirst, true
}

func (s *session) contribution() agg {
	c := agg{sessions: 1, sessSum: s.last - s.first, sessMsgs: s.msgs}
	if frt, ok := s.firstResponse(); ok {
		c.frtCount = 1
		c.frtSum = frt
	}
	return c
}

// addToSessions places a message at t among the conversation's open
// sessions (sorted, pairwise more than gap apart): it joins every session it
// is within gap of, merging two if it bridges them, or starts a new one.
func (cs *convState) addToSessions(t, gap int64, customer bool, agent, owner uint32) {
	ss := cs.sessions
	i := 0
	for i < len(ss) && ss[i].last+gap < t {
		i++
	}
	j := i
	for j < len(ss) && ss[j].first-gap <= t {
		j++
	}
	if i == j {
		ss = append(ss, session{})
		copy(ss[i+1:], ss[i:])
		ss[i] = newSession(t, customer, agent, owner)
		cs.sessions = ss
		return
	}
	for k := i + 1; k < j; k++ {
		ss[i].merge(&ss[k])
	}
	ss[i].add(t, customer, agent, owner)
	cs.sessions = append(ss[:i+1], ss[j:]...)
}

// Session describes one session, for OnSessionClosed and OpenSessions.
type Session struct {
	Conv     string
	Agent    string // the last desk owner, else the first agent who spoke; empty if neither
	First    time.Time
	Last     time.Time
	End      time.Time // Last + SessionGap: the session window's end
	Messages uint64
	// FirstResponse is set when HasFirstResponse: the customer spoke first
	// and an agent replied.
	FirstResponse    time.Duration
	HasFirstResponse bool
}

// Duration is Last − First.
func (s Session) Duration() time.Duration { return s.Last.Sub(s.First) }

func (e *Engine) describe(conv string, s *session) Session {
	out := Session{
		Conv:     conv,
		First:    fromMillis(s.first),
		Last:     fromMillis(s.last),
		End:      fromMillis(s.last + e.gap),
		Messages: s.msgs,
	}
	if k := s.key(); k != 0 {
		out.Agent = e.keys[k]
	}
	if frt, ok := s.firstResponse(); ok {
		out.FirstResponse = time.Duration(frt) * time.Millisecond
		out.HasFirstResponse = true
	}
	return out
}
