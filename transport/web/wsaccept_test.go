package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client may write its first WebSocket frame right behind the upgrade
// request, before the 101: those bytes are in net/http's buffer when the
// connection is hijacked, and the carrier's own buffer must start with
// them.
func TestWebSocketBytesBehindTheUpgrade(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr, err := acceptWebSocket(w, r, nil, nil)
		if err != nil {
			got <- "upgrade failed: " + err.Error()
			return
		}
		defer cr.c.CloseNow()
		b := make([]byte, 64)
		_ = cr.st.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := io.ReadAtLeast(cr.st, b, len("early bytes"))
		if err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- string(b[:k])
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := []byte("early bytes")
	mask := [4]byte{1, 2, 3, 4}
	frame := append([]byte{0x82, 0x80 | byte(len(payload))}, mask[:]...) // binary, final, masked
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
		if s != "early bytes" {
			t.Fatalf("the server read %q, want the frame sent behind the upgrade", s)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the frame sent behind the upgrade was never read")
	}
}
