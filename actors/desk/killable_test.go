package desk_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// killableStore is one node's handle on the shared store. kill makes every
// later write fail, as for a process that was killed: protoactor's
// non-graceful stop lets running handlers finish, and a real crash would
// not let them write.
type killableStore struct {
	storage.Store
	dead atomic.Bool
}

var errKilled = errors.New("node killed")

func (s *killableStore) kill() { s.dead.Store(true) }

// startCrashable starts a node on its own killable handle of store; crash
// kills it as a crashed process dies: its writes stop, then it stops
// without a graceful leave (its armed timers must not write in the place
// of the node that follows).
func startCrashable(t testing.TB, store storage.Store, cfg desk.Config) (n *boot.Node, crash func()) {
	t.Helper()
	h := &killableStore{Store: store}
	n = startNode(t, h, cfg)
	return n, func() { h.kill(); n.Stop(false) }
}

func (s *killableStore) check() error {
	if s.dead.Load() {
		return errKilled
	}
	return nil
}

func (s *killableStore) CreateConversation(ctx context.Context, c storage.Conversation) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.CreateConversation(ctx, c)
}

func (s *killableStore) AcquireEpoch(ctx context.Context, id string, seen uint64) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	return s.Store.AcquireEpoch(ctx, id, seen)
}

func (s *killableStore) ReserveSeqs(ctx context.Context, id string, epoch, upTo uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.ReserveSeqs(ctx, id, epoch, upTo)
}

func (s *killableStore) PutMember(ctx context.Context, m storage.Member) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.PutMember(ctx, m)
}

func (s *killableStore) AppendMessages(ctx context.Context, conv string, epoch uint64, msgs []storage.Message) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.AppendMessages(ctx, conv, epoch, msgs)
}

func (s *killableStore) AppendMessagesAsync(ctx context.Context, conv string, epoch uint64, msgs []storage.Message, done func(error)) {
	if err := s.check(); err != nil {
		done(err)
		return
	}
	s.Store.AppendMessagesAsync(ctx, conv, epoch, msgs, func(err error) {
		if err == nil {
			err = s.check() // durable, but a dead process acknowledges nothing
		}
		done(err)
	})
}

func (s *killableStore) TombstoneMessage(ctx context.Context, conv string, seq uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.TombstoneMessage(ctx, conv, seq)
}

func (s *killableStore) AdvanceReadCursor(ctx context.Context, user, conv string, seq uint64) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	return s.Store.AdvanceReadCursor(ctx, user, conv, seq)
}

func (s *killableStore) SetPinned(ctx context.Context, user, conv string, v bool) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.SetPinned(ctx, user, conv, v)
}

func (s *killableStore) SetMuted(ctx context.Context, user, conv string, v bool, until time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.SetMuted(ctx, user, conv, v, until)
}

func (s *killableStore) TouchConversation(ctx context.Context, user, conv string, at time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.TouchConversation(ctx, user, conv, at)
}

func (s *killableStore) AppendInbox(ctx context.Context, user string, e []storage.InboxEntry) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.AppendInbox(ctx, user, e)
}

func (s *killableStore) AcquireInbox(ctx context.Context, user string) (storage.InboxLease, error) {
	if err := s.check(); err != nil {
		return storage.InboxLease{}, err
	}
	return s.Store.AcquireInbox(ctx, user)
}

func (s *killableStore) ReserveInboxSeqs(ctx context.Context, user string, epoch, upTo uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.ReserveInboxSeqs(ctx, user, epoch, upTo)
}

func (s *killableStore) WriteUser(ctx context.Context, user string, epoch uint64, w storage.UserWrite) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.WriteUser(ctx, user, epoch, w)
}

func (s *killableStore) SetDeviceCursor(ctx context.Context, user, dev string, c uint64, seen time.Time) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	return s.Store.SetDeviceCursor(ctx, user, dev, c, seen)
}

func (s *killableStore) SaveCheckpoint(ctx context.Context, cp storage.Checkpoint) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.SaveCheckpoint(ctx, cp)
}

// Close leaves the shared store open.
func (s *killableStore) Close() error { return nil }

// The fenced checkpoint methods, refused once killed like the rest.
func (s *killableStore) AcquireCheckpointFence(ctx context.Context, key string) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	return storage.FencesOf(s.Store).AcquireCheckpointFence(ctx, key)
}

func (s *killableStore) SaveCheckpointFenced(ctx context.Context, cp storage.Checkpoint, epoch uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	return storage.FencesOf(s.Store).SaveCheckpointFenced(ctx, cp, epoch)
}
