package boot

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A remoting connection carries RemoteWriteTimeout as its socket's
// TCP_USER_TIMEOUT: the kernel closes it once written data stays
// unacknowledged that long (a network cut), instead of leaving every
// message to that member behind TCP's retransmission back-off. A negative
// timeout leaves the OS's default (0: none set). The member's server
// accepts the keepalive pings that come with it.
func TestRemoteConnectionsBoundUnacknowledgedWrites(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		wantMs  int
	}{{"configured", 1234 * time.Millisecond, 1234}, {"default", 0, int(DefaultRemoteWriteTimeout / time.Millisecond)}, {"off", -1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			conns := make(chan net.Conn, 4)
			capture := grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err == nil {
					conns <- c
				}
				return c, err
			})
			dial := append(remoteKeepalive(tc.timeout), capture)
			sender, echo := senderAndEcho(t, dialWith(dial...), remote.WithServerOptions(remoteServerKeepalive(tc.timeout)...))
			if _, err := sender.Root.RequestFuture(echo, wrapperspb.String("hi"), 5*time.Second).Result(); err != nil {
				t.Fatalf("request over the connection: %v", err)
			}
			var conn net.Conn
			select {
			case conn = <-conns:
			default:
				t.Fatal("the request went through no dialed connection")
			}
			raw, err := conn.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var got int
			var gerr error
			if err := raw.Control(func(fd uintptr) {
				got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
			}); err != nil || gerr != nil {
				t.Fatal(err, gerr)
			}
			if got != tc.wantMs {
				t.Fatalf("TCP_USER_TIMEOUT %d ms, want %d", got, tc.wantMs)
			}
		})
	}
}
