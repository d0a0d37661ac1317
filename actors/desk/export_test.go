package desk

import "context"

// OfferForTest makes the offer a thread makes to agent in the middle of
// an assignment, as if from the thread of session: for tests of what
// happens when that thread never finishes the assignment.
func (d *Desk) OfferForTest(ctx context.Context, agent, session string, token uint64) (bool, error) {
	conv := session[:len(session)-len("/1")]
	thread, err := convThread(conv)
	if err != nil {
		return false, err
	}
	var ans offerAnswer
	err = d.call(ctx, KindAgent, agent, "offer", offer{Session: session, Thread: thread, Conv: conv, Token: token}, &ans)
	return ans.Accepted, err
}

// ReleaseForTest tells agent to release session's hold of token, as a
// thread's answer to the agent's hold check does.
func (d *Desk) ReleaseForTest(ctx context.Context, agent, session string, token uint64) error {
	return d.call(ctx, KindAgent, agent, "release", offer{Session: session, Token: token}, nil)
}

// RosterOfForTest is the roster shard that lists thread.
func RosterOfForTest(thread string) string { return rosterOf(thread) }

// WakeThreadsForTest wakes threads as a roster's round does, and returns
// when each was woken (or its retries ran out).
func (d *Desk) WakeThreadsForTest(threads []string) { d.wakeThreads(threads) }

// WaitEntryForTest is a queue's entry of a waiting session, as saved.
type WaitEntryForTest = waitEntry

// AnswerForTest is a thread's answer to a queue's offer.
type AnswerForTest = assignAnswer

// EnqueueForTest gives queue the entry e, as a thread's repair does.
func (d *Desk) EnqueueForTest(ctx context.Context, queue string, e WaitEntryForTest) error {
	return d.call(ctx, KindQueue, queue, "enqueue", enqueueReq{Entry: e}, nil)
}

// AnswerOfferForTest hands queue a thread's answer to one of its offers,
// as the queue's own offer passes it back.
func (d *Desk) AnswerOfferForTest(ctx context.Context, queue string, a AnswerForTest) error {
	return d.call(ctx, KindQueue, queue, "answer", a, nil)
}

// AssignForTest makes queue's offer of session (entered at entered) to
// agent straight to the session's thread, and returns the thread's
// answer without passing it to the queue: an answer lost on its way.
func (d *Desk) AssignForTest(ctx context.Context, queue, session, agent string, entered int64) (AnswerForTest, error) {
	conv := session[:len(session)-len("/1")]
	thread, err := convThread(conv)
	if err != nil {
		return AnswerForTest{}, err
	}
	var a assignAnswer
	err = d.call(ctx, KindThread, thread, "assign", assignReq{Session: session, Queue: queue, Agent: agent, Entered: entered}, &a)
	return a, err
}

// WithdrawForTest tells queue that session left it other than by its
// offer: to agent (a supervisor's assignment) or, with overflow, by
// overflowing; entered names the entry (0: the listed one).
func (d *Desk) WithdrawForTest(ctx context.Context, queue, session, agent string, overflow bool, entered int64) error {
	return d.call(ctx, KindQueue, queue, "withdraw", withdrawReq{Session: session, Agent: agent, Overflow: overflow, Entered: entered}, nil)
}
