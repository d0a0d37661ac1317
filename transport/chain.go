package transport

import (
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// refusedSends is a connection's memory of the sends it refused with a
// transient code, per lane (conversation), by client_msg_id. A client
// pipelines a conversation's sends and names in each the send it follows
// (after_client_msg_id); a send that follows a refused one is refused too,
// since its client will send the refused one again and it must not be
// sequenced before it (PROTOCOL.md, "Pipelined sends").
//
// It is a set rather than one "last refused" id per lane because some
// refusals (the rate limits, MaxInflight, a malformed request) are
// answered when the frame is read, before the sends ahead of it in its
// lane have run: refusals do not arrive in lane order. An id leaves the
// set when a send with it proceeds; past the limit the oldest entries are
// forgotten (a client has at most MaxInflight sends unanswered, so only
// recent entries can still be named).
type refusedSends struct {
	limit int
	m     map[chainKey]chainEntry
	order []chainRef // insertion order, for forgetting the oldest; may hold stale refs
	gen   uint64
}

type chainKey struct{ lane, id string }

type chainRef struct {
	key chainKey
	gen uint64
}

type chainEntry struct {
	gen uint64
	// skipped: refused when read, for good (malformed, not transient), so
	// its client drops it; a send naming it follows what it followed.
	skipped bool
	after   string // a skipped send's after_client_msg_id
	retryMs uint32 // a refused send's retry-after
}

func newRefusedSends(limit int) *refusedSends {
	return &refusedSends{limit: limit, m: map[chainKey]chainEntry{}}
}

// refused records that the send id in lane was refused transiently.
func (r *refusedSends) refused(lane, id string, retryMs uint32) {
	r.put(chainKey{lane, id}, chainEntry{retryMs: retryMs})
}

// skipped records that the send id in lane, written behind after, was
// refused for good before its turn.
func (r *refusedSends) skipped(lane, id, after string) {
	r.put(chainKey{lane, id}, chainEntry{skipped: true, after: after})
}

// proceeded forgets id: a send with it ran (or failed for good in its turn).
func (r *refusedSends) proceeded(lane, id string) {
	delete(r.m, chainKey{lane, id})
}

// behind reports whether a send written behind after must be refused, and
// the retry-after of the refusal it is chained to. Skipped sends are
// passed over to the one they followed; the walk is bounded by the set's
// size, so a client naming ids in a cycle cannot loop it.
func (r *refusedSends) behind(lane, after string) (uint32, bool) {
	for hops := 0; after != "" && hops <= len(r.m); hops++ {
		e, ok := r.m[chainKey{lane, after}]
		switch {
		case !ok:
			return 0, false
		case !e.skipped:
			return e.retryMs, true
		}
		after = e.after
	}
	return 0, false
}

func (r *refusedSends) put(k chainKey, e chainEntry) {
	if k.id == "" || r.limit <= 0 {
		return
	}
	r.gen++
	e.gen = r.gen
	r.m[k] = e
	r.order = append(r.order, chainRef{k, e.gen})
	for len(r.m) > r.limit {
		old := r.order[0]
		r.order = r.order[1:]
		if cur, ok := r.m[old.key]; ok && cur.gen == old.gen {
			delete(r.m, old.key)
		}
	}
	if len(r.order) > 2*r.limit+16 {
		// Entries removed by proceeded leave stale refs: drop them.
		live := make([]chainRef, 0, len(r.m))
		for _, ref := range r.order {
			if cur, ok := r.m[ref.key]; ok && cur.gen == ref.gen {
				live = append(live, ref)
			}
		}
		r.order = live
	}
}

// chainedRetryMs is the retry-after of a send refused behind one whose
// refusal named none (a rate limit).
const chainedRetryMs = busyRetryMs

// behindRefused is the refusal of a send written behind a refused one.
func behindRefused(after string, retryMs uint32) *wirepb.Error {
	metricChainedRefusals.Inc()
	if retryMs == 0 {
		retryMs = chainedRetryMs
	}
	return &wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: retryMs,
		Message: "behind a refused send (client_msg_id " + after + "); send it again first"}
}

// noteRefusedEarly records a send refused before its turn in its lane (a
// rate limit, MaxInflight, a malformed frame). Called with reqMu held.
func (c *conn) noteRefusedEarly(req *wirepb.Request, e *wirepb.Error) {
	s := req.GetSend()
	lane := c.laneOf(req)
	if s == nil || lane == "" {
		return
	}
	if wirepb.Transient(e.GetCode()) {
		c.refused.refused(lane, s.ClientMsgId, e.GetRetryAfterMs())
	} else if s.AfterClientMsgId != "" {
		c.refused.skipped(lane, s.ClientMsgId, s.AfterClientMsgId)
	}
}

// noteOutcome records how a send fared in its turn. Called with reqMu held.
func (c *conn) noteOutcome(req *wirepb.Request, lane string, e *wirepb.Error) {
	id := req.GetSend().GetClientMsgId()
	if code := e.GetCode(); code != wirepb.Code_OK && wirepb.Transient(code) {
		c.refused.refused(lane, id, e.GetRetryAfterMs())
		return
	}
	c.refused.proceeded(lane, id)
}
