package transport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// handle takes one request frame off the stream. What needs no grain
// (refusals, ping, ack) is answered here, on the reading goroutine; the
// rest goes to the connection's workers, at most MaxInflight unanswered.
func (c *conn) handle(b []byte) {
	req, err := decodeRequest(b, c.s.cfg.Requests)
	if req == nil {
		// Not a Request: its id is unknown, so the answer carries 0.
		c.answer(nil, time.Now(), &wirepb.Response{Error: wireErr(err)})
		return
	}
	start := time.Now()
	if sig := req.GetSignal(); sig != nil && err == nil {
		// In-band typing (carriers without datagrams): the signal rate
		// limit, not the request rate, as for datagrams.
		if !c.sigLimiter.Allow() {
			c.answer(req, start, &wirepb.Response{Error: wirepb.Errorf(wirepb.Code_RATE_LIMITED, "too many signals")})
			return
		}
		c.sess.Typing(sig.Conv, sig.Kind == wirepb.Signal_STOP_TYPING)
		c.answer(req, start, &wirepb.Response{})
		return
	}
	if err == nil {
		err = c.admit(c.requestWeight(req))
	}
	if err != nil {
		we := wireErr(err)
		c.reqMu.Lock()
		c.noteRefusedEarly(req, we)
		c.reqMu.Unlock()
		c.answer(req, start, &wirepb.Response{Error: we})
		return
	}
	switch op := req.Op.(type) {
	case *wirepb.Request_Ping:
		c.answer(req, start, &wirepb.Response{Result: &wirepb.Response_Ping{Ping: &wirepb.PingResult{ServerTimeMs: time.Now().UnixMilli()}}})
		return
	case *wirepb.Request_Ack:
		cursor, delivered := c.q.ack(op.Ack.InboxSeqs, op.Ack.SyncCursor)
		c.storeCursorLater()
		if len(delivered) > 0 {
			c.signalDelivered(delivered)
		}
		// Nobody waits on an ack's answer: it leaves with the next frame.
		c.answerLazily(req, start, &wirepb.Response{Result: &wirepb.Response_Ack{Ack: &wirepb.AckResult{Cursor: cursor}}})
		return
	}
	c.reqMu.Lock()
	if _, dup := c.inflight[req.Id]; dup {
		we := wirepb.Errorf(wirepb.Code_PROTOCOL, "request id %d is already in flight", req.Id)
		c.noteRefusedEarly(req, we)
		c.reqMu.Unlock()
		c.answer(req, start, &wirepb.Response{Error: we})
		return
	}
	if len(c.inflight) >= c.s.cfg.MaxInflight {
		we := &wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: busyRetryMs, Message: "too many requests in flight on this connection"}
		c.noteRefusedEarly(req, we)
		c.reqMu.Unlock()
		c.answer(req, start, &wirepb.Response{Error: we})
		return
	}
	c.inflight[req.Id] = inflightReq{arrived: start, runnable: start}
	if lane := c.laneOf(req); lane != "" {
		if waiting, busy := c.lanes[lane]; busy {
			// A send to this conversation is still running: this one
			// follows it, so seqs are given in the order sent.
			c.lanes[lane] = append(waiting, req)
			c.reqMu.Unlock()
			return
		}
		c.lanes[lane] = nil
	}
	c.reqQ = append(c.reqQ, req)
	spawn := c.workers < c.s.cfg.Workers
	if spawn {
		c.workers++
		c.requests.Add(1)
	}
	c.reqMu.Unlock()
	if spawn {
		c.s.warm.Go(c.work)
	}
}

// tooLate says whether a request waited past MaxQueueWait for a worker
// once it could run, or (a send) past MaxLaneWait since it arrived.
func (c *conn) tooLate(t inflightReq) bool {
	return time.Since(t.runnable) > c.s.cfg.MaxQueueWait || time.Since(t.arrived) > c.s.cfg.MaxLaneWait
}

// queuedTooLong is the refusal of a request that waited too long for its
// turn: BUSY, come back in about MaxQueueWait (jittered ±50% so the
// refused do not return together).
func (c *conn) queuedTooLong(t inflightReq) *wirepb.Error {
	metricQueueWaitRefusals.Inc()
	bound := c.s.cfg.MaxQueueWait
	after := bound/2 + rand.N(bound)
	msg := fmt.Sprintf("waited %s for its turn on this connection, limit %s", time.Since(t.runnable).Round(time.Millisecond), bound)
	if time.Since(t.arrived) > c.s.cfg.MaxLaneWait {
		msg = fmt.Sprintf("waited %s for its turn at the node, behind earlier sends to its conversation, limit %s", time.Since(t.arrived).Round(time.Millisecond), c.s.cfg.MaxLaneWait)
	}
	return &wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: uint32(max(after/time.Millisecond, 1)), Message: msg}
}

// busyRetryMs is the retry-after of a request refused because its
// connection has MaxInflight requests unanswered.
const busyRetryMs = 50

// work runs queued requests until none is left. A request that waited
// past MaxQueueWait for its turn is refused BUSY instead, and so are the
// sends queued behind it in its lane: accepting them would sequence them
// before the refused one when its client sends it again. For the same
// reason a send written behind one refused transiently (its
// after_client_msg_id, chain.go) is refused in its turn.
func (c *conn) work() {
	defer c.requests.Done()
	for {
		c.reqMu.Lock()
		if len(c.reqQ) == 0 {
			c.workers--
			c.reqQ = nil
			c.reqMu.Unlock()
			return
		}
		req := c.reqQ[0]
		c.reqQ[0] = nil
		c.reqQ = c.reqQ[1:]
		times := c.inflight[req.Id]
		lane := c.laneOf(req)
		var chained *wirepb.Error
		if lane != "" {
			if after := req.GetSend().GetAfterClientMsgId(); after != "" {
				if retryMs, behind := c.refused.behind(lane, after); behind {
					chained = behindRefused(after, retryMs)
				}
			}
		}
		c.reqMu.Unlock()
		late := c.tooLate(times)
		start, res := times.arrived, (*wirepb.Response)(nil)
		switch {
		case late:
			res = &wirepb.Response{Error: c.queuedTooLong(times)}
		case chained != nil:
			res = &wirepb.Response{Error: chained}
		default:
			metricRequestWait.WithLabelValues(opName(req)).Observe(time.Since(times.arrived).Seconds())
			res = c.serve(req)
		}
		outcome := res.GetError() // nil when it succeeded
		if outcome.GetCode() == wirepb.Code_OK {
			outcome = nil
		}
		var refused []*wirepb.Request
		var since []inflightReq
		c.reqMu.Lock()
		delete(c.inflight, req.Id)
		if lane != "" {
			c.noteOutcome(req, lane, outcome)
			switch waiting := c.lanes[lane]; {
			case late:
				for _, w := range waiting {
					refused, since = append(refused, w), append(since, c.inflight[w.Id])
					delete(c.inflight, w.Id)
					c.refused.refused(lane, w.GetSend().GetClientMsgId(), outcome.RetryAfterMs)
				}
				delete(c.lanes, lane)
			case len(waiting) > 0:
				next := waiting[0]
				times := c.inflight[next.Id]
				times.runnable = time.Now()
				c.inflight[next.Id] = times
				c.reqQ = append(c.reqQ, next)
				c.lanes[lane] = waiting[1:]
			default:
				delete(c.lanes, lane)
			}
		}
		c.reqMu.Unlock()
		// Answered only once it no longer counts as in flight: a client
		// at MaxInflight sends its next request when it reads this.
		c.answer(req, start, res)
		for i, w := range refused {
			c.answer(w, since[i].arrived, &wirepb.Response{Error: c.queuedTooLong(since[i])})
		}
	}
}

// laneOf names the ordered lane a request runs in, "" for none. Sends to
// one conversation from one connection run one after another: pipelined
// sends are sequenced in the order they were written (§9 invariant 2 as a
// sender sees it), while sends to other conversations and every other
// request still run side by side.
func (c *conn) laneOf(req *wirepb.Request) string {
	s := req.GetSend()
	switch {
	case s == nil:
		return ""
	case s.To != "":
		return wirepb.DirectTopicConvID(c.id.User, s.To, s.Topic)
	default:
		return s.Conv
	}
}

// serve runs one admitted request against the cluster and returns its
// answer.
func (c *conn) serve(req *wirepb.Request) (res *wirepb.Response) {
	defer func() {
		// A bug in a handler costs its request, not the connection.
		if r := recover(); r != nil {
			c.logger().Error("request handler panicked", "op", opName(req), "panic", r)
			res = &wirepb.Response{Error: wirepb.Errorf(wirepb.Code_INTERNAL, "internal error")}
		}
	}()
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.RequestTimeout)
	defer cancel()
	return c.dispatch(ctx, req)
}

// answer queues res as the answer to req (nil: a frame that was no
// request) and records it.
func (c *conn) answer(req *wirepb.Request, start time.Time, res *wirepb.Response) {
	c.record(req, start, res)
	c.queue(res)
}

// answerLazily is answer for an answer nobody waits on (lazy.go).
func (c *conn) answerLazily(req *wirepb.Request, start time.Time, res *wirepb.Response) {
	c.record(req, start, res)
	c.queueLazy(res)
}

// record counts the answer to req in the request metrics.
func (c *conn) record(req *wirepb.Request, start time.Time, res *wirepb.Response) {
	op := "unknown"
	if req != nil {
		res.Id = req.Id
		op = opName(req)
	}
	code := res.GetError().GetCode()
	observeRequest(op, code.String(), time.Since(start).Seconds())
	if code != wirepb.Code_OK {
		metricErrors.WithLabelValues(code.String()).Inc()
	}
}

// usersPerToken: a request that asks about many users (profiles,
// presences) takes one more request token per this many of them.
const usersPerToken = 10

// requestWeight is how many request tokens req takes: one, and one more
// per usersPerToken users a request asks about, so a list of a hundred
// users costs about what asking for them in tens would; never more than
// the bursts, which could then never admit it.
func (c *conn) requestWeight(req *wirepb.Request) int {
	var users int
	switch op := req.Op.(type) {
	case *wirepb.Request_Profiles:
		users = len(op.Profiles.Users)
	case *wirepb.Request_Presences:
		users = len(op.Presences.Users)
	}
	return min(1+users/usersPerToken, c.s.cfg.ConnBurst, c.s.cfg.UserBurst)
}

// admit applies the per-connection and per-user request rates, weight
// tokens of each; a client that keeps flooding is disconnected.
func (c *conn) admit(weight int) error {
	now := time.Now()
	if c.limiter.AllowN(now, weight) && c.userLimiter.AllowN(now, weight) {
		c.rejected.Store(0)
		return nil
	}
	if c.rejected.Add(1) > int64(c.s.cfg.MaxRejected) {
		go c.close(wirepb.Errorf(wirepb.Code_RATE_LIMITED, "request flood"))
	}
	return wirepb.Errorf(wirepb.Code_RATE_LIMITED, "too many requests; slow down")
}

// wireErr turns any error into what the client is told: rejections keep
// their code and text; other failures do not leak their details.
func wireErr(err error) *wirepb.Error {
	var we *wirepb.Error
	if errors.As(err, &we) {
		return we
	}
	var ae *session.Error
	if errors.As(err, &ae) {
		return &wirepb.Error{Code: wireCode(ae.Code), Message: ae.Message, RetryAfterMs: ae.RetryAfterMs}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return wirepb.Errorf(wirepb.Code_UNAVAILABLE, "the cluster did not answer in time")
	}
	return wirepb.Errorf(wirepb.Code_INTERNAL, "internal error")
}

// wireCode maps the grains' codes, which share their numbers with the
// wire's 0–31.
func wireCode(c pb.Code) wirepb.Code {
	if _, ok := wirepb.Code_name[int32(c)]; ok && c < 32 {
		return wirepb.Code(c)
	}
	return wirepb.Code_INTERNAL
}

func (c *conn) fail(err error) *wirepb.Response {
	e := wireErr(err)
	if e.Code == wirepb.Code_INTERNAL {
		c.logger().Error("request failed", "err", err)
	}
	return &wirepb.Response{Error: e}
}

// dispatch runs a validated request through the connection's session,
// which acts as its user and device: no request names its sender, so no
// client can act as someone else.
func (c *conn) dispatch(ctx context.Context, req *wirepb.Request) *wirepb.Response {
	sess := c.sess
	switch op := req.Op.(type) {
	case *wirepb.Request_Send:
		s := op.Send
		m := sendMessageOf(s)
		r, err := sess.Send(ctx, s.To, m)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Send{Send: &wirepb.SendResult{
			Conv: m.Conv, Seq: r.Seq, MsgId: r.MsgId, ServerTsMs: r.ServerTsMs, Duplicate: r.Duplicate, Flagged: r.Flagged, StoredBody: r.StoredBody, Media: wireMedia(r.Media),
			ExpiresAtMs: r.ExpiresAtMs, VoterAlias: r.VoterAlias, Location: wireLocation(r.Location)}}}

	case *wirepb.Request_Sync:
		r, err := sess.Sync(ctx, op.Sync.Cursor, int(op.Sync.Limit))
		if err != nil {
			return c.fail(err)
		}
		res := wireSync(r)
		if err := fitSync(res, c.s.cfg.MaxFrame-64); err != nil {
			return c.fail(err)
		}
		c.q.noteSync(res)
		return &wirepb.Response{Result: &wirepb.Response_Sync{Sync: res}}

	case *wirepb.Request_History:
		h := op.History
		ms, err := sess.History(ctx, &pb.GetHistory{Conv: h.Conv, FromSeq: h.FromSeq, ToSeq: h.ToSeq, OldestFirst: h.OldestFirst, Limit: h.Limit})
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.HistoryResult{Messages: wireMessages(ms)}
		fitHistory(res, c.s.cfg.MaxFrame-64)
		return &wirepb.Response{Result: &wirepb.Response_History{History: res}}

	case *wirepb.Request_SeqAt:
		seq, sent, err := sess.SeqAt(ctx, op.SeqAt.Conv, time.UnixMilli(op.SeqAt.AtMs))
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.SeqAt{Conv: op.SeqAt.Conv, Seq: seq}
		if seq != 0 {
			res.ServerTsMs = sent.UnixMilli()
		}
		return &wirepb.Response{Result: &wirepb.Response_SeqAt{SeqAt: res}}

	case *wirepb.Request_Search:
		q := op.Search
		find := session.SearchQuery{Text: q.Query, Sender: q.Sender, Files: q.Files, ReplyTo: q.ReplyTo, Mentions: q.Mentions}
		var res *wirepb.SearchResult
		if q.Conv == "" {
			ms, nextConv, next, err := sess.SearchEverywhere(ctx, find, q.FromConv, q.BeforeSeq, int(q.Limit))
			if err != nil {
				return c.fail(err)
			}
			res = &wirepb.SearchResult{Messages: wireMessages(ms), NextConv: nextConv, NextBeforeSeq: next}
		} else {
			ms, next, err := sess.Search(ctx, q.Conv, find, q.BeforeSeq, int(q.Limit))
			if err != nil {
				return c.fail(err)
			}
			res = &wirepb.SearchResult{Messages: wireMessages(ms), NextBeforeSeq: next}
		}
		fitSearch(res, c.s.cfg.MaxFrame-64, q.Conv == "")
		return &wirepb.Response{Result: &wirepb.Response_Search{Search: res}}

	case *wirepb.Request_MarkRead:
		r, err := sess.MarkRead(ctx, op.MarkRead.Conv, op.MarkRead.Seq)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MarkRead{MarkRead: &wirepb.MarkReadResult{ReadSeq: r.ReadSeq, TotalUnread: r.TotalUnread}}}

	case *wirepb.Request_MarkAllRead:
		r, err := sess.MarkAllRead(ctx)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MarkAllRead{MarkAllRead: &wirepb.MarkAllReadResult{Conversations: r.Conversations, TotalUnread: r.TotalUnread}}}

	case *wirepb.Request_ClearHistory:
		cleared, total, err := sess.ClearHistory(ctx, op.ClearHistory.Conv, op.ClearHistory.Seq)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_ClearHistory{ClearHistory: &wirepb.ClearHistoryResult{ClearedSeq: cleared, TotalUnread: total}}}

	case *wirepb.Request_Hide:
		hidden, err := sess.Hide(ctx, op.Hide.Conv, op.Hide.Seqs, op.Hide.Unhide)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Hide{Hide: &wirepb.HideResult{HiddenSeqs: hidden}}}

	case *wirepb.Request_Schedule:
		sc, err := sess.Schedule(ctx, op.Schedule.Send.To, sendMessageOf(op.Schedule.Send), time.UnixMilli(op.Schedule.AtMs))
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Schedule{Schedule: &wirepb.ScheduleResult{Scheduled: wireScheduled(sc)}}}

	case *wirepb.Request_Scheduled:
		list, err := sess.ScheduledSends(ctx)
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.ScheduledResult{Messages: make([]*wirepb.ScheduledSend, len(list))}
		for i, sc := range list {
			res.Messages[i] = wireScheduled(sc)
		}
		return &wirepb.Response{Result: &wirepb.Response_Scheduled{Scheduled: res}}

	case *wirepb.Request_Unschedule:
		if err := sess.Unschedule(ctx, op.Unschedule.Id); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Unschedule{Unschedule: &wirepb.UnscheduleResult{}}}

	case *wirepb.Request_Star:
		var n int
		var err error
		if at := op.Star.RemindAtMs; at > 0 {
			n, err = sess.Remind(ctx, op.Star.Conv, op.Star.Seq, time.UnixMilli(at))
		} else {
			n, err = sess.Star(ctx, op.Star.Conv, op.Star.Seq, op.Star.Starred)
		}
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Star{Star: &wirepb.StarResult{Count: uint32(n)}}}

	case *wirepb.Request_Starred:
		var before time.Time
		if ms := op.Starred.BeforeMs; ms > 0 {
			before = time.UnixMilli(ms)
		}
		msgs, next, err := sess.Starred(ctx, before, int(op.Starred.Limit))
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.StarredResult{Messages: make([]*wirepb.StarredMessage, len(msgs))}
		for i, s := range msgs {
			res.Messages[i] = &wirepb.StarredMessage{Message: wireMessage(s.Message), StarredAtMs: s.StarredAt.UnixMilli()}
			if !s.RemindAt.IsZero() {
				res.Messages[i].RemindAtMs = s.RemindAt.UnixMilli()
			}
		}
		if !next.IsZero() {
			res.NextBeforeMs = next.UnixMilli()
		}
		return &wirepb.Response{Result: &wirepb.Response_Starred{Starred: res}}

	case *wirepb.Request_Recall:
		seq, err := sess.Recall(ctx, op.Recall.Conv, op.Recall.Seq)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Recall{Recall: &wirepb.RecallResult{Seq: seq}}}

	case *wirepb.Request_ListConversations:
		l := op.ListConversations
		r, err := sess.ListConversations(ctx, session.ListOptions{After: l.AfterConv, Limit: int(l.Limit), Archived: l.Archived, Label: l.Label, Topic: l.Topic})
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.ListConversationsResult{Conversations: wireSummaries(r.Conversations), TotalUnread: r.TotalUnread}
		fitSummaries(&res.Conversations, c.s.cfg.MaxFrame-64)
		return &wirepb.Response{Result: &wirepb.Response_ListConversations{ListConversations: res}}

	case *wirepb.Request_CreateGroup:
		g := op.CreateGroup
		members := make([]*pb.Member, 0, len(g.Members)+len(g.Roles))
		for _, u := range g.Members {
			members = append(members, &pb.Member{User: u})
		}
		for _, m := range g.Roles {
			members = append(members, &pb.Member{User: m.User, Role: pb.Role(m.Role)})
		}
		kind := pb.ConvKind_GROUP
		if g.Kind != wirepb.ConvKind_CONV_KIND_UNSPECIFIED {
			kind = pb.ConvKind(g.Kind)
		}
		r, err := sess.CreateConversation(ctx, &pb.CreateConversation{Conv: g.Conv, Kind: kind, Members: members, Title: g.Title})
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_CreateGroup{CreateGroup: &wirepb.CreateGroupResult{Conv: r.Conv, LastSeq: r.LastSeq}}}

	case *wirepb.Request_Membership:
		m := op.Membership
		seq, err := sess.ChangeMembership(ctx, &pb.MembershipChange{Conv: m.Conv, Op: pb.MembershipChange_Op(m.Op), Users: m.Users, Role: pb.Role(m.Role), ForMs: m.ForMs})
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Membership{Membership: &wirepb.MembershipResult{Seq: seq}}}

	case *wirepb.Request_Members:
		ms, next, err := sess.Members(ctx, op.Members.Conv, op.Members.After, int(op.Members.Limit))
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Members{Members: &wirepb.MembersResult{Members: wireMembers(ms), Next: next}}}

	case *wirepb.Request_ReadBy:
		rb := op.ReadBy
		readers, next, err := sess.Readers(ctx, rb.Conv, rb.Seq, rb.After, int(rb.Limit))
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.ReadByResult{Members: make([]*wirepb.MemberRead, len(readers)), Next: next}
		for i, r := range readers {
			res.Members[i] = &wirepb.MemberRead{User: r.User, Read: r.Read}
		}
		return &wirepb.Response{Result: &wirepb.Response_ReadBy{ReadBy: res}}

	case *wirepb.Request_PollResults:
		pr := op.PollResults
		r, err := sess.PollResults(ctx, pr.Conv, pr.Seq, int(pr.VotersLimit))
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.PollResultsResult{Question: r.Question, Multiple: r.Multiple, Closed: r.Closed, Voters: r.Voters, Mine: r.Mine,
			ThroughSeq: r.ThroughSeq, ClosesAtMs: r.ClosesAtMs, Options: make([]*wirepb.PollOptionResult, len(r.Options)),
			Quiz: r.Quiz, Correct: r.Correct, Explanation: r.Explanation, Anonymous: r.Anonymous}
		for i, o := range r.Options {
			res.Options[i] = &wirepb.PollOptionResult{Text: o.Text, Votes: o.Votes, Voters: o.Voters}
		}
		return &wirepb.Response{Result: &wirepb.Response_PollResults{PollResults: res}}

	case *wirepb.Request_MediaCreate:
		mc := op.MediaCreate
		r, err := sess.CreateMedia(ctx, mc.Conv, &pb.MediaRef{Name: mc.Name, Mime: mc.Mime, Size: mc.Size, Width: mc.Width, Height: mc.Height, Thumb: mc.Thumb,
			DurationMs: mc.DurationMs})
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MediaCreate{MediaCreate: wireMedia(r)}}

	case *wirepb.Request_MediaChunk:
		mc := op.MediaChunk
		if err := sess.PutMediaChunk(ctx, mc.Conv, mc.Id, int(mc.Index), mc.Data); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MediaChunk{MediaChunk: &wirepb.MediaChunkResult{}}}

	case *wirepb.Request_MediaComplete:
		r, err := sess.CompleteMedia(ctx, op.MediaComplete.Conv, op.MediaComplete.Id)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MediaComplete{MediaComplete: wireMedia(r)}}

	case *wirepb.Request_MediaRead:
		mr := op.MediaRead
		read := func() (*pb.MediaRef, []byte, error) { return sess.ReadMedia(ctx, mr.Conv, mr.Seq, int(mr.Index)) }
		if mr.Picture {
			read = func() (*pb.MediaRef, []byte, error) { return sess.ReadGroupPicture(ctx, mr.Conv, int(mr.Index)) }
		}
		r, data, err := read()
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MediaRead{MediaRead: &wirepb.MediaReadResult{Media: wireMedia(r), Data: data}}}

	case *wirepb.Request_Presence:
		r, err := sess.Presence(ctx, op.Presence.User, op.Presence.Conv)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Presence{Presence: &wirepb.PresenceResult{Online: len(r.Devices) > 0, Devices: uint32(len(r.Devices)), LastSeenMs: r.LastSeenMs}}}

	case *wirepb.Request_Presences:
		ps, err := sess.Presences(ctx, op.Presences.Conv, op.Presences.Users)
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.PresencesResult{Users: make([]*wirepb.PresencesResult_User, len(ps))}
		for i, p := range ps {
			res.Users[i] = &wirepb.PresencesResult_User{User: p.User, Online: len(p.Devices) > 0, Devices: uint32(len(p.Devices)), LastSeenMs: p.LastSeenMs}
		}
		return &wirepb.Response{Result: &wirepb.Response_Presences{Presences: res}}

	case *wirepb.Request_Pin:
		if err := sess.SetPinned(ctx, op.Pin.Conv, op.Pin.Pinned); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Pin{Pin: &wirepb.PinResult{}}}

	case *wirepb.Request_Away:
		a, err := sess.Away(ctx, op.Away.Text, untilOf(op.Away.UntilMs))
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Away{Away: &wirepb.Away{Text: a.GetText(), SinceMs: a.GetSinceMs(), UntilMs: a.GetUntilMs()}}}

	case *wirepb.Request_QuietHours:
		var set *pb.QuietHours
		if q := op.QuietHours.Set; q != nil {
			set = &pb.QuietHours{Zone: q.Zone, Week: q.Week}
		}
		q, err := sess.QuietHours(ctx, set, op.QuietHours.Off)
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.QuietHoursResult{}
		if q != nil {
			res.Quiet = &wirepb.QuietHours{Zone: q.Zone, Week: q.Week}
		}
		return &wirepb.Response{Result: &wirepb.Response_QuietHours{QuietHours: res}}

	case *wirepb.Request_Disappearing:
		after, seq, err := sess.Disappearing(ctx, op.Disappearing.Conv, op.Disappearing.AfterMs)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Disappearing{Disappearing: &wirepb.Disappearing{Conv: op.Disappearing.Conv,
			AfterMs: after.Milliseconds(), Seq: seq}}}

	case *wirepb.Request_Freeze:
		var until time.Time
		if ms := op.Freeze.UntilMs; ms != 0 {
			until = time.UnixMilli(ms)
		}
		f, seq, err := sess.Freeze(ctx, op.Freeze.Conv, op.Freeze.Frozen, op.Freeze.Reason, until)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Freeze{Freeze: &wirepb.FreezeResult{Frozen: wireFrozen(f), Seq: seq}}}

	case *wirepb.Request_Call:
		r := op.Call
		call, offer, err := sess.Call(ctx, &pb.CallOp{Conv: r.Conv, Op: pb.CallOp_Op(r.Op), CallId: r.CallId, Video: r.Video,
			Payload: r.Payload, Reason: r.Reason})
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.CallResult{Call: wireCall(call), Offer: offer}
		if r.Op == wirepb.CallRequest_STATE {
			for _, s := range c.s.cfg.ICE.For(c.id.User, time.Now()) {
				res.IceServers = append(res.IceServers, &wirepb.IceServer{Urls: s.URLs, Username: s.Username, Credential: s.Credential})
			}
		}
		return &wirepb.Response{Result: &wirepb.Response_Call{Call: res}}

	case *wirepb.Request_LinkPreview:
		p, err := sess.LinkPreview(ctx, op.LinkPreview.Url)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_LinkPreview{LinkPreview: &wirepb.LinkPreview{Url: p.URL, Title: p.Title,
			Description: p.Description, ImageUrl: p.ImageURL, SiteName: p.SiteName}}}

	case *wirepb.Request_Profile:
		p, err := sess.Profile(ctx, &pb.SetProfile{Name: op.Profile.Name, AvatarUrl: op.Profile.AvatarUrl})
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Profile{Profile: wireProfile(p)}}

	case *wirepb.Request_Profiles:
		ps, err := sess.Profiles(ctx, op.Profiles.Conv, op.Profiles.Users)
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.ProfilesResult{Profiles: make([]*wirepb.Profile, len(ps))}
		for i, p := range ps {
			res.Profiles[i] = wireProfile(p)
		}
		return &wirepb.Response{Result: &wirepb.Response_Profiles{Profiles: res}}

	case *wirepb.Request_Draft:
		n, err := sess.SetDraft(ctx, op.Draft.Conv, op.Draft.Text)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Draft{Draft: &wirepb.DraftResult{Count: uint32(n)}}}

	case *wirepb.Request_Drafts:
		ds, err := sess.Drafts(ctx)
		if err != nil {
			return c.fail(err)
		}
		res := &wirepb.DraftsResult{Drafts: make([]*wirepb.Draft, len(ds))}
		for i, d := range ds {
			res.Drafts[i] = &wirepb.Draft{Conv: d.Conv, Text: d.Text, UpdatedMs: d.AtMs}
		}
		return &wirepb.Response{Result: &wirepb.Response_Drafts{Drafts: res}}

	case *wirepb.Request_Privacy:
		change := &pb.SetPrivacy{HideReadReceipts: op.Privacy.HideReadReceipts, HidePreviews: op.Privacy.HidePreviews}
		if p := op.Privacy.Presence; p != nil {
			change.Presence = pb.PresenceSharing(*p).Enum()
		}
		if d := op.Privacy.DirectFrom; d != nil {
			change.DirectFrom = pb.DirectFrom(*d).Enum()
		}
		if g := op.Privacy.GroupAddFrom; g != nil {
			change.GroupAddFrom = pb.GroupAddFrom(*g).Enum()
		}
		got, err := sess.Privacy(ctx, change)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Privacy{Privacy: &wirepb.PrivacyResult{Presence: wirepb.PresenceSharing(got.Presence),
			HideReadReceipts: got.HideReadReceipts, HidePreviews: got.HidePreviews, DirectFrom: wirepb.DirectFrom(got.DirectFrom),
			GroupAddFrom: wirepb.GroupAddFrom(got.GroupAddFrom)}}}

	case *wirepb.Request_GroupSettings:
		g := op.GroupSettings
		r, err := sess.GroupSettings(ctx, &pb.GroupSettings{Conv: g.Conv, PrejoinHistory: g.PrejoinHistory, AdminsOnly: g.AdminsOnly,
			PinSeq: g.PinSeq, UnpinSeq: g.UnpinSeq, SlowModeMs: g.SlowModeMs, Title: g.Title, Description: g.Description, Picture: g.Picture})
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_GroupSettings{GroupSettings: &wirepb.GroupSettingsResult{
			PrejoinHistory: r.PrejoinHistory, AdminsOnly: r.AdminsOnly, Seq: r.Seq, PinnedSeqs: r.PinnedSeqs, SlowModeMs: r.SlowModeMs,
			Title: r.Title, Description: r.Description, Picture: wireMedia(r.Picture), MemberCount: r.MemberCount, Managers: wireMembers(r.Managers)}}}

	case *wirepb.Request_GroupInvite:
		g := op.GroupInvite
		r, err := sess.GroupInvite(ctx, &pb.GroupInvite{Conv: g.Conv, Create: g.Create, TtlMs: g.TtlMs, MaxUses: g.MaxUses, Revoke: g.Revoke,
			Approval: g.Approval})
		if err != nil {
			return c.fail(err)
		}
		out := &wirepb.GroupInviteResult{Code: r.Token, Id: r.Id}
		for _, i := range r.Invites {
			out.Invites = append(out.Invites, &wirepb.GroupInvite{Id: i.Id, By: i.By, CreatedMs: i.CreatedMs, ExpiresMs: i.ExpiresMs, MaxUses: i.MaxUses, Uses: i.Uses,
				Approval: i.Approval})
		}
		for _, q := range r.Requests {
			out.Requests = append(out.Requests, &wirepb.JoinRequest{User: q.User, Name: q.Name, AtMs: q.AtMs, Invite: q.Invite, ExpiresMs: q.ExpiresMs, Note: q.Note})
		}
		return &wirepb.Response{Result: &wirepb.Response_GroupInvite{GroupInvite: out}}

	case *wirepb.Request_JoinGroup:
		conv, r, err := sess.JoinGroup(ctx, op.JoinGroup.Code, op.JoinGroup.Note)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_JoinGroup{JoinGroup: &wirepb.JoinGroupResult{Conv: conv, Seq: r.Seq, Already: r.Already, LastSeq: r.LastSeq,
			Pending: r.Pending}}}

	case *wirepb.Request_Label:
		labels, err := sess.SetLabels(ctx, op.Label.Conv, op.Label.Add, op.Label.Remove)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Label{Label: &wirepb.LabelResult{Labels: labels}}}
	case *wirepb.Request_MarkUnread:
		if err := sess.SetMarkedUnread(ctx, op.MarkUnread.Conv, op.MarkUnread.Marked); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_MarkUnread{MarkUnread: &wirepb.MarkUnreadResult{}}}
	case *wirepb.Request_Archive:
		if err := sess.SetArchived(ctx, op.Archive.Conv, op.Archive.Archived, untilOf(op.Archive.UntilMs)); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Archive{Archive: &wirepb.ArchiveResult{}}}

	case *wirepb.Request_Mute:
		total, err := sess.SetMuted(ctx, op.Mute.Conv, op.Mute.Muted, time.Duration(op.Mute.ForMs)*time.Millisecond)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Mute{Mute: &wirepb.MuteResult{TotalUnread: total}}}

	case *wirepb.Request_Blocked:
		users, next, err := sess.BlockedUsers(ctx, op.Blocked.AfterConv, int(op.Blocked.Limit))
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Blocked{Blocked: &wirepb.BlockedResult{Users: users, Next: next}}}

	case *wirepb.Request_Report:
		id, dup, err := sess.Report(ctx, op.Report.Conv, op.Report.Seq, op.Report.Reason)
		if err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Report{Report: &wirepb.ReportResult{ReportId: id, Duplicate: dup}}}

	case *wirepb.Request_Block:
		if err := sess.Block(ctx, op.Block.User, op.Block.Block); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_Block{Block: &wirepb.BlockResult{}}}

	case *wirepb.Request_CardClick:
		return c.cardClick(ctx, op.CardClick)

	case *wirepb.Request_RegisterPush:
		if err := sess.RegisterPush(ctx, op.RegisterPush.Platform, op.RegisterPush.Token, op.RegisterPush.VoipToken); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_RegisterPush{RegisterPush: &wirepb.RegisterPushResult{}}}

	case *wirepb.Request_UnregisterPush:
		if err := sess.UnregisterPush(ctx); err != nil {
			return c.fail(err)
		}
		return &wirepb.Response{Result: &wirepb.Response_UnregisterPush{UnregisterPush: &wirepb.UnregisterPushResult{}}}

	case *wirepb.Request_DeskHandover:
		return c.deskHandover(ctx, op.DeskHandover)

	case *wirepb.Request_DeskEnter, *wirepb.Request_DeskReach, *wirepb.Request_DeskStatus, *wirepb.Request_DeskQueue, *wirepb.Request_DeskTransfer, *wirepb.Request_DeskClose, *wirepb.Request_DeskRate, *wirepb.Request_DeskNote, *wirepb.Request_DeskSession,
		*wirepb.Request_DeskReplies, *wirepb.Request_DeskTag:
		return c.desk(ctx, req)

	case *wirepb.Request_MyMetrics:
		return c.myMetrics(ctx, op.MyMetrics)
	}
	return &wirepb.Response{Error: wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "unknown operation")}
}

// fitHistory cuts a page to fit budget bytes, keeping its first messages.
func fitHistory(res *wirepb.HistoryResult, budget int) {
	if proto.Size(res) <= budget {
		return
	}
	size := 0
	for i, m := range res.Messages {
		size += proto.Size(m) + 8
		if size > budget {
			res.Messages, res.Truncated = res.Messages[:i], true
			return
		}
	}
}

// fitSearch drops the last matches until the answer fits budget; the
// search then goes on from the last match kept (in its conversation, for
// a search of all of them).
func fitSearch(res *wirepb.SearchResult, budget int, everywhere bool) {
	h := &wirepb.HistoryResult{Messages: res.Messages}
	fitHistory(h, budget)
	// A message always fits a frame (the send path's limit), so one is kept.
	if n := len(h.Messages); h.Truncated && n > 0 {
		last := h.Messages[n-1]
		res.Messages, res.NextBeforeSeq = h.Messages, last.Seq
		if everywhere {
			res.NextConv = last.Conv
		}
	}
}

// fitSummaries drops last-message bodies, then trailing summaries, until
// the list fits budget.
func fitSummaries(cs *[]*wirepb.ConvSummary, budget int) bool {
	size := func() int {
		n := 0
		for _, c := range *cs {
			n += proto.Size(c) + 8
		}
		return n
	}
	if size() <= budget {
		return true
	}
	for _, c := range *cs {
		if c.LastMessage != nil {
			c.LastMessage = proto.CloneOf(c.LastMessage)
			c.LastMessage.Body = nil
		}
	}
	if size() <= budget {
		return true
	}
	for size() > budget && len(*cs) > 0 {
		*cs = (*cs)[:len(*cs)-1]
	}
	return false
}

// fitSync makes a sync page fit budget: without last-message bodies, or
// refused (the client asks for a smaller limit); a sync page cannot be cut
// since its cursor covers all of it.
func fitSync(res *wirepb.SyncResult, budget int) error {
	cs := append([]*wirepb.ConvSummary(nil), res.Conversations...)
	if !fitSummaries(&cs, budget) {
		return wirepb.Errorf(wirepb.Code_TOO_LARGE, "sync page does not fit a frame; ask with a smaller limit")
	}
	res.Conversations = cs
	return nil
}

// untilOf reads an end in Unix ms: 0 is none (the zero time).
func untilOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
