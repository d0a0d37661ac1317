package web

import (
	"context"
	"testing"
	"time"
)

// BenchmarkWebSocketStreamWrite: what one stream write of a small batch
// (a chat connection's answer and push) costs the node, the write
// deadline set before it as the connection code does; the client reads
// everything on its own goroutine.
func BenchmarkWebSocketStreamWrite(b *testing.B) {
	cr, client := wsPair(b)
	client.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, _, err := client.Read(ctx); err != nil {
				return
			}
		}
	}()
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
