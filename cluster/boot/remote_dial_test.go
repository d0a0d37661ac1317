package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A message sent to an address where nothing listens yet (a killed member,
// before the others drop it) must not cost the messages sent there once a
// process listens again: the connection waits for the address instead of
// failing, sleeping 2 s and then tearing down the endpoint by address.
// With one dial attempt (RemoteDialWait < 0, protoactor's behaviour) the
// request below is dead-lettered when that sleep ends.
func TestRemoteConnectionWaitsForARestartedMember(t *testing.T) {
	res, err := askRestartedMember(t, 0, 300*time.Millisecond)
	if err != nil {
		t.Fatalf("request to the restarted member: %v", err)
	}
	if got := res.(*wrapperspb.StringValue).GetValue(); got != "echo after restart" {
		t.Fatalf("answer %q", got)
	}
}

// RemoteDialWait is where the waiting ends: a member back after it is not
// waited for, and what was queued for it is dead-lettered (after the
// writer's 2 s sleep), as protoactor would.
func TestRemoteDialWaitBoundsTheWait(t *testing.T) {
	if _, err := askRestartedMember(t, 200*time.Millisecond, 600*time.Millisecond); err == nil {
		t.Fatal("the member back after RemoteDialWait was still waited for")
	}
}

// askRestartedMember sends to an address where nothing listens, starts a
// member there after restartAfter, and asks it once it is up, with the
// sender's RemoteDialWait set to wait.
func askRestartedMember(t *testing.T, wait, restartAfter time.Duration) (any, error) {
	t.Helper()
	addr := freeLoopbackAddr(t)
	host, port := splitHostPort(t, addr)

	sender := quietSystem()
	rs := remote.NewRemote(sender, remote.Configure("127.0.0.1", 0,
		func(c *remote.Config) { c.MaxRetryCount = 1 },
		remote.WithDialOptions(remoteDialOptions(wait, watchEndpointEnds(sender.EventStream))...)))
	rs.Start()
	t.Cleanup(func() { rs.Shutdown(false) })

	target := actor.NewPID(addr, "echo")
	// In flight when the member died: its connect finds nothing listening.
	sender.Root.Send(target, wrapperspb.String("lost"))
	time.Sleep(restartAfter)

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
	return sender.Root.RequestFuture(target, wrapperspb.String("after restart"), 10*time.Second).Result()
}

// Stopping an endpoint (what protoactor does for every termination it
// hears of, by address) must not publish a termination of its own: that
// one stops the next connection to the same address, and so on. Only the
// termination published here may be seen, and requests keep flowing.
func TestClosingAnEndpointReportsNoTermination(t *testing.T) {
	sender, echo := senderAndEcho(t, dialWith(), nil)
	ask := func(what string) error {
		_, err := sender.Root.RequestFuture(echo, wrapperspb.String(what), 5*time.Second).Result()
		return err
	}
	if err := ask("first"); err != nil {
		t.Fatal(err)
	}

	var terminations atomic.Int32
	sub := sender.EventStream.Subscribe(func(ev any) {
		if e, ok := ev.(*remote.EndpointTerminatedEvent); ok && e.Address == echo.Address {
			terminations.Add(1)
		}
	})
	t.Cleanup(func() { sender.EventStream.Unsubscribe(sub) })
	sender.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: echo.Address})
	for i := 0; i < 20; i++ {
		if err := ask(fmt.Sprint("after ", i)); err != nil {
			t.Fatalf("request %d after the endpoint was stopped: %v", i, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if n := terminations.Load(); n != 1 {
		t.Fatalf("%d terminations of %s seen, want only the one published by the test", n, echo.Address)
	}
}

// A writer that stops because a send failed (the member's server went
// away mid-write) leaves no termination behind it; the endpoint it served
// must still be dropped, or every later message to that address is
// dead-lettered for good. One send is made to fail here; the requests
// after it must get through on a new connection.
func TestAFailedSendDropsItsEndpoint(t *testing.T) {
	var failNext atomic.Bool
	failOnce := grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		return failingSend{ClientStream: s, fail: &failNext}, err
	})
	sender, echo := senderAndEcho(t, dialWith(failOnce), nil)
	ask := func(what string, within time.Duration) error {
		_, err := sender.Root.RequestFuture(echo, wrapperspb.String(what), within).Result()
		return err
	}
	if err := ask("first", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	failNext.Store(true)
	_ = ask("lost with the failed send", 500*time.Millisecond)
	if failNext.Load() {
		t.Fatal("no send went through the failing stream")
	}
	var err error
	for i := 0; i < 10; i++ {
		if err = ask(fmt.Sprint("after ", i), 500*time.Millisecond); err == nil {
			return
		}
	}
	t.Fatalf("no request got through after the failed send: %v", err)
}

// failingSend fails one SendMsg when fail is set, as a write to a member
// whose server just went away does; its RecvMsg waits as the real one.
type failingSend struct {
	grpc.ClientStream
	fail *atomic.Bool
}

func (s failingSend) SendMsg(m any) error {
	if s.fail.CompareAndSwap(true, false) {
		return errors.New("injected: transport is closing")
	}
	return s.ClientStream.SendMsg(m)
}

// dialWith is a sender's remote options: remoteDialOptions (waiting the
// default time) and then extra.
func dialWith(extra ...grpc.DialOption) func(*actor.ActorSystem) remote.ConfigOption {
	return func(sender *actor.ActorSystem) remote.ConfigOption {
		return remote.WithDialOptions(append(remoteDialOptions(0, watchEndpointEnds(sender.EventStream)), extra...)...)
	}
}

// senderAndEcho starts two remote actor systems on loopback, the sender
// with senderOpts and the member with memberOpts (nil: none), and an echo
// actor on the member.
func senderAndEcho(t *testing.T, senderOpts func(*actor.ActorSystem) remote.ConfigOption, memberOpts remote.ConfigOption) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	sender := quietSystem()
	rs := remote.NewRemote(sender, remote.Configure("127.0.0.1", 0, senderOpts(sender)))
	rs.Start()
	t.Cleanup(func() { rs.Shutdown(false) })
	member := quietSystem()
	var mopts []remote.ConfigOption
	if memberOpts != nil {
		mopts = append(mopts, memberOpts)
	}
	rm := remote.NewRemote(member, remote.Configure("127.0.0.1", 0, mopts...))
	rm.Start()
	t.Cleanup(func() { rm.Shutdown(false) })
	echo, err := member.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(m)
		}
	}), "echo")
	if err != nil {
		t.Fatal(err)
	}
	return sender, echo
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
