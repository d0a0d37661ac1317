package client

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"
)

// TestWebSocketKeepAlive: over WebSocket, KeepAlive and IdleTimeout become
// the TCP keep-alive of the client's socket (first probe after KeepAlive
// idle, three probes spread over the rest of IdleTimeout), so a silent
// dead path is found as soon as over QUIC, not after the kernel's minutes.
func TestWebSocketKeepAlive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		_, _, _ = c.Read(r.Context()) // hold it open until the client goes
	}))
	defer srv.Close()
	for _, tc := range []struct {
		keepAlive, idle              time.Duration
		wantIdle, wantIntvl, wantCnt int // seconds, seconds, probes
	}{
		{15 * time.Second, 60 * time.Second, 15, 15, 3}, // the defaults
		{5 * time.Second, 8 * time.Second, 5, 1, 3},     // the interval's floor: 1 s
	} {
		cfg := &Config{WebSocketURL: "ws" + strings.TrimPrefix(srv.URL, "http"), KeepAlive: tc.keepAlive, IdleTimeout: tc.idle}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		lk, err := dialWebSocket(ctx, cfg, &tls.Config{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		l := lk.(*wsLink)
		raw, err := l.tcp.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]int{}
		if err := raw.Control(func(fd uintptr) {
			for _, opt := range []int{unix.SO_KEEPALIVE, unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT} {
				level := unix.IPPROTO_TCP
				if opt == unix.SO_KEEPALIVE {
					level = syscall.SOL_SOCKET
				}
				got[opt], _ = unix.GetsockoptInt(int(fd), level, opt)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if got[unix.SO_KEEPALIVE] != 1 || got[unix.TCP_KEEPIDLE] != tc.wantIdle || got[unix.TCP_KEEPINTVL] != tc.wantIntvl || got[unix.TCP_KEEPCNT] != tc.wantCnt {
			t.Fatalf("KeepAlive %s, IdleTimeout %s: keep-alive on %d, idle %d s, interval %d s, probes %d; want on, %d s, %d s, %d",
				tc.keepAlive, tc.idle, got[unix.SO_KEEPALIVE], got[unix.TCP_KEEPIDLE], got[unix.TCP_KEEPINTVL], got[unix.TCP_KEEPCNT],
				tc.wantIdle, tc.wantIntvl, tc.wantCnt)
		}
		l.closeWith(0, "")
	}
}
