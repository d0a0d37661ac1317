package client

import (
	"errors"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Forward queues a copy of the message at seq of conv, a text or a file
// this user can read, to to: sent as this user's own message, labelled
// Forwarded, with the text its sender last edited it to. The node copies
// the file itself, so nothing is downloaded or uploaded again. The pending
// message shows the copy as the client holds it; the answer (Wait) is the
// copy as stored. A card, a poll or anything else: INVALID.
func (c *Client) Forward(to Target, conv string, seq uint64) (*Pending, error) {
	if conv == "" || seq == 0 {
		return nil, errors.New("client: a forward names the conversation and the seq of its message")
	}
	if to.Conv != "" {
		to = c.toConvOrPeer(to.Conv) // send{to} starts the conversation if it is not yet
	}
	m := Message{Kind: wirepb.MessageKind_NORMAL, Forwarded: true, ClientTime: time.Now()}
	if held, ok := c.store.message(conv, seq); ok {
		m.Body, m.Media, m.Location = held.Body, held.Media, held.Location
	}
	o := &outgoing{msg: m}
	o.forward.conv, o.forward.seq = conv, seq
	return c.queueSend(to, o)
}
