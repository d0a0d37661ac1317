package desk

import (
	"context"
	"time"
)

// The range of a business line's first-response target.
const (
	MinFirstResponseTarget = time.Second
	MaxFirstResponseTarget = 30 * 24 * time.Hour
)

// Targets are a business line's service targets. Each session records
// the target of its line when it starts (its start step's
// first_response_target_ms), and the metrics count a first response as
// timely against it, where the global reply threshold applies otherwise
// (docs/METRICS.md, "First response of a desk session").
type Targets struct {
	// FirstResponseMs: from the customer's asking to an agent's first
	// message, in ms; 0: none (first responses count against the reply
	// threshold), for a line whose only target is its answer timeout.
	FirstResponseMs int64 `json:"first_response_ms"`
	// AnswerTimeoutMs is the line's own answer timeout (ms, 5 s to 1 h:
	// MinAnswerTimeout to MaxAnswerTimeout): a session of the line whose
	// agent wrote nothing in it for this long goes back to its queue
	// (answer.go). 0: the desk's (serve --desk-answer-timeout,
	// Config.AnswerTimeout).
	AnswerTimeoutMs int64 `json:"answer_timeout_ms,omitempty"`
}

func (t Targets) check() error {
	if t.FirstResponseMs == 0 && t.AnswerTimeoutMs == 0 {
		return invalid("targets: neither a first response nor an answer timeout (clear the targets instead)")
	}
	if d := time.Duration(t.FirstResponseMs) * time.Millisecond; t.FirstResponseMs != 0 && (t.FirstResponseMs < MinFirstResponseTarget.Milliseconds() ||
		t.FirstResponseMs > MaxFirstResponseTarget.Milliseconds()) {
		return invalid("targets: a first response of %v (want 0, none, or %v to %v)", d, MinFirstResponseTarget, MaxFirstResponseTarget)
	}
	if d := time.Duration(t.AnswerTimeoutMs) * time.Millisecond; t.AnswerTimeoutMs != 0 && (d < MinAnswerTimeout || d > MaxAnswerTimeout) {
		return invalid("targets: an answer timeout of %v (want 0, the desk's, or %v to %v)", d, MinAnswerTimeout, MaxAnswerTimeout)
	}
	return nil
}

// dueAt is when a first response to a session that started at started
// (Unix ms) falls due: target ms later, counted in the line's opening
// hours where it has them; 0 when the line never opens that much again.
func (c Config) dueAt(started, target int64, hours *Hours) int64 {
	if hours == nil {
		return started + target
	}
	sch, err := c.parseHours(*hours)
	if err != nil {
		return started + target // as the session's queue waits: hours that no longer parse are none
	}
	due, ok := sch.AddOpen(time.UnixMilli(started), time.Duration(target)*time.Millisecond)
	if !ok {
		return 0
	}
	return due.UnixMilli()
}

// lineSettings are what a session takes from its business line when it
// starts: the opening hours (nil: always open) and the targets (nil:
// none).
type lineSettings struct {
	Hours   *Hours   `json:"hours,omitempty"`
	Targets *Targets `json:"targets,omitempty"`
}

// targetsReq sets a line's targets; nil Targets clears them.
type targetsReq struct {
	Line    string   `json:"line"`
	Targets *Targets `json:"targets"`
}

// SetTargets sets a business line's targets (nil clears them) and returns
// them. They apply to sessions that start after it.
func (d *Desk) SetTargets(ctx context.Context, line string, t *Targets) (*Targets, error) {
	var out *Targets
	err := d.call(ctx, KindScenes, scenesID, "set_targets", targetsReq{Line: line, Targets: t}, &out)
	return out, err
}

// LineTargets returns a business line's targets, nil if it has none.
func (d *Desk) LineTargets(ctx context.Context, line string) (*Targets, error) {
	if !validName(line) {
		return nil, invalid("bad line %q", line)
	}
	var l lineSettings
	err := d.call(ctx, KindScenes, scenesID, "line", line, &l)
	return l.Targets, err
}
