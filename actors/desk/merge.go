package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Identity merge: an anonymous visitor (a device-bound id) who logs in is
// merged into the account. Every conversation of the anonymous id moves
// over: the account joins at the anonymous id's joined seq (so it sees the
// same history), its read cursor moves up to the anonymous id's, its own
// pinned and muted flags are copied, and the anonymous id leaves. The
// account's user grain then counts the unread messages from the log.
//
// A durable merge record (desk-merge grain, one per anonymous id) makes it
// resumable: it lists the conversations, then moves them one by one,
// saving its progress after each. Every step is idempotent (the
// conversation grain's MergeMember changes nothing the second time, read
// cursors and flags only move one way), so a crash at any point repeats at
// most the step it was in. Pending merges are listed in the desk-merges
// grain, which resumes them when it activates (Desk.ResumeMerges at
// start-up).

// Merge grain kinds.
const (
	KindMerge  = "desk-merge"
	KindMerges = "desk-merges"
	mergesID   = "all"
)

// Merge phases.
const (
	MergeMoving = "moving"
	MergeDone   = "done"
)

// MergeInfo is a merge record as the API shows it.
type MergeInfo struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	Phase  string   `json:"phase"`
	Convs  []string `json:"convs"` // the current round's conversations
	Next   int      `json:"next"`  // Convs[:Next] are moved
	Rounds int      `json:"rounds"`
	Moved  int      `json:"moved"` // conversations moved in all rounds
	// Devices: the anonymous id's devices made the account's (after the
	// last round; merge_thread.go).
	Devices      int    `json:"devices"`
	DevicesMoved bool   `json:"devices_moved,omitempty"`
	StartedMs    int64  `json:"started_ms"`
	DoneMs       int64  `json:"done_ms,omitempty"`
	LastError    string `json:"last_error,omitempty"`
}

type mergeReq struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// maxMergeRounds bounds the listing rounds: a round lists the memberships
// the anonymous id still holds (it may have joined more while the first
// round ran); an id that keeps being added elsewhere does not keep the
// merge running for ever.
const maxMergeRounds = 8

// mergeRetry is how long a step that failed waits before it runs again.
const mergeRetry = 500 * time.Millisecond

type mergeGrain struct {
	MergeInfo
	running bool // a step message is on its way
}

func (m *mergeGrain) state() any { return &m.MergeInfo }

func (m *mergeGrain) load(g *grain, blob []byte, found bool) error {
	if !found {
		m.From = g.id
		return nil
	}
	return json.Unmarshal(blob, &m.MergeInfo)
}

func (m *mergeGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "merge":
		var r mergeReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		if m.Phase != "" && m.To != r.To {
			return nil, rejected(pb.Code_BUSY, "%s is already merged into %s", m.From, m.To)
		}
		if m.Phase == "" {
			// Listed as pending first: a crash right after saving the
			// record below still finds it at start-up.
			if err := g.d.call(context.Background(), KindMerges, mergesID, "add", m.From, nil); err != nil {
				return nil, err
			}
			m.To, m.Phase, m.StartedMs = r.To, MergeMoving, nowMs()
			if err := g.save(ctx); err != nil {
				return nil, err
			}
		}
		m.kick(ctx)
		return m.MergeInfo, nil
	case "status":
		if m.Phase == "" {
			return nil, rejected(pb.Code_NOT_FOUND, "no merge of %s", m.From)
		}
		m.kick(ctx)
		return m.MergeInfo, nil
	}
	return nil, invalid("unknown op %q", op)
}

// kick starts the steps unless they run or the merge is done.
func (m *mergeGrain) kick(ctx actor.Context) {
	if m.Phase != MergeMoving || m.running {
		return
	}
	m.running = true
	ctx.Send(ctx.Self(), selfMsg{what: "step"})
}

func (m *mergeGrain) self(g *grain, ctx actor.Context, msg any) {
	switch msg.(selfMsg).what {
	case "started":
		ctx.SetReceiveTimeout(g.d.cfg.IdleTimeout)
		m.kick(ctx)
	case "idle":
		if m.Phase != MergeMoving {
			ctx.Poison(ctx.Self())
		}
	case "step":
		m.running = false
		done, err := m.step(g, ctx)
		switch {
		case g.failed:
		case err != nil:
			m.LastError = err.Error()
			g.d.log.Warn("merge step failed; retrying", "from", m.From, "to", m.To, "err", err)
			m.running = true
			g.after(ctx, mergeRetry, "step")
		case !done:
			m.kick(ctx)
		}
	}
}

// step does one unit of work and saves the progress; done once the
// record says so.
func (m *mergeGrain) step(g *grain, ctx actor.Context) (bool, error) {
	d := g.d
	bg, cancel := context.WithTimeout(context.Background(), 4*d.rt.Config().RequestTimeout)
	defer cancel()
	if m.Next < len(m.Convs) {
		conv := m.Convs[m.Next]
		if err := d.mergeConv(bg, m.From, m.To, conv); err != nil {
			return false, fmt.Errorf("conversation %s: %w", conv, err)
		}
		d.mergeHook(m.From, "moved "+conv)
		m.Next++
		m.Moved++
		m.LastError = ""
		return false, g.save(ctx)
	}
	// A new round: what the anonymous id still holds. The first round also
	// takes the rows it had left (their history moves too); later ones
	// only what it joined meanwhile.
	var convs []string
	after := ""
	for {
		page, err := d.store().ListMemberships(bg, m.From, after, 1000)
		if err != nil {
			return false, fmt.Errorf("list memberships: %w", err)
		}
		for _, r := range page {
			if r.Active() || m.Rounds == 0 {
				convs = append(convs, r.ConvID)
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ConvID
	}
	d.mergeHook(m.From, "listed")
	if len(convs) == 0 || m.Rounds >= maxMergeRounds {
		if len(convs) > 0 {
			d.log.Warn("merge stopped after its round limit with memberships left", "from", m.From, "left", len(convs))
		}
		if !m.DevicesMoved {
			n, err := d.mergeDevices(bg, m.From, m.To)
			if err != nil {
				return false, err
			}
			d.mergeHook(m.From, "devices")
			m.Devices, m.DevicesMoved = n, true
			return false, g.save(ctx)
		}
		m.Phase, m.Convs, m.Next, m.DoneMs = MergeDone, nil, 0, nowMs()
		if err := g.save(ctx); err != nil {
			return false, err
		}
		d.tell(KindMerges, mergesID, "remove", m.From, nil)
		return true, nil
	}
	sort.Strings(convs)
	m.Convs, m.Next = convs, 0
	m.Rounds++
	return false, g.save(ctx)
}

// mergeConv moves one conversation (every part idempotent).
func (d *Desk) mergeConv(ctx context.Context, from, to, conv string) error {
	r, err := d.rt.MergeMember(ctx, &pb.MergeMember{Conv: conv, From: from, To: to, Actor: System})
	if err != nil {
		if actors.CodeOf(err) == pb.Code_NOT_FOUND { // the conversation is gone
			return nil
		}
		return err
	}
	d.mergeHook(from, "member "+conv)
	// After the membership: the account is a member before its entries
	// can reach the conversation. Done every time (idempotent), as a
	// crash may have cut it after the membership moved.
	if err := d.mergeThread(ctx, from, to, conv); err != nil {
		return err
	}
	if !r.Moved {
		return nil
	}
	// The read cursor and flags are read after the membership moved: from
	// can no longer move them, so what is read here is final.
	uc, err := d.store().GetUserConv(ctx, from, conv)
	if err != nil {
		return fmt.Errorf("read state of %s: %w", from, err)
	}
	if uc.ReadSeq > 0 {
		if _, err := d.rt.MarkRead(ctx, to, "", conv, uc.ReadSeq); err != nil {
			return fmt.Errorf("read cursor: %w", err)
		}
	}
	d.mergeHook(from, "read "+conv)
	if uc.Pinned {
		if err := d.rt.SetPinned(ctx, to, conv, true); err != nil {
			return fmt.Errorf("pin: %w", err)
		}
	}
	if uc.Muted {
		if _, err := d.rt.SetMuted(ctx, to, conv, true, 0); err != nil {
			return fmt.Errorf("mute: %w", err)
		}
	}
	return nil
}

func (d *Desk) mergeHook(from, what string) {
	if d.cfg.OnMergeStep != nil {
		d.cfg.OnMergeStep(from, what)
	}
}

// mergesGrain lists the merges not finished yet (one grain, "all").
type mergesGrain struct {
	Pending idSet `json:"pending"`
}

func (s *mergesGrain) state() any { return s }

func (s *mergesGrain) load(_ *grain, blob []byte, found bool) error {
	s.Pending = idSet{}
	if found {
		return json.Unmarshal(blob, s)
	}
	return nil
}

func (s *mergesGrain) self(g *grain, _ actor.Context, msg any) {
	if msg.(selfMsg).what == "started" {
		s.resume(g)
	}
}

// resume wakes every pending merge's grain (it goes on by itself).
func (s *mergesGrain) resume(g *grain) {
	for from := range s.Pending {
		g.d.tell(KindMerge, from, "status", nil, nil)
	}
}

func (s *mergesGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "add", "remove":
		return nil, s.Pending.change(g, ctx, op, body)
	case "list":
		s.resume(g)
		return s.Pending.sorted(), nil
	}
	return nil, invalid("unknown op %q", op)
}

// Merge merges the anonymous identity from into the account to and waits
// until it is done or ctx ends (then the merge goes on; the answer has
// phase "moving"). Repeating it is safe: a finished merge answers its
// record, an unfinished one goes on where it was.
func (d *Desk) Merge(ctx context.Context, from, to string) (MergeInfo, error) {
	var out MergeInfo
	switch {
	case !actors.ValidUserID(from) || !actors.ValidUserID(to):
		return out, invalid("bad user ids %q, %q", from, to)
	case from == to:
		return out, invalid("merge of %s into itself", from)
	case from == System || to == System:
		return out, invalid("%q is the desk's own sender", System)
	case actors.IsVisitor(to):
		// A visitor holds nothing but desk sessions: a merge goes the
		// other way, into the account the visitor signed in as.
		return out, invalid("%s is an anonymous visitor: merge a visitor into an account, never into one", to)
	}
	if err := d.call(ctx, KindMerge, from, "merge", mergeReq{From: from, To: to}, &out); err != nil {
		return out, err
	}
	for out.Phase != MergeDone {
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(50 * time.Millisecond):
		}
		if err := d.call(ctx, KindMerge, from, "status", nil, &out); err != nil {
			if ctx.Err() != nil {
				return out, nil
			}
			return out, err
		}
	}
	return out, nil
}

// MergeStatus returns the merge record of from; NOT_FOUND if none.
func (d *Desk) MergeStatus(ctx context.Context, from string) (MergeInfo, error) {
	var out MergeInfo
	if !actors.ValidUserID(from) {
		return out, invalid("bad user id %q", from)
	}
	err := d.call(ctx, KindMerge, from, "status", nil, &out)
	return out, err
}

// ResumeMerges wakes the merges a crash left unfinished; it returns the
// anonymous ids still pending. Node start-up calls it. The saved list is
// read first and the grain woken only when it names a merge: the common
// start has none, and a grain request at start races protoactor's first
// topology update (its identity lookup is not safe for that).
func (d *Desk) ResumeMerges(ctx context.Context) ([]string, error) {
	cp, err := d.store().LoadCheckpoint(ctx, "desk/"+KindMerges+"/"+mergesID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var saved mergesGrain
	if err := json.Unmarshal(cp.State, &saved); err != nil {
		return nil, fmt.Errorf("desk: pending merges: %w", err)
	}
	if len(saved.Pending) == 0 {
		return nil, nil
	}
	var out []string
	err = d.call(ctx, KindMerges, mergesID, "list", nil, &out)
	return out, err
}
