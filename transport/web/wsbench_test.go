package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkWebSocketStreamWrite: what one stream write of a small batch
// (a chat connection's answer and push) costs the node, the write
// deadline set before it as the connection code does; the client reads
// everything on its own goroutine.
func BenchmarkWebSocketStreamWrite(b *testing.B) {
	accepted := make(chan *wsCarrier, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr, err := acceptWebSocket(w, r, nil, nil)
		if err != nil {
			return
		}
		accepted <- cr
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer client.CloseNow()
	client.SetReadLimit(1 << 20)
	go func() {
		for {
			if _, _, err := client.Read(ctx); err != nil {
				return
			}
		}
	}()
	cr := <-accepted
	defer cr.c.CloseNow()
	batch := make([]byte, 400)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		_ = cr.st.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := cr.st.Write(batch); err != nil {
			b.Fatal(err)
		}
	}
}
