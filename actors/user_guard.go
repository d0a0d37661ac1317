package actors

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// userGuard is what the user grain keeps for few users: an operator's
// suspension (user_suspension.go), the limiter of the direct
// conversations the user opens, and privacy settings other than the
// defaults (user_privacy.go). Behind one pointer, so an idle grain that
// needs neither pays 8 bytes (BenchmarkIdleUserGrainHeap).
type userGuard struct {
	suspension *pb.Suspension
	newDirect  *rate.Limiter
	uploads    *rate.Limiter // bytes of files (Config.MediaBytesPerHour)
	privacy    privacySettings
}

func (u *user) guarded() *userGuard {
	if u.guard == nil {
		u.guard = &userGuard{}
	}
	return u.guard
}

// storedSuspension is the suspension as stored, in force or not; nil: none.
func (u *user) storedSuspension() *pb.Suspension {
	if u.guard == nil {
		return nil
	}
	return u.guard.suspension
}

// keepSuspension records the stored suspension as read or written.
func (u *user) keepSuspension(s *pb.Suspension) {
	u.suspensionLoaded = true
	if s != nil || u.guard != nil {
		u.guarded().suspension = s
	}
}

// New direct conversations: a marketplace spammer writes to one buyer after
// another, each in a new direct conversation, where the per-conversation
// send rate never bites. The user grain owns the user's budget of first
// contacts (Config.NewDirectPerHour): a token bucket as large as the
// hourly budget, refilled over the hour. It lives with the activation,
// which is not passivated while the bucket is short (firstContactsSpent):
// a spammer cannot pause for the idle timeout and come back with a full
// one. A node restart or the grain moving to another node refills it.

// openDirect takes one of the user's new-direct tokens, or says when the
// next one comes.
func (u *user) openDirect(peer string) *pb.Error {
	perHour := u.rt.cfg.NewDirectPerHour // > 0: mayOpenDirect does not ask when there is no bound
	g := u.guarded()
	if g.newDirect == nil {
		g.newDirect = rate.NewLimiter(rate.Every(time.Hour/time.Duration(perHour)), perHour)
	}
	now := time.Now()
	r := g.newDirect.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if wait == 0 {
		return nil
	}
	r.CancelAt(now)
	e := pbErr(pb.Code_RATE_LIMITED, "%s opened %d new direct conversations within the hour; a new one with %s in %s",
		u.id, perHour, peer, wait.Round(time.Second))
	e.RetryAfterMs = uint32(min(wait.Milliseconds()+1, 1<<31))
	return e
}

// firstContactsSpent reports whether the user's new-direct bucket is not
// full yet: the grain stays active until it is.
func (u *user) firstContactsSpent() bool {
	if u.guard == nil || u.guard.newDirect == nil {
		return false
	}
	l := u.guard.newDirect
	return l.TokensAt(time.Now()) < float64(l.Burst())
}

// uploadsSpent reports whether the user's upload bucket is not full yet:
// the grain stays active until it is, as for first contacts.
func (u *user) uploadsSpent() bool {
	if u.guard == nil || u.guard.uploads == nil {
		return false
	}
	l := u.guard.uploads
	return l.TokensAt(time.Now()) < float64(l.Burst())
}

// spendUpload takes bytes of the user's hourly upload budget, a bucket as
// large as the budget refilled over the hour, or says when they are there.
func (u *user) spendUpload(bytes int64) *pb.Error {
	perHour := u.rt.cfg.MediaBytesPerHour // > 0: mayUpload does not ask when there is no bound
	g := u.guarded()
	if g.uploads == nil {
		g.uploads = rate.NewLimiter(rate.Limit(float64(perHour)/3600), int(perHour))
	}
	now := time.Now()
	r := g.uploads.ReserveN(now, int(bytes))
	if !r.OK() {
		return pbErr(pb.Code_TOO_LARGE, "a file of %d bytes is over the hourly upload budget of %d", bytes, perHour)
	}
	wait := r.DelayFrom(now)
	if wait == 0 {
		return nil
	}
	r.CancelAt(now)
	e := pbErr(pb.Code_RATE_LIMITED, "%s uploaded %d bytes of files within the hour; %d more in %s", u.id, perHour, bytes, wait.Round(time.Second))
	e.RetryAfterMs = uint32(min(wait.Milliseconds()+1, 1<<31))
	return e
}

// mayUpload asks user's grain for bytes of its upload budget.
func (n *Runtime) mayUpload(ctx context.Context, user string, bytes int64) error {
	if n.cfg.MediaBytesPerHour < 0 {
		return nil
	}
	res, err := n.request(ctx, KindUser, user, &pb.SpendUpload{User: user, Bytes: bytes})
	if err != nil {
		return fmt.Errorf("upload budget: %w", err)
	}
	return fromPB(res.(*pb.SpendUploadResponse).Error)
}

// mayOpenDirect asks sender's grain for a new-direct token.
func (n *Runtime) mayOpenDirect(ctx context.Context, sender, peer string) error {
	if n.cfg.NewDirectPerHour < 0 {
		return nil
	}
	res, err := n.request(ctx, KindUser, sender, &pb.OpenDirect{User: sender, Peer: peer})
	if err != nil {
		return fmt.Errorf("new direct conversation with %s: %w", peer, err)
	}
	return fromPB(res.(*pb.OpenDirectResponse).Error)
}
