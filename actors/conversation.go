package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/storage"
)

// conversation is the grain that owns one conversation's log: it checks
// membership, limits and policy, assigns seqs, appends through the store's
// group commit without waiting on it, acks in seq order once durable, and
// fans out.
//
// Fencing: on activation it takes a new epoch with the store's conditional
// write and reserves seq ranges under that epoch; appends carry the epoch
// and cost no conditional write of their own. An append or a reservation
// that finds the epoch moved (ErrEpochLost; ErrSeqExists where the backend
// also checks seqs) means another activation owns the conversation: this
// one answers RETRY to everything in flight and stops.
type conversation struct {
	rt  *Runtime
	id  string
	log *slog.Logger

	loaded   bool
	exists   bool
	fenced   bool
	settings *groupSettings // loaded on first use (conv_settings.go)
	kind     storage.ConvKind
	epoch    uint64
	reserved uint64 // highest seq this epoch may assign
	// noEpoch: activated while the store refused writes; seenEpoch is the
	// head's epoch then, taken with the first write (takeEpoch).
	noEpoch   bool
	seenEpoch uint64
	lastSeq   uint64 // highest seq assigned
	durable   uint64 // highest seq acked

	members map[string]*storage.Member
	active  int

	dedupe   map[dedupeKey]dedupeEntry
	ring     []dedupeKey // FIFO of dedupe keys, DedupeWindow long
	ringNext int

	limiters map[string]*rate.Limiter
	slow     slowPosts // when members last posted, in slow mode (conv_slowmode.go)
	// createdTitle is the group's name from its creation; a rename is in
	// its settings (conv_profile.go).
	createdTitle string

	pending        []*pendingWrite // assigned, not yet answered, in seq order
	unflushed      []storage.Message
	inflight       []*flight // batches handed to the store, not yet settled
	flushScheduled bool

	lastMsg  *storage.Message // last durable message, for summaries
	noncount []uint64         // durable seqs that never count as unread, ascending (read fan-out unread)
	// noncountFrom is the lowest seq noncount covers: it starts at the
	// oldest message loaded on activation and is extended downwards on
	// demand when a lagging reader's unread is counted.
	noncountFrom uint64
	// mentioned holds, per member, the durable seqs (from noncountFrom
	// on) that mention them, ascending, the newest Config.MaxMentionSeqs: the
	// unread mention counts of read fan-out groups (conv_mention.go).
	mentioned map[string][]uint64
	// recallEvents holds the seqs that have a durable recall event (within
	// what this activation loaded or wrote), to finish interrupted recalls.
	recallEvents map[uint64]bool
	// editing counts, per edited seq, the edits (or card updates) queued
	// and not yet durable: a recall waits for them, or one could land
	// after its tombstones.
	editing map[uint64]int
	// polls holds the tallies of the polls asked about (conv_poll.go).
	polls map[uint64]*pollTally
	// sweepArmedAt: when the schedule's row for the sweep of disappearing
	// messages is due (zero: none), once sweepArmKnown (conv_disappear.go).
	sweepArmedAt  time.Time
	sweepArmKnown bool
	fanout        *fanout
	idle          idleStamp
	call          *activeCall // the call ringing or under way (conv_call.go)
}

type dedupeKey struct{ sender, clientMsgID string }

type dedupeEntry struct {
	seq, msgID uint64
	serverTS   time.Time
	flagged    bool
	storedBody []byte       // the body as stored, kept only when the content policy masked it
	waiting    []*actor.PID // duplicates that arrived before the first was durable (or adopted)
	// loaded: read from the store at activation, written by an earlier
	// activation, so not yet known to be final (see adopt); adopting: an
	// AdoptMessage for it is in flight.
	loaded, adopting bool
}

// pendingWrite is one assigned seq waiting for durability.
type pendingWrite struct {
	msg   storage.Message
	state writeState
	reply func(e *pb.Error) // answers the request that caused it
	err   *pb.Error         // the answer of a failed write; nil means RETRY
}

type writeState uint8

const (
	writeWaiting writeState = iota // queued or in flight
	writeDurable
	writeFailed // never written: answered RETRY
)

// flight is one batch handed to the store. Its result reaches the mailbox
// as an appendDone and, for a grain that stops first, the done channel.
type flight struct {
	first, last uint64
	done        chan error // buffered: the store's callback never blocks
}

// Messages the grain sends itself.
type (
	flushNow   struct{}
	appendDone struct {
		f   *flight
		err error
	}
	adoptDone struct {
		key dedupeKey
		seq uint64
		err error
	}
)

func newConversation(rt *Runtime) *conversation {
	return &conversation{rt: rt, log: rt.log}
}

func (c *conversation) Receive(ctx actor.Context) {
	msg := ctx.Message()
	if _, ok := msg.(idleCheck); ok {
		// Poison, not Stop: requests already in the mailbox are served
		// (Stop would drop them unanswered and their callers would wait
		// a whole request timeout); Stopping settles what they start.
		if !c.rt.idle.idle(&c.idle) {
			return
		}
		if len(c.pending) > 0 || len(c.unflushed) > 0 || c.call != nil {
			c.rt.idle.touch(&c.idle)
			return
		}
		passivations.WithLabelValues(KindConversation).Inc()
		ctx.Poison(ctx.Self())
		return
	}
	c.rt.idle.touch(&c.idle)
	switch m := msg.(type) {
	case *actor.Started:
		_, c.id, _ = placement.Identity(ctx.Self())
		c.log = c.rt.log.With("conv", c.id)
		activations.WithLabelValues(KindConversation).Inc()
		c.rt.idle.add(&c.idle, ctx.Self())
		c.load(ctx)
	case *actor.Stopped, *actor.Restarting:
		c.rt.idle.remove(&c.idle)
	case *actor.Stopping:
		c.stopping(ctx)
	case *pb.CreateConversation:
		c.create(ctx, m)
	case *pb.SendMessage:
		c.send(ctx, m)
	case *pb.RecallMessage:
		c.recall(ctx, m)
	case *pb.ExpireMessages:
		c.expire(ctx, m)
	case *pb.SetDisappearing:
		c.disappearing(ctx, m)
	case *pb.SetFrozen:
		c.setFrozen(ctx, m)
	case *pb.SetConvMeta:
		c.setMeta(ctx, m)
	case *pb.CallOp:
		c.callOp(ctx, m)
	case callTick:
		c.callDeadlines(ctx, m)
	case *pb.SweepDisappeared:
		c.sweepDisappeared(ctx, m)
	case *pb.MembershipChange:
		c.changeMembership(ctx, m)
	case *pb.DeskEvent:
		c.deskEvent(ctx, m)
	case *pb.RedactDeskStep:
		c.redactDeskStep(ctx, m)
	case *pb.MergeMember:
		c.mergeMember(ctx, m)
	case *pb.GroupSettings:
		c.groupSettings(ctx, m)
	case *pb.GroupInvite:
		c.groupInvite(ctx, m)
	case *pb.PostAway:
		c.postAway(ctx, m)
	case *pb.JoinGroup:
		c.joinGroup(ctx, m)
	case *pb.DropJoinRequest:
		c.dropJoinRequest(ctx, m)
	case *pb.ConvState:
		c.state(ctx, m)
	case *pb.ReadBy:
		c.readBy(m)
	case *pb.GetPollResults:
		c.pollResults(ctx, m)
	case *pb.ClearHistory:
		c.clearHistory(ctx, m)
	case *pb.HideMessages:
		c.hideMessages(ctx, m)
	case flushNow:
		c.flush(ctx)
	case *appendDone:
		c.appended(ctx, m)
	case *adoptDone:
		c.adopted(ctx, m)
	}
}
