package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// frameClass names how a frame read ended, for comparing two readers.
func frameClass(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, wirepb.ErrFrameTooLarge):
		return "too large"
	case errors.Is(err, wirepb.ErrBadFrame):
		return "bad frame"
	}
	return "other: " + err.Error()
}

// readFrames reads frames until the first error.
func readFrames(r wirepb.ByteReader, max int) ([][]byte, error) {
	var out [][]byte
	for {
		p, err := wirepb.ReadFrame(r, max)
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

// FuzzWebSocketFrames sends bytes as WebSocket binary messages cut at
// fuzzed points (empty messages, frames spanning messages, several frames
// in one) through a real WebSocket into the carrier's stream, read as the
// server does (bufio, wirepb.ReadFrame): the frames and the way the
// reading ends must be those of the same bytes in one piece.
func FuzzWebSocketFrames(f *testing.F) {
	var all []byte
	for _, p := range [][]byte{[]byte("hello"), bytes.Repeat([]byte{7}, 300), {}} {
		all = wirepb.AppendFrame(all, p)
	}
	f.Add(all, []byte{0, 1, 2, 3, 5, 8, 13, 21})
	f.Add(all, []byte{255})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x10}, []byte{1, 1, 1})
	f.Add([]byte{0x85, 0x00}, []byte{1})
	f.Add(append([]byte{0x05}, "abc"...), []byte{2, 0, 0})

	accepted := make(chan *wsCarrier, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w2, err := acceptWebSocket(w, r, nil, nil)
		if err != nil {
			return
		}
		w2.c.SetReadLimit(1 << 20)
		accepted <- w2
		<-w2.ctx.Done()
	}))
	defer srv.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")

	f.Fuzz(func(t *testing.T, data, cuts []byte) { checkWSFrames(t, wsURL, accepted, data, cuts) })
}

func checkWSFrames(t *testing.T, wsURL string, accepted chan *wsCarrier, data, cuts []byte) {
	const (
		maxFrame = 1 << 10
		maxMsgs  = 64 // cut points used; the rest goes in one last message
	)
	want, wantErr := readFrames(bytes.NewReader(data), maxFrame)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var carrier *wsCarrier
	select {
	case carrier = <-accepted:
	case <-ctx.Done():
		t.Fatal("no connection accepted")
	}
	// The server's end goes first: a client still in its close handshake
	// (the reading stopped at a bad frame) then gives up at once.
	defer func() {
		carrier.cancel()
		_ = carrier.c.CloseNow()
	}()
	sent := make(chan error, 1)
	go func() {
		rest := data
		for i, cut := range cuts {
			if i == maxMsgs {
				break
			}
			n := min(int(cut)%64, len(rest))
			if err := c.Write(ctx, websocket.MessageBinary, rest[:n]); err != nil {
				sent <- err
				return
			}
			rest = rest[n:]
		}
		if len(rest) > 0 {
			if err := c.Write(ctx, websocket.MessageBinary, rest); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
		// The close ends the stream (EOF); its handshake is not what is
		// checked here.
		_ = c.Close(websocket.StatusNormalClosure, "")
	}()
	// bufio's least buffer, below the messages' sizes: a message is
	// also consumed in parts.
	got, gotErr := readFrames(bufio.NewReaderSize(carrier.st, 16), maxFrame)
	if len(got) != len(want) {
		t.Fatalf("%d frames through the WebSocket, %d from the bytes", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: %x through the WebSocket, %x from the bytes", i, got[i], want[i])
		}
	}
	if g, w := frameClass(gotErr), frameClass(wantErr); g != w {
		t.Fatalf("reading ended with %q (%v) through the WebSocket, %q (%v) from the bytes", g, gotErr, w, wantErr)
	}
	if errors.Is(gotErr, io.EOF) {
		if err := <-sent; err != nil {
			t.Fatalf("client: %v", err)
		}
	}
}
