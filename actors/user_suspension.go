package actors

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Suspension: an operator takes a user off the service (a scammer on a
// marketplace, an abusive account). The user grain owns it, as it owns the
// user's devices: while a suspension holds, RegisterDevice is refused
// SUSPENDED, so no device of the user connects on any node; setting one
// ends the sessions of the devices online. The user's conversations and
// messages stay as they are, and others may still write to them.
//
// It is stored as a checkpoint (no store operation of its own) and read at
// activation, beside the inbox lease (load): nearly every activation needs
// it, for a registration or an offline notification.

func suspensionKey(user string) string { return "user/suspension/" + user }

// suspensionRead is a stored suspension as read: nil Suspension for none.
type suspensionRead struct {
	suspension *pb.Suspension
	err        *pb.Error
}

// prefetchSuspension starts reading the stored suspension; the activation
// takes the result before it answers anything (suspensionPrefetched).
func (u *user) prefetchSuspension() <-chan suspensionRead {
	c := make(chan suspensionRead, 1)
	go func() {
		s, e := readSuspension(u.rt.store, u.id)
		c <- suspensionRead{s, e}
	}()
	return c
}

// suspensionPrefetched keeps what prefetchSuspension read. A failed read
// is tried again when the suspension is first needed (suspensionLoad).
func (u *user) suspensionPrefetched(r suspensionRead) {
	if r.err == nil {
		u.keepSuspension(r.suspension)
	}
}

// suspensionLoad reads the stored suspension unless the activation has.
func (u *user) suspensionLoad() *pb.Error {
	if u.suspensionLoaded {
		return nil
	}
	s, e := readSuspension(u.rt.store, u.id)
	if e != nil {
		return e
	}
	u.keepSuspension(s)
	return nil
}

// readSuspension reads user's stored suspension: nil if none was ever set
// or it was lifted.
func readSuspension(store storage.Store, user string) (*pb.Suspension, *pb.Error) {
	cp, err := store.LoadCheckpoint(context.Background(), suspensionKey(user))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, storeErr(err)
	case len(cp.State) == 0:
		return nil, nil
	}
	s := &pb.Suspension{}
	if err := proto.Unmarshal(cp.State, s); err != nil {
		return nil, pbErr(pb.Code_INTERNAL, "suspension of %s: %v", user, err)
	}
	return s, nil
}

// suspended returns the suspension in force, nil when there is none or it
// expired.
func (u *user) suspended(now time.Time) *pb.Suspension {
	s := u.storedSuspension()
	if s == nil || (s.UntilMs > 0 && now.UnixMilli() >= s.UntilMs) {
		return nil
	}
	return s
}

// suspendedErr is the refusal a suspended user's device gets.
func suspendedErr(s *pb.Suspension) *pb.Error {
	msg := "this user is suspended"
	if s.UntilMs > 0 {
		msg += " until " + time.UnixMilli(s.UntilMs).UTC().Format(time.RFC3339)
	}
	if s.Reason != "" {
		msg += ": " + s.Reason
	}
	return pbErr(pb.Code_SUSPENDED, "%s", msg)
}

// checkSuspended refuses a registration while the user is suspended.
func (u *user) checkSuspended() *pb.Error {
	if e := u.suspensionLoad(); e != nil {
		return e
	}
	if s := u.suspended(time.Now()); s != nil {
		return suspendedErr(s)
	}
	return nil
}

// suspendedForPush reports whether a suspension holds, for offline push. A
// store that cannot say lets the notification go.
func (u *user) suspendedForPush() bool {
	return u.suspensionLoad() == nil && u.suspended(time.Now()) != nil
}

// setSuspension stores a suspension (or its lifting) and, when it
// suspends, ends the sessions of the user's online devices.
func (u *user) setSuspension(ctx actor.Context, m *pb.SetSuspension) {
	sender := ctx.Sender()
	var blob []byte
	if m.Suspension != nil {
		var err error
		if blob, err = proto.Marshal(m.Suspension); err != nil {
			respond(ctx, sender, &pb.SuspensionResponse{Error: pbErr(pb.Code_INTERNAL, "%v", err)})
			return
		}
	}
	// An empty state is "not suspended": the store has no delete, and
	// the row tells when it was lifted.
	cp := storage.Checkpoint{Key: suspensionKey(u.id), State: blob, At: time.Now()}
	if err := u.rt.store.SaveCheckpoint(context.Background(), cp); err != nil {
		respond(ctx, sender, &pb.SuspensionResponse{Error: storeErr(err)})
		return
	}
	u.keepSuspension(m.Suspension)
	now := time.Now()
	res := &pb.SuspensionResponse{Suspension: u.suspended(now)}
	if s := m.Suspension; s != nil {
		e := ModerationEvent{Op: "suspend", User: u.id, Reason: s.Reason, Since: time.UnixMilli(s.SinceMs)}
		if s.UntilMs > 0 {
			e.Until = time.UnixMilli(s.UntilMs)
		}
		u.rt.moderated(e)
	} else {
		u.rt.moderated(ModerationEvent{Op: "unsuspend", User: u.id, Since: now})
	}
	if res.Suspension != nil {
		end := &pb.EndSession{Error: suspendedErr(res.Suspension)}
		for id, d := range u.devices {
			if u.connected(d) {
				ctx.Send(d.conn, end)
				d.conn = nil
				res.EndedDevices = append(res.EndedDevices, id)
			}
		}
		sort.Strings(res.EndedDevices)
	}
	respond(ctx, sender, res)
}

// getSuspension answers with the suspension in force and the devices
// online.
func (u *user) getSuspension(ctx actor.Context) {
	res := &pb.SuspensionResponse{}
	if res.Error = u.suspensionLoad(); res.Error == nil {
		res.Suspension = u.suspended(time.Now())
		for id, d := range u.devices {
			if u.connected(d) {
				res.OnlineDevices = append(res.OnlineDevices, id)
			}
		}
		sort.Strings(res.OnlineDevices)
	}
	respond(ctx, ctx.Sender(), res)
}

// ---- the API ----------------------------------------------------------------

// Suspend suspends user until until (zero: until lifted) with reason,
// which the user's clients are shown. The user's online devices are
// disconnected with SUSPENDED and no device of theirs can connect while it
// holds. It answers with the devices it disconnected. Suspending again
// replaces the suspension.
func (n *Runtime) Suspend(ctx context.Context, user string, until time.Time, reason string) (*pb.SuspensionResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if len(reason) > n.cfg.MaxModerationReasonBytes {
		return nil, invalid("reason of %d bytes, limit %d", len(reason), n.cfg.MaxModerationReasonBytes)
	}
	now := time.Now()
	s := &pb.Suspension{SinceMs: now.UnixMilli(), Reason: reason}
	if !until.IsZero() {
		if !until.After(now) {
			return nil, invalid("suspension until %s: that is not in the future", until.UTC().Format(time.RFC3339))
		}
		s.UntilMs = until.UnixMilli()
	}
	return n.suspension(ctx, user, &pb.SetSuspension{User: user, Suspension: s})
}

// Unsuspend lifts user's suspension (none: nothing changes).
func (n *Runtime) Unsuspend(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	_, err := n.suspension(ctx, user, &pb.SetSuspension{User: user})
	return err
}

// Suspension reads user's suspension in force (nil Suspension: none) and
// the devices online.
func (n *Runtime) Suspension(ctx context.Context, user string) (*pb.SuspensionResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	return n.suspension(ctx, user, &pb.GetSuspension{User: user})
}

// suspension asks user's grain msg (a SetSuspension or GetSuspension).
func (n *Runtime) suspension(ctx context.Context, user string, msg any) (*pb.SuspensionResponse, error) {
	res, err := n.request(ctx, KindUser, user, msg)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SuspensionResponse)
	return r, fromPB(r.Error)
}
