package desk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// What an identity merge moves besides the conversations: the anonymous
// id's desk threads and its devices.
//
// A desk thread keeps its grain (its id names the anonymous id, and its
// queue entries, agent holds and assignment tokens name the thread), but
// its customer becomes the account ("merged"), and the account's thread in
// the same line points to it ("alias"). An entry of the account goes to
// the merged thread first: while that thread's session is open, or its
// last close is within the sticky window and later than the account's own
// (then it starts a new session there, preferring the last agent). Else
// the account's own thread takes the entry and forgets the alias. Both
// steps are idempotent; the merge grain makes both calls (thread→thread
// requests go only account→merged, so no cycle).

// mergeOp serves "merged" (on the anonymous id's thread: to is the
// account) and "alias" (on the account's thread: to is the merged thread).
func (t *threadGrain) mergeOp(g *grain, ctx actor.Context, op, to string) (any, error) {
	switch op {
	case "merged":
		if t.Merged == to {
			return nil, nil
		}
		if t.Merged != "" {
			return nil, rejected(pb.Code_BUSY, "%s is already merged into %s", t.Customer, t.Merged)
		}
		t.Merged = to
	case "alias":
		if t.Alias == to {
			return nil, nil
		}
		// The latest merged thread wins; an older alias would be older
		// than the merge anyway.
		t.Alias = to
	}
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	return nil, nil
}

// viaAlias forwards an entry to the merged thread; an answer without a
// session means it declined.
func (t *threadGrain) viaAlias(g *grain, r enterReq, ownSticky bool) (SessionInfo, error) {
	var in SessionInfo
	fwd := r
	fwd.Via = threadID(t.Line, t.Customer)
	if ownSticky {
		fwd.Own = t.ClosedAt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*g.d.rt.Config().RequestTimeout)
	defer cancel()
	if err := g.d.call(ctx, KindThread, t.Alias, "enter", fwd, &in); err != nil {
		return in, fmt.Errorf("merged thread %s: %w", t.Alias, err)
	}
	return in, nil
}

// mergeThread hands the desk thread of a service conversation that the
// anonymous id from opened over to the account to.
func (d *Desk) mergeThread(ctx context.Context, from, to, conv string) error {
	tid, err := convThread(conv)
	if err != nil {
		return nil // not a desk conversation
	}
	line, customer, _ := strings.Cut(tid, "/")
	if customer != from {
		return nil // a desk conversation of someone else the anonymous id was in
	}
	if err := d.call(ctx, KindThread, tid, "merged", to, nil); err != nil {
		return fmt.Errorf("thread %s: %w", tid, err)
	}
	d.mergeHook(from, "thread "+tid)
	if err := d.call(ctx, KindThread, threadID(line, to), "alias", tid, nil); err != nil {
		return fmt.Errorf("alias of %s: %w", tid, err)
	}
	d.mergeHook(from, "alias "+tid)
	return nil
}

// mergeDevices makes the anonymous id's devices the account's: a device
// record (the device counts as known to the account) and its push
// registration.
//
// The device cursor is 0, and must be. A cursor numbers one user's inbox;
// the two inboxes are numbered independently, and every entry of the
// account's inbox that is older than the merge is about a conversation of
// the account's own, which the device, having only ever synced the
// anonymous id's inbox, has never seen. Any cursor above 0 would skip such
// an entry, so the device syncs the account's inbox from the start (the
// sync answers one summary per conversation, not every entry). A device
// that already knew the account keeps its own cursor there: the store's
// device cursors only move forward. Push tokens: the account's own
// registration for the same device wins when it is newer.
func (d *Desk) mergeDevices(ctx context.Context, from, to string) (int, error) {
	st := d.store()
	devs, err := st.ListDevices(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("list devices: %w", err)
	}
	for _, dev := range devs {
		seen := dev.LastSeen
		if seen.IsZero() {
			seen = time.Now()
		}
		if _, err := st.SetDeviceCursor(ctx, to, dev.DeviceID, 0, seen); err != nil {
			return 0, fmt.Errorf("device %s: %w", dev.DeviceID, err)
		}
	}
	tokens, err := st.ListPushTokens(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("list push tokens: %w", err)
	}
	if len(tokens) > 0 {
		have, err := st.ListPushTokens(ctx, to)
		if err != nil {
			return 0, fmt.Errorf("list push tokens of %s: %w", to, err)
		}
		newer := map[string]time.Time{}
		for _, tk := range have {
			newer[tk.DeviceID] = tk.UpdatedAt
		}
		for _, tk := range tokens {
			if at, ok := newer[tk.DeviceID]; !ok || at.Before(tk.UpdatedAt) {
				moved := tk
				moved.UserID = to
				if err := st.SetPushToken(ctx, moved); err != nil {
					return 0, fmt.Errorf("push token of %s: %w", tk.DeviceID, err)
				}
			}
			// Only this token: a registration the device made meanwhile stays.
			if err := st.DeletePushToken(ctx, from, tk.DeviceID, tk.Token); err != nil {
				return 0, fmt.Errorf("push token of %s: %w", tk.DeviceID, err)
			}
		}
	}
	return len(devs), nil
}
