// Package wsbytes reads a WebSocket's binary messages as one byte stream:
// on the protocol's WebSocket carrier a frame may span messages and a
// message may hold several frames (docs/PROTOCOL.md §12). The node's
// carrier and the Go SDK's share it.
package wsbytes

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// ErrText is a text message, where the protocol sends binary ones only.
var ErrText = fmt.Errorf("%w: a text message", wirepb.ErrBadFrame)

// Reader reads the binary messages of C in turn, each to its end. It
// passes the library a context that never ends, so the library arms
// nothing per read: the connection's deadlines bound the reads. One
// goroutine at a time.
type Reader struct {
	C   *websocket.Conn
	msg io.Reader // the message being read; nil between messages
}

func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.msg == nil {
			typ, m, err := r.C.Reader(context.Background())
			if err != nil {
				return 0, err
			}
			if typ != websocket.MessageBinary {
				return 0, ErrText
			}
			r.msg = m
		}
		n, err := r.msg.Read(p)
		if errors.Is(err, io.EOF) {
			r.msg = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}
