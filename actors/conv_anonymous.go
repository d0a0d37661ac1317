package actors

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Anonymous polls: a group's poll with "anonymous": true stores each vote
// under its voter's alias in that poll, never under the voter: "~" and
// 16 hex digits of an HMAC of the voter's id, keyed by a random salt the
// grain draws for the poll and keeps in the poll's snapshot row (beside a
// quiz's answer), never in the log. The log, every push and history,
// the export and the operator's reads name the alias; members fold the
// votes by it as they fold any (one alias per voter and poll, so a
// change of vote replaces the last), and no two polls give a voter the
// same alias. Only the grain, which holds the salt, turns a member into
// their alias: to refuse a quiz's second answer, and to tell a member
// their own choice (poll_results' mine). A user id holds no '~', so an
// alias is never anybody's id. In a conversation of two the other member
// knows who voted, so only groups take anonymous polls.

// aliasPrefix starts every voter alias.
const aliasPrefix = "~"

// newPollSalt draws the salt of a new anonymous poll; nil for any other
// message (the grain checked the body already: checkPoll).
func newPollSalt(kind storage.MessageKind, refSeq uint64, body []byte) []byte {
	if kind != storage.MsgPoll || refSeq != 0 {
		return nil
	}
	var p Poll
	if json.Unmarshal(body, &p) != nil || !p.Anonymous {
		return nil
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand never fails on Linux
	return salt
}

// voterKey is whom the tally counts user's vote under: their alias in an
// anonymous poll, else themself.
func (t *pollTally) voterKey(user string) string {
	if !t.poll.Anonymous || len(t.salt) == 0 {
		return user
	}
	mac := hmac.New(sha256.New, t.salt)
	mac.Write([]byte(user))
	return aliasPrefix + hex.EncodeToString(mac.Sum(nil)[:8])
}

// voteSender is who the vote m is stored as: its voter's alias when it
// votes in an anonymous poll, else its sender. A poll the sender cannot
// see is checkVote's to refuse; one whose salt is lost takes no votes.
func (c *conversation) voteSender(m *pb.SendMessage) (string, *pb.Error) {
	if m.Kind != pb.MessageKind_VOTE {
		return m.Sender, nil
	}
	t, e := c.visiblePoll(m.Sender, m.RefSeq)
	switch {
	case e != nil || !t.poll.Anonymous:
		return m.Sender, nil
	case len(t.salt) == 0:
		return "", pbErr(pb.Code_INTERNAL, "the anonymous poll at seq %d of %s lost its key: it takes no votes", t.seq, c.id)
	}
	return t.voterKey(m.Sender), nil
}

// voterAlias is sender when it is an anonymous vote's alias, else "": a
// send's answer tells the voter the alias their vote is stored as, so
// their client folds it as the others will.
func voterAlias(sender string) string {
	if strings.HasPrefix(sender, aliasPrefix) {
		return sender
	}
	return ""
}
