package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A client may write its first WebSocket frame right behind the upgrade
// request, before the 101: those bytes are in net/http's buffer when the
// connection is hijacked, and the carrier's own buffer must start with
// them, also when they are more than it would otherwise hold.
func TestWebSocketBytesBehindTheUpgrade(t *testing.T) {
	for _, size := range []int{11, wsReadBuffer + 2000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) { checkBytesBehindTheUpgrade(t, size) })
	}
}

func checkBytesBehindTheUpgrade(t *testing.T, size int) {
	payload := bytes.Repeat([]byte("early bytes "), size/12+1)[:size]
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr, err := acceptWebSocket(w, r, nil, nil)
		if err != nil {
			got <- "upgrade failed: " + err.Error()
			return
		}
		defer cr.c.CloseNow()
		b := make([]byte, size)
		_ = cr.st.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(cr.st, b); err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- string(b)
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x82} // binary, final
	if size < 126 {
		frame = append(frame, 0x80|byte(size))
	} else {
		frame = append(frame, 0x80|126, byte(size>>8), byte(size))
	}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write(append([]byte(req), frame...)); err != nil { // one write: both in one segment
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	select {
	case s := <-got:
		if s != string(payload) {
			t.Fatalf("the server read %.40q…, want the frame sent behind the upgrade", s)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the frame sent behind the upgrade was never read")
	}
}

// Writes around the carrier's write buffer's size (a frame header and the
// payload filling it, filling it exactly, one byte past it) each arrive
// as one whole message.
func TestWebSocketWritesAroundTheBuffer(t *testing.T) {
	cr, client := wsPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, size := range []int{wsWriteBuffer - 4, wsWriteBuffer, wsWriteBuffer + 1, 3*wsWriteBuffer + 7} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		if _, err := cr.st.Write(msg); err != nil {
			t.Fatalf("write of %d bytes: %v", size, err)
		}
		typ, got, err := client.Read(ctx)
		if err != nil {
			t.Fatalf("read of %d bytes: %v", size, err)
		}
		if typ != websocket.MessageBinary || !bytes.Equal(got, msg) {
			t.Fatalf("wrote %d bytes, read a %v message of %d", size, typ, len(got))
		}
	}
}
