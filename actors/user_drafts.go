package actors

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Drafts: what a user started writing in a conversation and has not sent
// yet, kept for their other devices — an agent who began an answer on
// the desktop finishes it on the phone. One checkpoint row per user,
// written by the user grain (two devices typing at once lose nothing
// but the older text of one conversation), the latest changed first, at
// most Config.MaxDrafts of at most Config.MaxDraftBytes each. Reads go
// to the store: an idle grain holds nothing of them. Every change
// reaches the user's connected devices as a lists push (DRAFTS). A
// client clears a draft itself once its message is sent: the send path
// never reads this row.

func draftsKey(user string) string { return "user/drafts/" + user }

func loadDrafts(ctx context.Context, store storage.Store, user string) (*pb.DraftList, *pb.Error) {
	return loadRow[pb.DraftList](ctx, store, draftsKey(user))
}

func (u *user) setDraft(ctx actor.Context, m *pb.SetDraft) {
	bg := context.Background()
	l, e := loadDrafts(bg, u.rt.store, u.id)
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.SetDraftResponse{Error: e})
		return
	}
	i := slices.IndexFunc(l.Drafts, func(d *pb.Draft) bool { return d.Conv == m.Conv })
	switch {
	case i < 0 && m.Text == "", i >= 0 && l.Drafts[i].Text == m.Text:
		respond(ctx, ctx.Sender(), &pb.SetDraftResponse{Count: uint32(len(l.Drafts))}) // nothing changes
		return
	case i >= 0:
		l.Drafts = slices.Delete(l.Drafts, i, i+1)
	case len(l.Drafts) >= u.rt.cfg.MaxDrafts:
		respond(ctx, ctx.Sender(), &pb.SetDraftResponse{Error: pbErr(pb.Code_TOO_MANY,
			"%s keeps %d drafts, the limit: send or clear one first", u.id, len(l.Drafts))})
		return
	}
	if m.Text != "" {
		l.Drafts = slices.Insert(l.Drafts, 0, &pb.Draft{Conv: m.Conv, Text: m.Text, AtMs: time.Now().UnixMilli()})
	}
	if err := saveRow(bg, u.rt.store, draftsKey(u.id), l); err != nil {
		respond(ctx, ctx.Sender(), &pb.SetDraftResponse{Error: storeErr(err)})
		return
	}
	u.listChanged(pb.ListsUpdate_DRAFTS, "")
	respond(ctx, ctx.Sender(), &pb.SetDraftResponse{Count: uint32(len(l.Drafts))})
}

// SetDraft keeps text as user's draft of conv, a conversation user
// reads (history's rule, else NOT_MEMBER), for their other devices; an
// empty text clears it. text is at most Config.MaxDraftBytes of UTF-8
// (else TOO_LARGE or INVALID); past Config.MaxDrafts drafts, TOO_MANY.
// It answers how many drafts user keeps.
func (n *Runtime) SetDraft(ctx context.Context, user, conv, text string) (int, error) {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return 0, err
	}
	switch {
	case len(text) > n.cfg.MaxDraftBytes:
		return 0, fromPB(pbErr(pb.Code_TOO_LARGE, "a draft of %d bytes, limit %d", len(text), n.cfg.MaxDraftBytes))
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		return 0, invalid("a draft is UTF-8 text")
	case strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) >= 0:
		return 0, invalid("a draft has a control character")
	}
	if text != "" {
		if _, err := n.authorize(ctx, conv, user, ActHistory); err != nil {
			return 0, err
		}
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetDraft{User: user, Conv: conv, Text: text})
	if err != nil {
		return 0, err
	}
	r := res.(*pb.SetDraftResponse)
	return int(r.Count), fromPB(r.Error)
}

// Drafts lists user's drafts, the latest changed first.
func (n *Runtime) Drafts(ctx context.Context, user string) ([]*pb.Draft, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	l, e := loadDrafts(ctx, n.store, user)
	if e != nil {
		return nil, fromPB(e)
	}
	return l.Drafts, nil
}
