package boot

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// endpointEnds decides when the end of a remoting stream is reported as
// its member's end (an EndpointTerminatedEvent, which makes protoactor drop
// the endpoint it keeps for that address and dial anew next time).
//
// protoactor's endpoint writer closes its connection whenever it stops,
// and the stream's reader then sees "the client connection is closing"
// and reports the address terminated. When the writer stopped because its
// endpoint was terminated already, that second report stops the endpoint
// created for the address in the meantime, whose reader then does the
// same: under traffic one termination (a member restarted on its address,
// a connect that failed) repeated itself for seconds, each one dropping
// the messages queued on the newest connection. So a stream closed by this
// node ends like a completed one (io.EOF), which protoactor does not
// report.
//
// But the writer also stops by itself when a send fails (the member's
// server went away mid-write), and nothing terminates its endpoint then:
// protoactor keeps it for the address, and every later message to that
// address is dead-lettered for as long as the process lives (a partition
// test saw two healed members never reach each other again). So the close
// of a stream whose send failed, with no termination of its address since
// the stream opened, is reported as a loss (also when the member completed
// the stream first): exactly the endpoint that died is dropped.
type endpointEnds struct {
	mu sync.Mutex
	// ended counts the terminations published per address.
	ended map[string]uint64
}

// watchEndpointEnds counts the endpoint terminations published on es.
func watchEndpointEnds(es *eventstream.EventStream) *endpointEnds {
	e := &endpointEnds{ended: map[string]uint64{}}
	es.Subscribe(func(ev any) {
		if t, ok := ev.(*remote.EndpointTerminatedEvent); ok {
			e.mu.Lock()
			e.ended[t.Address]++
			e.mu.Unlock()
		}
	})
	return e
}

func (e *endpointEnds) count(addr string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ended[addr]
}

// intercept is the remoting connections' stream interceptor.
func (e *endpointEnds) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	addr := cc.Target() // protoactor dials the member's address as is
	return &remotingStream{ClientStream: s, conn: cc, ends: e, addr: addr, ended: e.count(addr)}, nil
}

type remotingStream struct {
	grpc.ClientStream
	conn       *grpc.ClientConn
	ends       *endpointEnds
	addr       string
	ended      uint64 // ends.count(addr) when the stream opened
	sendFailed atomic.Bool
}

func (s *remotingStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil {
		s.sendFailed.Store(true)
	}
	return err
}

func (s *remotingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		return nil
	}
	if s.sendFailed.Load() && s.ends.count(s.addr) == s.ended {
		// The writer gave up on a failed send: its endpoint is dead. The
		// writer half-closes the stream before it closes the connection,
		// so the member may complete the stream first (io.EOF), which
		// protoactor would not report.
		if err == io.EOF {
			return errSendFailed
		}
		return err
	}
	if err == io.EOF || s.conn.GetState() != connectivity.Shutdown {
		return err // not closed by this node: protoactor reports a loss itself
	}
	return io.EOF
}

// errSendFailed ends the stream of a writer whose send failed.
var errSendFailed = errors.New("remoting stream: a send failed, the endpoint is dropped")
