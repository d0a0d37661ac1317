package boot

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A message sent to an address where nothing listens yet (a killed member,
// before the others drop it) must not cost the messages sent there once a
// process listens again: the connection waits for the address instead of
// failing, sleeping 2 s and then tearing down the endpoint by address.
// With one dial attempt (RemoteDialWait < 0, protoactor's behaviour) the
// request below is dead-lettered when that sleep ends.
func TestRemoteConnectionWaitsForARestartedMember(t *testing.T) {
	addr := freeLoopbackAddr(t)
	host, port := splitHostPort(t, addr)

	sender := quietSystem()
	rs := remote.NewRemote(sender, remote.Configure("127.0.0.1", 0,
		func(c *remote.Config) { c.MaxRetryCount = 1 },
		remote.WithDialOptions(remoteDialOptions(0)...)))
	rs.Start()
	t.Cleanup(func() { rs.Shutdown(false) })

	target := actor.NewPID(addr, "echo")
	// In flight when the member died: its connect finds nothing listening.
	sender.Root.Send(target, wrapperspb.String("lost"))
	time.Sleep(300 * time.Millisecond)

	// The member is back on the same address.
	restarted := quietSystem()
	rr := remote.NewRemote(restarted, remote.Configure(host, port))
	rr.Start()
	t.Cleanup(func() { rr.Shutdown(false) })
	if _, err := restarted.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(wrapperspb.String("echo " + m.GetValue()))
		}
	}), "echo"); err != nil {
		t.Fatal(err)
	}

	res, err := sender.Root.RequestFuture(target, wrapperspb.String("after restart"), 10*time.Second).Result()
	if err != nil {
		t.Fatalf("request to the restarted member: %v", err)
	}
	if got := res.(*wrapperspb.StringValue).GetValue(); got != "echo after restart" {
		t.Fatalf("answer %q", got)
	}
}

func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return tcp.IP.String(), tcp.Port
}
