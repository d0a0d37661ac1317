package actors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Media: files uploaded into a conversation and attached to messages.
//
// An upload belongs to its conversation and its uploader: a member who may
// write there creates it (with its name, type and size, at most
// Config.MaxMediaBytes, within the user's Config.MediaBytesPerHour, which
// the user grain keeps as it keeps first contacts: user_guard.go), writes its chunks (storage.MediaChunkBytes each,
// in any order, a chunk again replacing it) and completes it; only then,
// and only its uploader, attaches it to one message (send with media_id),
// which carries its name, type and size; an upload no message took within
// Config.MediaUploadTTL is deleted (media_sweep.go). Readers fetch the bytes through
// that message: whoever sees the message (history's rules) may read its
// file, and a recalled message's file is gone (the recall deletes it).
// Nobody reads an upload no message carries. The rules live here and in
// the conversation grain's send, not in a transport.

// CreateMedia starts an upload of size bytes into conv by user, with the
// preview its uploader made (none: zero).
func (n *Runtime) CreateMedia(ctx context.Context, user, conv, name, mime string, size int64, preview storage.Preview) (storage.Media, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return storage.Media{}, err
	}
	if err := errors.Join(storage.CheckMediaName(name), storage.CheckMediaType(mime)); err != nil {
		return storage.Media{}, invalid("%v", err)
	}
	if size <= 0 {
		return storage.Media{}, invalid("a file of %d bytes", size)
	}
	if err := preview.Check(); err != nil {
		return storage.Media{}, invalid("%v", err)
	}
	if len(preview.Thumb) > n.cfg.MaxMediaThumbBytes {
		return storage.Media{}, fromPB(pbErr(pb.Code_TOO_LARGE, "a preview image of %d bytes, limit %d", len(preview.Thumb), n.cfg.MaxMediaThumbBytes))
	}
	if size > n.cfg.MaxMediaBytes {
		return storage.Media{}, fromPB(pbErr(pb.Code_TOO_LARGE, "a file of %d bytes, limit %d", size, n.cfg.MaxMediaBytes))
	}
	if _, err := n.authorize(ctx, conv, user, ActSend); err != nil {
		if ok, e := n.directNotStarted(ctx, conv, user, err); !ok {
			return storage.Media{}, e
		}
	}
	if err := n.mayUpload(ctx, user, size); err != nil {
		return storage.Media{}, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return storage.Media{}, fromPB(pbErr(pb.Code_INTERNAL, "media id: %v", err))
	}
	m := storage.Media{ConvID: conv, ID: hex.EncodeToString(id[:]), Uploader: user, Name: name, MIME: mime, Size: size,
		Preview: preview, CreatedAt: time.Now()}
	if err := n.store.CreateMedia(ctx, m); err != nil {
		return storage.Media{}, fromPB(storeErr(err))
	}
	return m, nil
}

// directNotStarted tells whether conv is a direct conversation of user's
// not started yet, given authorize's refusal err: a first message may be a
// file, so its upload goes into the id the send{to} will create (the
// send's own rules, first contact and blocks, apply then). Else it answers
// err.
func (n *Runtime) directNotStarted(ctx context.Context, conv, user string, err error) (bool, error) {
	if CodeOf(err) != pb.Code_NOT_MEMBER {
		return false, err
	}
	if _, ok := wirepb.DirectPeer(conv, user); !ok {
		return false, err
	}
	switch _, gerr := n.store.GetConversation(ctx, conv); {
	case errors.Is(gerr, storage.ErrNotFound):
		return true, nil
	case gerr != nil:
		return false, fromPB(storeErr(gerr))
	}
	return false, err
}

// PutMediaChunk writes chunk index of user's upload id into conv.
func (n *Runtime) PutMediaChunk(ctx context.Context, user, conv, id string, index int, data []byte) error {
	if _, err := n.ownUpload(ctx, user, conv, id); err != nil {
		return err
	}
	if err := n.store.PutMediaChunk(ctx, conv, id, index, data); err != nil {
		return fromPB(storeErr(err))
	}
	return nil
}

// CompleteMedia completes user's upload id into conv once all its chunks
// are written; then it may be attached.
func (n *Runtime) CompleteMedia(ctx context.Context, user, conv, id string) (storage.Media, error) {
	if _, err := n.ownUpload(ctx, user, conv, id); err != nil {
		return storage.Media{}, err
	}
	m, err := n.store.CompleteMedia(ctx, conv, id)
	if err != nil {
		return storage.Media{}, fromPB(storeErr(err))
	}
	return m, nil
}

// ownUpload reads upload id of conv, which must be user's (another's
// upload is answered as absent: ids are not revealed to others).
func (n *Runtime) ownUpload(ctx context.Context, user, conv, id string) (storage.Media, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return storage.Media{}, err
	}
	m, err := n.store.GetMedia(ctx, conv, id)
	switch {
	case err != nil:
		return storage.Media{}, fromPB(storeErr(err))
	case m.Uploader != user:
		return storage.Media{}, fromPB(pbErr(pb.Code_NOT_FOUND, "no upload %s of %s in %s", id, user, conv))
	}
	return m, nil
}

// ReadMedia reads chunk index of the file attached to message seq of
// conv, as user: who may read that message may read its file.
func (n *Runtime) ReadMedia(ctx context.Context, user, conv string, seq uint64, index int) (storage.MediaRef, []byte, error) {
	msgs, err := n.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: seq, ToSeq: seq, Limit: 1})
	if err != nil {
		return storage.MediaRef{}, nil, err
	}
	if len(msgs) != 1 || msgs[0].Seq != seq || msgs[0].Recalled || msgs[0].Media == nil {
		return storage.MediaRef{}, nil, fromPB(pbErr(pb.Code_NOT_FOUND, "no file attached to message %d of %s", seq, conv))
	}
	return n.readChunk(ctx, conv, mediaRefFromPB(msgs[0].Media), index)
}

// readChunk reads chunk index of the file ref of conv.
func (n *Runtime) readChunk(ctx context.Context, conv string, ref storage.MediaRef, index int) (storage.MediaRef, []byte, error) {
	if index < 0 || index >= ref.Chunks() {
		return ref, nil, fromPB(pbErr(pb.Code_INVALID, "chunk %d of a file of %d bytes", index, ref.Size))
	}
	data, err := n.store.ReadMediaChunk(ctx, conv, ref.ID, index)
	if err != nil {
		return ref, nil, fromPB(storeErr(err))
	}
	return ref, data, nil
}

// ReadGroupPicture reads chunk index of the group's picture, for any of
// its active members: the picture is the group's, not a message's, so who
// joined after it was set reads it too (the system message that carries
// it stays before their join).
func (n *Runtime) ReadGroupPicture(ctx context.Context, user, conv string, index int) (storage.MediaRef, []byte, error) {
	if _, err := n.authorize(ctx, conv, user, ActMembers); err != nil {
		return storage.MediaRef{}, nil, err
	}
	none := fromPB(pbErr(pb.Code_NOT_FOUND, "%s has no picture", conv))
	cp, err := n.store.LoadCheckpoint(ctx, settingsKey(conv))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.MediaRef{}, nil, none
	case err != nil:
		return storage.MediaRef{}, nil, fromPB(storeErr(err))
	}
	var s groupSettings
	if err := json.Unmarshal(cp.State, &s); err != nil || s.Picture == nil {
		return storage.MediaRef{}, nil, none
	}
	return n.readChunk(ctx, conv, *s.Picture, index)
}

// attachment resolves a send's media_id: a complete upload of the
// sender's into this conversation, attached to a new text message.
func (c *conversation) attachment(m *pb.SendMessage) (storage.MediaRef, *pb.Error) {
	if m.MediaId == "" {
		return storage.MediaRef{}, nil
	}
	if m.Kind != pb.MessageKind_NORMAL || m.RefSeq != 0 {
		return storage.MediaRef{}, pbErr(pb.Code_INVALID, "a file is attached to a new text message, not to an edit, a card or a reaction")
	}
	md, err := c.rt.store.GetMedia(context.Background(), c.id, m.MediaId)
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && md.Uploader != m.Sender:
		return storage.MediaRef{}, pbErr(pb.Code_NOT_FOUND, "no upload %s of %s in %s", m.MediaId, m.Sender, c.id)
	case err != nil:
		return storage.MediaRef{}, storeErr(err)
	case !md.Complete:
		return storage.MediaRef{}, pbErr(pb.Code_INVALID, "upload %s is not complete", m.MediaId)
	case c.rt.cfg.MediaUploadTTL > 0 && time.Since(md.CreatedAt) > c.rt.cfg.MediaUploadTTL:
		return storage.MediaRef{}, pbErr(pb.Code_INVALID, "upload %s expired (uploads are kept %v for a message): upload it again", m.MediaId, c.rt.cfg.MediaUploadTTL)
	case md.AttachedSeq > c.durable && md.AttachedSeq <= c.lastSeq:
		// Claimed by a message of this activation still on its way to the store.
		return storage.MediaRef{}, pbErr(pb.Code_INVALID, "upload %s is attached to message %d already: upload it again to send it again", m.MediaId, md.AttachedSeq)
	case md.AttachedSeq != 0:
		// Another message carries it, unless the send that claimed it
		// never got its message stored (its seq then holds another).
		prev, err := c.rt.store.GetMessage(context.Background(), c.id, md.AttachedSeq)
		switch {
		case err == nil && prev.Media.ID == md.ID:
			return storage.MediaRef{}, pbErr(pb.Code_INVALID, "upload %s is attached to message %d already: upload it again to send it again", m.MediaId, md.AttachedSeq)
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return storage.MediaRef{}, storeErr(err)
		}
	}
	return md.Ref(), nil
}

// claimAttachment records that the message about to take seq carries
// the upload, so no other message takes it (and no sweep deletes it).
func (c *conversation) claimAttachment(media storage.MediaRef, seq uint64) *pb.Error {
	if media.ID == "" {
		return nil
	}
	if err := c.rt.store.AttachMedia(context.Background(), c.id, media.ID, seq); err != nil {
		return storeErr(err)
	}
	return nil
}
