package desk

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/analytics"
)

// Scores a customer gives a session: 1 (bad) to 5 (good); 4 and 5 count as
// satisfied in the metrics (docs/METRICS.md).
const (
	MinScore = analytics.MinScore
	MaxScore = analytics.MaxScore
)

// Rating is a customer's rating of a closed session. It is recorded as a
// "rating" step in the conversation, which the metrics engine counts for
// the agent who had the session when it closed (or, with the robot, for the
// business line only).
type Rating struct {
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
	Agent   string `json:"agent,omitempty"` // the agent who had the session at its close
	Bot     string `json:"bot,omitempty"`   // or the robot
	At      int64  `json:"at_ms"`
	// Seq is the rating step's seq; 0 while it is being written: saved
	// first, so a retry or the next activation writes this rating, never
	// a different one (the metrics count one rating per session).
	Seq uint64 `json:"seq,omitempty"`
}

// RatingInfo answers a rating request: the rating that stands, and whether
// the session had been rated before this request.
type RatingInfo struct {
	Conv      string `json:"conv"`
	Session   string `json:"session"`
	Score     int    `json:"score"`
	Comment   string `json:"comment,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Duplicate bool   `json:"duplicate"`
}

type rateReq struct {
	Conv    string `json:"conv"`
	By      string `json:"by"`
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
}

// Rate records customer by's rating of the last session of conv, once it
// is closed: score MinScore–MaxScore and an optional comment. Rating a
// rated session again answers the first rating (Duplicate).
func (d *Desk) Rate(ctx context.Context, by, conv string, score int, comment string) (RatingInfo, error) {
	if !actors.ValidUserID(by) {
		return RatingInfo{}, invalid("bad user id %q", by)
	}
	if score < MinScore || score > MaxScore {
		return RatingInfo{}, invalid("score %d (want %d to %d)", score, MinScore, MaxScore)
	}
	if n := len(comment); n > d.cfg.MaxRatingComment {
		return RatingInfo{}, invalid("rating comment is %d bytes, limit %d", n, d.cfg.MaxRatingComment)
	}
	th, err := convThread(conv)
	if err != nil {
		return RatingInfo{}, err
	}
	var out RatingInfo
	err = d.call(ctx, KindThread, th, "rate", rateReq{Conv: conv, By: by, Score: score, Comment: comment}, &out)
	return out, err
}

// rate is the thread's side of Rate: only the customer, only the last
// session, only once it closed with an agent or the robot, and only within
// the rating window.
func (t *threadGrain) rate(g *grain, ctx actor.Context, r rateReq) (any, error) {
	s := t.Session
	if r.Conv != t.Conv {
		return nil, rejected(pb.Code_NOT_FOUND, "%s is not the current conversation of %s/%s", r.Conv, t.Line, t.Customer)
	}
	if r.By != t.who() {
		return nil, rejected(pb.Code_FORBIDDEN, "only the customer rates the session of %s", t.Conv)
	}
	if s == nil {
		return nil, rejected(pb.Code_NOT_FOUND, "no session in %s to rate", t.Conv)
	}
	if t.open() {
		return nil, invalid("the session of %s is still open: rate it once it is closed", t.Conv)
	}
	if s.Rating != nil {
		if err := t.writeRating(g, ctx); err != nil {
			return nil, err
		}
		return t.ratingInfo(true), nil
	}
	if s.Agent == "" && s.Bot == "" {
		return nil, invalid("the session of %s closed while it waited: nobody answered it", t.Conv)
	}
	if since := time.Duration(nowMs()-t.ClosedAt) * time.Millisecond; since > g.d.cfg.RatingWindow {
		return nil, invalid("the session of %s closed %v ago, past the rating window of %v", t.Conv, since.Round(time.Second), g.d.cfg.RatingWindow)
	}
	s.Rating = &Rating{Score: r.Score, Comment: r.Comment, Agent: s.Agent, Bot: s.Bot, At: nowMs()}
	if err := g.save(ctx); err != nil {
		s.Rating = nil
		return nil, err
	}
	if err := t.writeRating(g, ctx); err != nil {
		return nil, err
	}
	return t.ratingInfo(false), nil
}

// writeRating records the saved rating's step unless it is recorded.
func (t *threadGrain) writeRating(g *grain, ctx actor.Context) error {
	rt := t.Session.Rating
	if rt.Seq != 0 {
		return nil
	}
	body := map[string]any{"desk": "rating", "score": rt.Score}
	if rt.Comment != "" {
		body["comment"] = rt.Comment
	}
	if rt.Agent != "" {
		body["agent"] = rt.Agent
	} else {
		body["bot"] = rt.Bot
	}
	seq, err := t.recordAt(g, t.who(), body, nil, nil, nil)
	if err != nil {
		return err
	}
	rt.Seq = seq
	return g.save(ctx)
}

func (t *threadGrain) ratingInfo(duplicate bool) RatingInfo {
	rt := t.Session.Rating
	return RatingInfo{Conv: t.Conv, Session: t.Session.ID, Score: rt.Score, Comment: rt.Comment, Agent: rt.Agent, Duplicate: duplicate}
}

// ratingPending: a rating saved whose step a crash or a failed write cut.
func (t *threadGrain) ratingPending() bool {
	return !t.open() && t.Session != nil && t.Session.Rating != nil && t.Session.Rating.Seq == 0
}
