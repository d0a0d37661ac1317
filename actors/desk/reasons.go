package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/storage"
)

// Contact reasons: how many sessions of a business line the agents filed
// under each tag, per day. The tags live in each session's state (tags.go)
// and may change until long after the session closed (the wrap-up), so the
// tally does not add up changes: it keeps each tagged session's latest
// tags, by version, and counts those. A change told twice, or out of
// order, counts once, as the newest; a lost one is told again when its
// thread next starts.
//
// A session counts on the day it started in its line's zone (that of the
// opening hours it started under; UTC for a line without hours: a desk
// in Berlin asks for its Monday), in one of reasonShards grains of its
// line and day (so that no grain holds a busy day's every
// session). Sessions are kept by a hash of their id, never the id: a
// session id names its customer, and the tally is not personal data.
const (
	KindReasons  = "desk-reasons"
	reasonShards = 8
	// reasonsConcurrency bounds the shards read at once for one question.
	reasonsConcurrency = 8
	// reasonsTellAttempts bounds how often a tag change is told while the
	// tally cannot be reached (then the thread's next start tells it).
	reasonsTellAttempts = 5
)

// reasonsKey names the grain of session's line on day (its date as given)
// in its shard.
func reasonsKey(line string, day time.Time, session string) (id, sessionKey string) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(session))
	sum := h.Sum64()
	return reasonsID(line, day, int(sum%reasonShards)), strconv.FormatUint(sum, 36)
}

func reasonsID(line string, day time.Time, shard int) string {
	return line + "/" + day.Format(time.DateOnly) + "/" + strconv.Itoa(shard)
}

// lineZone is the zone of a line's opening hours (UTC without hours, or
// with a zone that no longer loads).
func lineZone(h *Hours) *time.Location {
	if h != nil && h.TZ != "" {
		if loc, err := time.LoadLocation(h.TZ); err == nil {
			return loc
		}
	}
	return time.UTC
}

// taggedSession is one session's latest tags as the tally heard them.
type taggedSession struct {
	Version int      `json:"v"`
	Tags    []string `json:"t,omitempty"`
}

// reasonsGrain is the tally of one shard of a line's day.
type reasonsGrain struct {
	Sessions map[string]taggedSession `json:"sessions"`
}

// reasonsSet is a session's tags at a version, told by its thread.
type reasonsSet struct {
	Session string   `json:"session"` // the hash of the session id
	Version int      `json:"version"`
	Tags    []string `json:"tags"`
}

func (r *reasonsGrain) state() any { return r }

func (r *reasonsGrain) load(_ *grain, blob []byte, found bool) error {
	r.Sessions = map[string]taggedSession{}
	if found {
		if err := json.Unmarshal(blob, r); err != nil {
			return err
		}
	}
	if r.Sessions == nil {
		r.Sessions = map[string]taggedSession{}
	}
	return nil
}

func (r *reasonsGrain) self(g *grain, ctx actor.Context, m any) {
	switch m.(selfMsg).what {
	case "started":
		ctx.SetReceiveTimeout(g.d.cfg.IdleTimeout)
	case "idle":
		ctx.Poison(ctx.Self())
	}
}

func (r *reasonsGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "set":
		var s reasonsSet
		if err := decode(body, &s); err != nil {
			return nil, err
		}
		old, had := r.Sessions[s.Session]
		if had && old.Version >= s.Version {
			return nil, nil // told already, or older than what counts
		}
		r.Sessions[s.Session] = taggedSession{Version: s.Version, Tags: s.Tags}
		if err := g.save(ctx); err != nil {
			if had {
				r.Sessions[s.Session] = old
			} else {
				delete(r.Sessions, s.Session)
			}
			return nil, err
		}
		return nil, nil
	}
	return nil, invalid("unknown op %q", op)
}

// reasonsOf counts one shard from its saved state, without activating its
// grain (a question over a quarter reads 736 shards, mostly idle): every
// change the tally acknowledged is saved.
func (d *Desk) reasonsOf(ctx context.Context, id string) (reasonCount, error) {
	c := reasonCount{Tags: map[string]int{}}
	cp, err := d.store().LoadCheckpoint(ctx, (&grain{kind: KindReasons, id: id}).key())
	if errors.Is(err, storage.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	var r reasonsGrain
	if err := json.Unmarshal(cp.State, &r); err != nil {
		return c, fmt.Errorf("decode: %w", err)
	}
	for _, s := range r.Sessions {
		if len(s.Tags) > 0 {
			c.Sessions++
		}
		for _, t := range s.Tags {
			c.Tags[t]++
		}
	}
	return c, nil
}

// reasonCount is one shard's count: tagged sessions, and sessions per tag.
type reasonCount struct {
	Sessions int            `json:"sessions"`
	Tags     map[string]int `json:"tags"`
}

// tallyTags tells the line's tally the session's tags; it is told again
// (every offer time-out, a few times) while the tally cannot be reached,
// and by the thread's next start (threadGrain.self).
func (t *threadGrain) tallyTags(g *grain, attempts int) {
	s := t.Session
	if s == nil || s.TagsVersion == 0 {
		return
	}
	id, key := reasonsKey(t.Line, time.UnixMilli(s.Started).In(lineZone(s.Hours)), s.ID)
	set := reasonsSet{Session: key, Version: s.TagsVersion, Tags: s.Tags}
	var tell func(left int)
	tell = func(left int) {
		g.d.tell(KindReasons, id, "set", set, func(_ []byte, err error) {
			if err != nil && left > 1 {
				resends.WithLabelValues("reasons").Inc()
				time.AfterFunc(g.d.cfg.OfferTimeout, func() { tell(left - 1) })
			}
		})
	}
	tell(attempts)
}

// ReasonCount is how many sessions carried one tag.
type ReasonCount struct {
	Tag      string `json:"tag"`
	Sessions int    `json:"sessions"`
}

// Reasons are a business line's contact reasons over a range of days.
type Reasons struct {
	Line string `json:"line"`
	From string `json:"from"` // first day (YYYY-MM-DD) in the line's zone
	To   string `json:"to"`   // last day, included
	// Sessions counts the sessions that started in the range and carry a
	// tag; a session with several tags counts once here, once per tag in
	// Tags.
	Sessions int `json:"tagged_sessions"`
	// Tags are the tags by sessions, most first (ties by name).
	Tags []ReasonCount `json:"tags"`
}

// Reasons counts the contact reasons of the sessions of line that started
// on the days from to to (their dates, both included, at most
// Config.MaxReasonDays) in the line's zone. A zero to is today there, a
// zero from six days before to.
func (d *Desk) Reasons(ctx context.Context, line string, from, to time.Time) (Reasons, error) {
	if !validName(line) {
		return Reasons{}, invalid("bad business line %q", line)
	}
	if to.IsZero() {
		h, err := d.LineHours(ctx, line)
		if err != nil {
			return Reasons{}, err
		}
		to = time.Now().In(lineZone(h))
	}
	date := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	to = date(to)
	if from.IsZero() {
		from = to.AddDate(0, 0, -6)
	}
	from = date(from)
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	if days < 1 {
		return Reasons{}, invalid("reasons from %s to %s: the range ends before it starts", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if days > d.cfg.MaxReasonDays {
		return Reasons{}, invalid("reasons over %d days, limit %d", days, d.cfg.MaxReasonDays)
	}
	var ids []string
	for day := from; !day.After(to); day = day.Add(24 * time.Hour) {
		for shard := range reasonShards {
			ids = append(ids, reasonsID(line, day, shard))
		}
	}
	counts := make([]reasonCount, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, reasonsConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			counts[i], errs[i] = d.reasonsOf(ctx, id)
		}()
	}
	wg.Wait()
	out := Reasons{Line: line, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Tags: []ReasonCount{}}
	tags := map[string]int{}
	for i, c := range counts {
		if errs[i] != nil {
			return Reasons{}, fmt.Errorf("reasons %s: %w", ids[i], errs[i])
		}
		out.Sessions += c.Sessions
		for t, n := range c.Tags {
			tags[t] += n
		}
	}
	for t, n := range tags {
		out.Tags = append(out.Tags, ReasonCount{Tag: t, Sessions: n})
	}
	sort.Slice(out.Tags, func(i, j int) bool {
		a, b := out.Tags[i], out.Tags[j]
		return a.Sessions > b.Sessions || (a.Sessions == b.Sessions && a.Tag < b.Tag)
	})
	return out, nil
}
