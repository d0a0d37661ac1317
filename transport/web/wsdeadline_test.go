package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketWriteDeadline: a write to a client that stopped reading
// gives up once its deadline passes, also when the deadline is set while
// the write is already blocked (what closing a connection does to a
// writer stuck on a slow consumer); a deadline that passes between writes
// fails the next write until a new one is set.
func TestWebSocketWriteDeadline(t *testing.T) {
	cr, _ := wsPair(t) // the client never reads
	st := cr.st

	// A deadline that passes between writes fails the next write only.
	_ = st.SetWriteDeadline(time.Now().Add(time.Millisecond))
	time.Sleep(50 * time.Millisecond)
	if _, err := st.Write([]byte("late")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write after its deadline passed: %v", err)
	}
	_ = st.SetWriteDeadline(time.Time{})
	if _, err := st.Write([]byte("on time")); err != nil {
		t.Fatalf("write with the deadline cleared: %v", err)
	}

	// Fill the client's buffers until a write blocks, then set a deadline.
	blocked := make(chan error, 1)
	go func() {
		msg := make([]byte, 1<<20)
		for {
			if _, err := st.Write(msg); err != nil {
				blocked <- err
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // the socket buffers are full by now
	start := time.Now()
	_ = st.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	select {
	case err := <-blocked:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the blocked write ended with %v, want a deadline error", err)
		}
		t.Logf("the blocked write gave up %v after the deadline was set", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("a write blocked on a client that does not read ignored a deadline set meanwhile")
	}
}

// wsPair serves one WebSocket with this package's carrier and dials it:
// the server's carrier and the client's connection, both closed when the
// test ends.
func wsPair(tb testing.TB) (*wsCarrier, *websocket.Conn) {
	tb.Helper()
	accepted := make(chan *wsCarrier, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cr, err := acceptWebSocket(w, r, nil, nil); err == nil {
			accepted <- cr
		}
	}))
	tb.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = client.CloseNow() })
	select {
	case cr := <-accepted:
		tb.Cleanup(func() { _ = cr.c.CloseNow() })
		return cr, client
	case <-ctx.Done():
		tb.Fatal("no connection accepted")
		return nil, nil
	}
}
