// The delegating methods of Store, one per storage.Store method: each
// times the call and records its outcome.

package instrumented

import (
	"context"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	start := time.Now()
	err := s.next.CreateConversation(ctx, c)
	s.observe("CreateConversation", start, err)
	return err
}

func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	start := time.Now()
	r0, err := s.next.GetConversation(ctx, id)
	s.observe("GetConversation", start, err)
	return r0, err
}

func (s *Store) ListConversations(ctx context.Context, cursor string, limit int) ([]storage.Conversation, string, error) {
	start := time.Now()
	r0, r1, err := s.next.ListConversations(ctx, cursor, limit)
	s.observe("ListConversations", start, err)
	return r0, r1, err
}

func (s *Store) AcquireEpoch(ctx context.Context, id string, seen uint64) (uint64, error) {
	start := time.Now()
	r0, err := s.next.AcquireEpoch(ctx, id, seen)
	s.observe("AcquireEpoch", start, err)
	return r0, err
}

func (s *Store) ReserveSeqs(ctx context.Context, id string, epoch uint64, upTo uint64) error {
	start := time.Now()
	err := s.next.ReserveSeqs(ctx, id, epoch, upTo)
	s.observe("ReserveSeqs", start, err)
	return err
}

func (s *Store) PutMember(ctx context.Context, m storage.Member) error {
	start := time.Now()
	err := s.next.PutMember(ctx, m)
	s.observe("PutMember", start, err)
	return err
}

func (s *Store) GetMember(ctx context.Context, convID, userID string) (storage.Member, error) {
	start := time.Now()
	r0, err := s.next.GetMember(ctx, convID, userID)
	s.observe("GetMember", start, err)
	return r0, err
}

func (s *Store) ListMembers(ctx context.Context, convID, afterUser string, limit int) ([]storage.Member, error) {
	start := time.Now()
	r0, err := s.next.ListMembers(ctx, convID, afterUser, limit)
	s.observe("ListMembers", start, err)
	return r0, err
}

func (s *Store) ListMemberships(ctx context.Context, userID, afterConv string, limit int) ([]storage.Member, error) {
	start := time.Now()
	r0, err := s.next.ListMemberships(ctx, userID, afterConv, limit)
	s.observe("ListMemberships", start, err)
	return r0, err
}

func (s *Store) AppendMessages(ctx context.Context, convID string, epoch uint64, msgs []storage.Message) error {
	start := time.Now()
	err := s.next.AppendMessages(ctx, convID, epoch, msgs)
	s.observe("AppendMessages", start, err)
	return err
}

func (s *Store) GetMessage(ctx context.Context, convID string, seq uint64) (storage.Message, error) {
	start := time.Now()
	r0, err := s.next.GetMessage(ctx, convID, seq)
	s.observe("GetMessage", start, err)
	return r0, err
}

func (s *Store) ListMessages(ctx context.Context, convID string, fromSeq, toSeq uint64, order storage.Order, limit int) ([]storage.Message, error) {
	start := time.Now()
	r0, err := s.next.ListMessages(ctx, convID, fromSeq, toSeq, order, limit)
	s.observe("ListMessages", start, err)
	return r0, err
}

func (s *Store) AdoptMessage(ctx context.Context, convID string, epoch, seq uint64, sender, clientMsgID string) error {
	start := time.Now()
	err := s.next.AdoptMessage(ctx, convID, epoch, seq, sender, clientMsgID)
	s.observe("AdoptMessage", start, err)
	return err
}

func (s *Store) RedactMessage(ctx context.Context, convID string, seq uint64, body []byte) error {
	start := time.Now()
	err := s.next.RedactMessage(ctx, convID, seq, body)
	s.observe("RedactMessage", start, err)
	return err
}

func (s *Store) TombstoneMessage(ctx context.Context, convID string, seq uint64) error {
	start := time.Now()
	err := s.next.TombstoneMessage(ctx, convID, seq)
	s.observe("TombstoneMessage", start, err)
	return err
}

func (s *Store) GetUserConv(ctx context.Context, userID, convID string) (storage.UserConv, error) {
	start := time.Now()
	r0, err := s.next.GetUserConv(ctx, userID, convID)
	s.observe("GetUserConv", start, err)
	return r0, err
}

func (s *Store) AdvanceReadCursor(ctx context.Context, userID, convID string, seq uint64) (uint64, error) {
	start := time.Now()
	r0, err := s.next.AdvanceReadCursor(ctx, userID, convID, seq)
	s.observe("AdvanceReadCursor", start, err)
	return r0, err
}

func (s *Store) SetPinned(ctx context.Context, userID, convID string, pinned bool) error {
	start := time.Now()
	err := s.next.SetPinned(ctx, userID, convID, pinned)
	s.observe("SetPinned", start, err)
	return err
}

func (s *Store) SetArchived(ctx context.Context, userID, convID string, seq uint64, until time.Time) error {
	start := time.Now()
	err := s.next.SetArchived(ctx, userID, convID, seq, until)
	s.observe("SetArchived", start, err)
	return err
}

func (s *Store) SetLabels(ctx context.Context, userID, convID string, labels []string) error {
	start := time.Now()
	err := s.next.SetLabels(ctx, userID, convID, labels)
	s.observe("SetLabels", start, err)
	return err
}

func (s *Store) SetMarkedUnread(ctx context.Context, userID, convID string, marked bool) error {
	start := time.Now()
	err := s.next.SetMarkedUnread(ctx, userID, convID, marked)
	s.observe("SetMarkedUnread", start, err)
	return err
}

func (s *Store) SetMuted(ctx context.Context, userID, convID string, muted bool, until time.Time) error {
	start := time.Now()
	err := s.next.SetMuted(ctx, userID, convID, muted, until)
	s.observe("SetMuted", start, err)
	return err
}

func (s *Store) TouchConversation(ctx context.Context, userID, convID string, at time.Time) error {
	start := time.Now()
	err := s.next.TouchConversation(ctx, userID, convID, at)
	s.observe("TouchConversation", start, err)
	return err
}

func (s *Store) AppendInbox(ctx context.Context, userID string, entries []storage.InboxEntry) error {
	start := time.Now()
	err := s.next.AppendInbox(ctx, userID, entries)
	s.observe("AppendInbox", start, err)
	return err
}

func (s *Store) ListInbox(ctx context.Context, userID string, after uint64, limit int) ([]storage.InboxEntry, error) {
	start := time.Now()
	r0, err := s.next.ListInbox(ctx, userID, after, limit)
	s.observe("ListInbox", start, err)
	return r0, err
}

func (s *Store) LastInboxSeq(ctx context.Context, userID string) (uint64, error) {
	start := time.Now()
	r0, err := s.next.LastInboxSeq(ctx, userID)
	s.observe("LastInboxSeq", start, err)
	return r0, err
}

func (s *Store) SetDeviceCursor(ctx context.Context, userID, deviceID string, cursor uint64, seen time.Time) (uint64, error) {
	start := time.Now()
	r0, err := s.next.SetDeviceCursor(ctx, userID, deviceID, cursor, seen)
	s.observe("SetDeviceCursor", start, err)
	return r0, err
}

func (s *Store) ListDevices(ctx context.Context, userID string) ([]storage.Device, error) {
	start := time.Now()
	r0, err := s.next.ListDevices(ctx, userID)
	s.observe("ListDevices", start, err)
	return r0, err
}

func (s *Store) SetPushToken(ctx context.Context, t storage.PushToken) error {
	start := time.Now()
	err := s.next.SetPushToken(ctx, t)
	s.observe("SetPushToken", start, err)
	return err
}

func (s *Store) DeletePushToken(ctx context.Context, userID, deviceID, token string) error {
	start := time.Now()
	err := s.next.DeletePushToken(ctx, userID, deviceID, token)
	s.observe("DeletePushToken", start, err)
	return err
}

func (s *Store) ListPushTokens(ctx context.Context, userID string) ([]storage.PushToken, error) {
	start := time.Now()
	r0, err := s.next.ListPushTokens(ctx, userID)
	s.observe("ListPushTokens", start, err)
	return r0, err
}

func (s *Store) CreateMedia(ctx context.Context, m storage.Media) error {
	start := time.Now()
	err := s.next.CreateMedia(ctx, m)
	s.observe("CreateMedia", start, err)
	return err
}

func (s *Store) GetMedia(ctx context.Context, convID, id string) (storage.Media, error) {
	start := time.Now()
	r0, err := s.next.GetMedia(ctx, convID, id)
	s.observe("GetMedia", start, err)
	return r0, err
}

func (s *Store) PutMediaChunk(ctx context.Context, convID, id string, i int, data []byte) error {
	start := time.Now()
	err := s.next.PutMediaChunk(ctx, convID, id, i, data)
	s.observe("PutMediaChunk", start, err)
	return err
}

func (s *Store) CompleteMedia(ctx context.Context, convID, id string) (storage.Media, error) {
	start := time.Now()
	r0, err := s.next.CompleteMedia(ctx, convID, id)
	s.observe("CompleteMedia", start, err)
	return r0, err
}

func (s *Store) ReadMediaChunk(ctx context.Context, convID, id string, i int) ([]byte, error) {
	start := time.Now()
	r0, err := s.next.ReadMediaChunk(ctx, convID, id, i)
	s.observe("ReadMediaChunk", start, err)
	return r0, err
}

func (s *Store) AttachMedia(ctx context.Context, convID, id string, seq uint64) error {
	start := time.Now()
	err := s.next.AttachMedia(ctx, convID, id, seq)
	s.observe("AttachMedia", start, err)
	return err
}

func (s *Store) UnsettledMedia(ctx context.Context, hour time.Time, limit int) ([]storage.Media, error) {
	start := time.Now()
	r0, err := s.next.UnsettledMedia(ctx, hour, limit)
	s.observe("UnsettledMedia", start, err)
	return r0, err
}

func (s *Store) SettleMedia(ctx context.Context, convID, id string) error {
	start := time.Now()
	err := s.next.SettleMedia(ctx, convID, id)
	s.observe("SettleMedia", start, err)
	return err
}

func (s *Store) DeleteMedia(ctx context.Context, convID, id string) error {
	start := time.Now()
	err := s.next.DeleteMedia(ctx, convID, id)
	s.observe("DeleteMedia", start, err)
	return err
}

func (s *Store) SaveCheckpoint(ctx context.Context, cp storage.Checkpoint) error {
	start := time.Now()
	err := s.next.SaveCheckpoint(ctx, cp)
	s.observe("SaveCheckpoint", start, err)
	return err
}

func (s *Store) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	start := time.Now()
	r0, err := s.next.LoadCheckpoint(ctx, key)
	s.observe("LoadCheckpoint", start, err)
	return r0, err
}

func (s *Store) AcquireInbox(ctx context.Context, userID string) (storage.InboxLease, error) {
	start := time.Now()
	r0, err := s.next.AcquireInbox(ctx, userID)
	s.observe("AcquireInbox", start, err)
	return r0, err
}

func (s *Store) ReserveInboxSeqs(ctx context.Context, userID string, epoch, upTo uint64) error {
	start := time.Now()
	err := s.next.ReserveInboxSeqs(ctx, userID, epoch, upTo)
	s.observe("ReserveInboxSeqs", start, err)
	return err
}

func (s *Store) WriteUser(ctx context.Context, userID string, epoch uint64, w storage.UserWrite) error {
	start := time.Now()
	err := s.next.WriteUser(ctx, userID, epoch, w)
	s.observe("WriteUser", start, err)
	return err
}

func (s *Store) PutScheduled(ctx context.Context, sc storage.ScheduledSend) error {
	start := time.Now()
	err := s.next.PutScheduled(ctx, sc)
	s.observe("PutScheduled", start, err)
	return err
}

func (s *Store) ScheduledOf(ctx context.Context, user string, limit int) ([]storage.ScheduledSend, error) {
	start := time.Now()
	r0, err := s.next.ScheduledOf(ctx, user, limit)
	s.observe("ScheduledOf", start, err)
	return r0, err
}

func (s *Store) ScheduledDue(ctx context.Context, day, until time.Time, limit int) ([]storage.ScheduledSend, error) {
	start := time.Now()
	r0, err := s.next.ScheduledDue(ctx, day, until, limit)
	s.observe("ScheduledDue", start, err)
	return r0, err
}

func (s *Store) DeleteScheduled(ctx context.Context, user, id string) error {
	start := time.Now()
	err := s.next.DeleteScheduled(ctx, user, id)
	s.observe("DeleteScheduled", start, err)
	return err
}
