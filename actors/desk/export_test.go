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
