package actors

import (
	"unicode/utf8"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A message's meta is the app's own data about it: an order's or a
// listing's id, a price, how the app draws it. The node keeps it with the
// message and hands it out wherever the message goes (pushes, history,
// the export, the admin API's transcript), and never shows, screens or
// reads it. It is set when the message is sent, on a new text, file,
// place, card or poll, and stays: an edit, a reaction, a vote, a poll's
// close or a forward carries none. A recall or an end takes it with the
// text (storage.Message.Meta).

// maxMetaKeyBytes bounds one key: a name, not data.
const maxMetaKeyBytes = 64

// checkMeta refuses a meta the node does not keep: on a revision, a
// reaction or a vote (INVALID), with a malformed key or a value not UTF-8
// (INVALID), or over maxBytes of keys and values together (TOO_LARGE).
func checkMeta(m *pb.SendMessage, maxBytes int) *pb.Error {
	if len(m.Meta) == 0 {
		return nil
	}
	if m.RefSeq != 0 || m.Kind == pb.MessageKind_REACTION || m.Kind == pb.MessageKind_VOTE {
		return pbErr(pb.Code_INVALID, "meta goes with a new message: not with an edit, an update, a close, a reaction or a vote")
	}
	return validMeta(m.Meta, maxBytes)
}

// validMeta checks a meta's keys, values and size (a message's, a
// conversation's or a user's profile's).
func validMeta(meta map[string]string, maxBytes int) *pb.Error {
	size := 0
	for k, v := range meta {
		if !validMetaKey(k) {
			return pbErr(pb.Code_INVALID, "meta key %q: 1 to %d letters, digits and _.-", k, maxMetaKeyBytes)
		}
		if !utf8.ValidString(v) {
			return pbErr(pb.Code_INVALID, "meta value of %q is not UTF-8", k)
		}
		size += len(k) + len(v)
	}
	if size > maxBytes {
		return pbErr(pb.Code_TOO_LARGE, "meta of %d bytes, limit %d", size, maxBytes)
	}
	return nil
}

func validMetaKey(k string) bool {
	if k == "" || len(k) > maxMetaKeyBytes {
		return false
	}
	for i := range len(k) {
		switch c := k[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

func (c *conversation) checkMeta(m *pb.SendMessage) *pb.Error {
	return checkMeta(m, c.rt.cfg.MaxMetaBytes)
}
