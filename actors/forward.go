package actors

import (
	"context"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Forwarding: a user sends a copy of a message they can read (a text or a
// file, with the text its sender last edited it to) into a conversation,
// as their own message labelled forwarded (storage.FlagForwarded), under
// every rule of a send there. The copy names neither the conversation it
// came from nor its sender: its new readers may have no right to know
// either. A file is copied into the target conversation as a new upload
// of the forwarder's, chunk by chunk inside the node, so a phone forwards
// a video without fetching it and sending it again; the copy counts
// against the forwarder's upload allowance (Config.MediaBytesPerHour).
// Cards, polls and the rest are refused: a card's actions and a poll's
// votes belong to the conversation they were posted in.

func isForward(req *pb.SendMessage) bool { return req.ForwardConv != "" || req.ForwardSeq != 0 }

// forward turns req, a forward, into the send of a copy and sends it, to
// req.Conv or (to set) to the direct conversation with to.
func (n *Runtime) forward(ctx context.Context, to string, req *pb.SendMessage) (*pb.SendResponse, error) {
	if err := checkUser(req.Sender); err != nil {
		return nil, err
	}
	if err := checkConv(req.ForwardConv); err != nil {
		return nil, err
	}
	if req.ForwardSeq == 0 {
		return nil, invalid("a forward names the seq of the message it forwards")
	}
	if len(req.Body) > 0 || req.Kind != pb.MessageKind_NORMAL || req.RefSeq != 0 || req.ReplyTo != 0 || len(req.Mentions) > 0 || req.MediaId != "" || req.Location != nil || len(req.Meta) > 0 {
		return nil, invalid("a forward carries its message's content: no body, kind, ref_seq, reply_to, mentions, media_id, location or meta of its own")
	}
	target := req.Conv
	if to != "" {
		var err error
		if target, err = directTarget(req.Sender, to, req.Topic); err != nil {
			return nil, err
		}
	} else if req.Topic != "" {
		return nil, invalid("a topic goes with a forward to a user: conversation %s names its own", target)
	} else if err := checkConv(target); err != nil {
		return nil, err
	}
	src, err := n.forwardSource(ctx, req.Sender, req.ForwardConv, req.ForwardSeq)
	if err != nil {
		return nil, err
	}
	if limit := n.cfg.MaxForwardHops; limit > 0 && int(src.ForwardHops) >= limit {
		return nil, forbidden("message %d of %s has been forwarded %d times, the node's limit: it goes no further", req.ForwardSeq, req.ForwardConv, src.ForwardHops)
	}
	req.Body, req.Location = src.Body, fixedPlace(src.Location)
	if src.Media != nil {
		id, err := n.copyMedia(ctx, req.Sender, req.ForwardConv, target, mediaRefFromPB(src.Media))
		if err != nil {
			return nil, err
		}
		req.MediaId = id
	}
	// A copy of a copy counts one forward more: readers show a chain
	// letter for what it is ("forwarded many times").
	req.ForwardConv, req.ForwardSeq, req.Forwarded, req.ForwardHops = "", 0, true, src.ForwardHops+1
	var res *pb.SendResponse
	if to != "" {
		res, err = n.sendDirect(ctx, to, req, false)
	} else {
		res, err = n.send(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return n.forwardAnswer(ctx, req, res)
}

// forwardAnswer tells the forwarder what its copy holds, as stored: a
// resend answered duplicate holds what the first send stored (its file
// another copy: this one's goes at once). A message already gone (recalled
// meanwhile) is answered as it was.
func (n *Runtime) forwardAnswer(ctx context.Context, req *pb.SendMessage, res *pb.SendResponse) (*pb.SendResponse, error) {
	msgs, err := n.History(ctx, &pb.GetHistory{Conv: req.Conv, User: req.Sender, FromSeq: res.Seq, ToSeq: res.Seq, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Seq != res.Seq {
		return res, nil // the copy is stored: its push and sync tell the rest
	}
	stored := msgs[0]
	if req.MediaId != "" && stored.Media.GetId() != req.MediaId {
		if err := n.store.DeleteMedia(ctx, req.Conv, req.MediaId); err != nil {
			n.log.Warn("delete a resent forward's copy", "conv", req.Conv, "media", req.MediaId, "err", err)
		}
	}
	res.StoredBody, res.Media, res.Location = stored.Body, stored.Media, stored.Location
	return res, nil
}

// forwardSource reads message seq of conv as user sees it (history's
// rules), which must be a text or a file, with the newest text its sender
// edited it to.
func (n *Runtime) forwardSource(ctx context.Context, user, conv string, seq uint64) (*pb.Message, error) {
	msgs, err := n.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: seq, ToSeq: seq, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 || msgs[0].Seq != seq || msgs[0].Recalled {
		return nil, fromPB(pbErr(pb.Code_NOT_FOUND, "no message %d of %s to forward", seq, conv))
	}
	m := msgs[0]
	switch {
	case m.Kind != pb.MessageKind_NORMAL:
		return nil, invalid("message %d of %s is a %v: only a text or a file is forwarded", seq, conv, m.Kind)
	case m.RefSeq != 0:
		return nil, invalid("message %d of %s is an edit: forward the message it names (%d)", seq, conv, m.RefSeq)
	}
	return m, n.applyNewestEdit(ctx, user, conv, m)
}

// applyNewestEdit gives text message m of conv the text of its newest
// edit that user reads. Edits lie within the edit window after their
// message; the scan is bounded like a search's.
func (n *Runtime) applyNewestEdit(ctx context.Context, user, conv string, m *pb.Message) error {
	if m.Kind != pb.MessageKind_NORMAL || m.RefSeq != 0 {
		return nil
	}
	until := m.ServerTsMs + n.cfg.EditWindow.Milliseconds()
	if l := m.Location; l != nil {
		until = max(until, l.LiveUntilMs) // a live location moves until then
	}
	const page = 64 // most messages have no edit: the first page usually ends the scan
	for from, read := m.Seq+1, 0; read < n.cfg.MaxSearchScan; read += page {
		later, err := n.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: from, OldestFirst: true, Limit: page})
		if err != nil {
			return err
		}
		for _, e := range later {
			if e.ServerTsMs > until {
				return nil
			}
			switch {
			case e.Kind != pb.MessageKind_NORMAL || e.RefSeq != m.Seq || e.Sender != m.Sender || e.Recalled:
			case e.Location != nil && len(e.Body) == 0:
				m.Location = e.Location // a live location's move
			default:
				m.Body = e.Body
			}
		}
		if len(later) < page {
			return nil
		}
		from = later[len(later)-1].Seq + 1
	}
	return nil
}

// copyMedia copies file ref of conv from into conv to as a complete
// upload of user's, which a send there attaches; the bytes never leave
// the node. A copy that fails midway is deleted.
func (n *Runtime) copyMedia(ctx context.Context, user, from, to string, ref storage.MediaRef) (string, error) {
	m, err := n.CreateMedia(ctx, user, to, ref.Name, ref.MIME, ref.Size, ref.Preview)
	if err != nil {
		return "", err
	}
	copied := func() error {
		for i := range ref.Chunks() {
			_, data, err := n.readChunk(ctx, from, ref, i)
			if err != nil {
				return err
			}
			if err := n.store.PutMediaChunk(ctx, to, m.ID, i, data); err != nil {
				return fromPB(storeErr(err))
			}
		}
		if _, err := n.store.CompleteMedia(ctx, to, m.ID); err != nil {
			return fromPB(storeErr(err))
		}
		return nil
	}()
	if copied != nil {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := n.store.DeleteMedia(bg, to, m.ID); err != nil {
			n.log.Warn("delete a forward's partial copy", "conv", to, "media", m.ID, "err", err)
		}
		return "", copied
	}
	return m.ID, nil
}

// fixedPlace is l as a forward copies it: where it was last, not shared
// live (only its sender moves a live location); nil for none.
func fixedPlace(l *pb.Location) *pb.Location {
	if l == nil {
		return nil
	}
	return &pb.Location{Lat: l.Lat, Lng: l.Lng, Name: l.Name}
}
