package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Card is the body of a CARD message: a title, labelled fields, an image
// and up to Config.MaxCardActions action buttons. A customer's click on an
// action goes to the business system's card webhook (package actors/cards).
type Card struct {
	Title    string       `json:"title"`
	Fields   []CardField  `json:"fields,omitempty"`
	ImageURL string       `json:"image_url,omitempty"`
	Actions  []CardAction `json:"actions,omitempty"`
}

// CardField is one labelled line of a card.
type CardField struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// CardAction is one button: its id (what a click names), its label, and
// a payload the webhook gets back with the click.
type CardAction struct {
	ID      string          `json:"id"`
	Label   string          `json:"label"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

var actionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// Card limits besides MaxCardActions and MaxCardFields.
const (
	maxCardText    = 1000 // bytes of a title, label or value
	maxCardURL     = 2048
	maxCardPayload = 4096
)

// ParseCard decodes and checks a card body; unknown fields are refused, so
// a typo is an error rather than a card missing a part.
func (n *Runtime) ParseCard(body []byte) (*Card, error) {
	if e := n.checkCard(body); e != nil {
		return nil, fromPB(e)
	}
	var c Card
	_ = json.Unmarshal(body, &c)
	return &c, nil
}

func (n *Runtime) checkCard(body []byte) *pb.Error {
	bad := func(format string, args ...any) *pb.Error {
		return pbErr(pb.Code_INVALID, "bad card: "+format, args...)
	}
	var c Card
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return bad("%v", err)
	}
	if dec.More() {
		return bad("trailing data after the card")
	}
	if c.Title == "" || len(c.Title) > maxCardText {
		return bad("title of %d bytes, want 1..%d", len(c.Title), maxCardText)
	}
	if len(c.Fields) > n.cfg.MaxCardFields {
		return bad("%d fields, limit %d", len(c.Fields), n.cfg.MaxCardFields)
	}
	for i, f := range c.Fields {
		if f.Label == "" || len(f.Label) > maxCardText || len(f.Value) > maxCardText {
			return bad("field %d: label of %d bytes, value of %d, want 1..%d and 0..%d", i, len(f.Label), len(f.Value), maxCardText, maxCardText)
		}
	}
	if c.ImageURL != "" {
		u, err := url.Parse(c.ImageURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(c.ImageURL) > maxCardURL {
			return bad("image_url %q is not an http(s) URL of at most %d bytes", c.ImageURL, maxCardURL)
		}
	}
	if len(c.Actions) > n.cfg.MaxCardActions {
		return bad("%d actions, limit %d", len(c.Actions), n.cfg.MaxCardActions)
	}
	ids := map[string]bool{}
	for i, a := range c.Actions {
		if !actionIDPattern.MatchString(a.ID) {
			return bad("action %d: id %q, want 1-64 of letters, digits and _.:-", i, a.ID)
		}
		if ids[a.ID] {
			return bad("action id %q twice", a.ID)
		}
		ids[a.ID] = true
		if a.Label == "" || len(a.Label) > maxCardText {
			return bad("action %s: label of %d bytes, want 1..%d", a.ID, len(a.Label), maxCardText)
		}
		if len(a.Payload) > maxCardPayload {
			return bad("action %s: payload of %d bytes, limit %d", a.ID, len(a.Payload), maxCardPayload)
		}
	}
	return nil
}

// checkKind checks a send's kind: text, a well-formed card, or a reaction
// (conv_reaction.go); an update (ref_seq) must name a card of the same
// sender, an edit (text with ref_seq) a text message of the same sender.
func (c *conversation) checkKind(m *pb.SendMessage) *pb.Error {
	switch m.Kind {
	case pb.MessageKind_NORMAL:
		if m.RefSeq != 0 {
			return c.checkEdit(m)
		}
		return nil
	case pb.MessageKind_REACTION:
		return c.checkReaction(m)
	case pb.MessageKind_POLL:
		return c.checkPoll(m)
	case pb.MessageKind_VOTE:
		return c.checkVote(m)
	case pb.MessageKind_CARD:
	default:
		return pbErr(pb.Code_INVALID, "a client sends text, card, reaction, poll or vote messages, not %v", m.Kind)
	}
	if e := c.rt.checkCard(m.Body); e != nil {
		return e
	}
	if m.RefSeq == 0 {
		return nil
	}
	if m.RefSeq > c.durable {
		return pbErr(pb.Code_NOT_FOUND, "no card at seq %d of %s", m.RefSeq, c.id)
	}
	msgs, err := c.rt.store.ListMessages(context.Background(), c.id, m.RefSeq, m.RefSeq, storage.OldestFirst, 1)
	if err != nil {
		return storeErr(err)
	}
	if len(msgs) != 1 || msgs[0].Kind != storage.MsgCard || msgs[0].Recalled() {
		return pbErr(pb.Code_NOT_FOUND, "no card at seq %d of %s", m.RefSeq, c.id)
	}
	if msgs[0].Sender != m.Sender {
		return pbErr(pb.Code_FORBIDDEN, "the card at seq %d is %s's, not %s's", m.RefSeq, msgs[0].Sender, m.Sender)
	}
	return nil
}

// CardAt returns the card message at seq of conv as user sees it, with its
// parsed card (for a click).
func (n *Runtime) CardAt(ctx context.Context, user, conv string, seq uint64) (*pb.Message, *Card, error) {
	msgs, err := n.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: seq, ToSeq: seq, Limit: 1})
	if err != nil {
		return nil, nil, err
	}
	if len(msgs) != 1 || msgs[0].Seq != seq || msgs[0].Kind != pb.MessageKind_CARD || msgs[0].Recalled {
		return nil, nil, &Error{Code: pb.Code_NOT_FOUND, Message: fmt.Sprintf("no card at seq %d of %s for %s", seq, conv, user)}
	}
	var card Card
	if err := json.Unmarshal(msgs[0].Body, &card); err != nil {
		return nil, nil, fmt.Errorf("stored card %s#%d: %w", conv, seq, err)
	}
	return msgs[0], &card, nil
}
