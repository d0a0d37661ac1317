package transport

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// What a connection sends: responses and control frames queued by its
// handlers, pushes and signals handed to it as the session's Sink, and the
// one writer goroutine (started on demand) that coalesces them into stream
// writes.

// queue adds a response or control frame for the writer.
func (c *conn) queue(m proto.Message) {
	c.outMu.Lock()
	if c.closed {
		c.outMu.Unlock()
		return
	}
	c.out = append(c.out, m)
	c.outMu.Unlock()
	c.kick()
}

// End closes the connection with err, which its client is told (an Error
// frame): the node no longer lets the device connect (its user was
// suspended).
func (c *conn) End(err error) { c.close(err) }

// Resync asks the client to sync from its cursor: the node may have
// missed pushes for it (its user grain moved). It never blocks; before the
// Welcome it is remembered and sent right after it.
func (c *conn) Resync() {
	c.debug("pushes may have been missed while the user grain moved; client told to resync")
	metricResyncs.Inc()
	c.outMu.Lock()
	if !c.ready {
		c.resyncDue = true
		c.outMu.Unlock()
		return
	}
	c.outMu.Unlock()
	c.queue(&wirepb.Resync{Cursor: c.q.watermark()})
}

// kick makes sure a writer runs to write what was queued.
func (c *conn) kick() {
	c.outMu.Lock()
	c.dirty = true
	start := c.ready && !c.writing && !c.closed
	if start {
		c.writing = true
	}
	c.outMu.Unlock()
	if start {
		c.s.warm.Go(c.writeLoop)
	}
}

// Writes coalesce at most this many frames (or about this many bytes).
const (
	writeBatchFrames = 256
	writeBatchBytes  = 256 << 10
)

// writeLoop writes what is queued, coalescing the frames waiting at each
// round into one stream write, and exits when nothing is left.
func (c *conn) writeLoop() {
	var (
		buf    []byte
		ctl    []proto.Message
		pushes []pushItem
	)
	// Let what is runnable go first: the frames one send produces (its
	// answer, the pushes and receipts of its grains) come a few goroutines
	// apart, and so join this write instead of each taking one. With
	// nothing else runnable it returns at once: an idle node adds no delay.
	runtime.Gosched()
	for {
		c.outMu.Lock()
		if c.closed {
			c.writing = false
			c.outMu.Unlock()
			return
		}
		c.dirty = false
		ctl, c.out = c.out, ctl[:0]
		tookLazy, lazyWaits := c.lazyDue || len(ctl) > 0, len(c.lazy) > 0
		if tookLazy {
			ctl = c.takeLazy(ctl)
		}
		c.outMu.Unlock()
		pushes, resync, cursor := c.q.take(pushes[:0], writeBatchFrames)
		if resync {
			c.logger().Info("push queue overflow; client told to resync")
			metricErrors.WithLabelValues(wirepb.Code_SLOW_CONSUMER.String()).Inc()
			ctl = append(ctl, &wirepb.Resync{Cursor: cursor})
		}
		if !tookLazy && lazyWaits && len(pushes) > 0 {
			// The lazy frames leave with these pushes (a push-only round
			// with none waiting takes no second lock).
			c.outMu.Lock()
			ctl = c.takeLazy(ctl)
			c.outMu.Unlock()
		}
		if len(ctl) == 0 && len(pushes) == 0 {
			c.outMu.Lock()
			if !c.dirty || c.closed {
				c.writing = false
				c.outMu.Unlock()
				return
			}
			c.outMu.Unlock()
			continue
		}
		buf = buf[:0]
		for i, m := range ctl {
			buf = c.appendFrame(buf, m)
			ctl[i] = nil
		}
		for _, it := range pushes {
			if it.frames != nil {
				buf = append(buf, it.frames...)
				framesOutPush.Add(float64(it.count))
				metricPushes.Add(float64(it.count))
			} else {
				buf = c.appendFrame(buf, it.p)
			}
		}
		err := c.write(buf)
		for i, it := range pushes {
			it.finish()
			pushes[i] = pushItem{}
		}
		if err != nil {
			c.outMu.Lock()
			c.writing = false
			c.outMu.Unlock()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.close(wirepb.Errorf(wirepb.Code_SLOW_CONSUMER, "stream blocked for %s", c.s.cfg.WriteTimeout))
			}
			return
		}
		if cap(buf) > writeBatchBytes {
			buf = nil // let a burst's buffer go
		}
	}
}

// appendFrame encodes one outbound frame; one that cannot be sent is
// replaced (a response) or dropped (a push), never cut.
func (c *conn) appendFrame(buf []byte, m proto.Message) []byte {
	out, err := wirepb.AppendServerFrame(buf, m, c.s.cfg.MaxFrame)
	if err == nil {
		switch m.(type) {
		case *wirepb.Push:
			framesOutPush.Inc()
			metricPushes.Inc()
		case *wirepb.Response:
			framesOutResponse.Inc()
		default:
			framesOutControl.Inc()
		}
		return out
	}
	switch m := m.(type) {
	case *wirepb.Response:
		// Handlers fit their answers to the frame; this is a bug.
		c.logger().Error("response larger than the maximum frame", "id", m.Id, "err", err)
		out, _ = wirepb.AppendServerFrame(buf, &wirepb.Response{Id: m.Id, Error: wirepb.Errorf(wirepb.Code_TOO_LARGE, "answer too large")}, 0)
		return out
	case *wirepb.Push:
		// Cannot happen with grain limits below MaxFrame; the client
		// learns of the message at its next sync.
		c.logger().Error("push larger than the maximum frame dropped", "inbox_seq", m.InboxSeq, "err", err)
	default:
		c.logger().Error("control frame not sent", "err", err)
	}
	return buf
}

// writeChunk is how much of a batch must be accepted within each
// WriteTimeout: a client that reads slowly but steadily is not cut off
// because a large batch took long as a whole.
const writeChunk = 16 << 10

// write writes b to the stream; it fails when the stream accepts nothing
// (less than writeChunk) for WriteTimeout.
func (c *conn) write(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.outMu.Lock()
	closed := c.closed
	c.outMu.Unlock()
	if closed || c.broken {
		return net.ErrClosed
	}
	metricWrites.Inc()
	written := 0
	for written < len(b) {
		end := min(len(b), written+writeChunk)
		_ = c.st.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		n, err := c.st.Write(b[written:end])
		written += n
		if err != nil {
			if written > 0 {
				c.broken = true // the client has half a frame: no Error frame after it
			}
			return err
		}
	}
	return nil
}

func (c *conn) goAway(reconnectTo string, withinMS uint32) {
	c.queue(&wirepb.GoAway{Reason: "server draining", ReconnectTo: reconnectTo, ReconnectWithinMs: withinMS})
}

// Push queues an event from the node for the client. It never blocks: a
// full queue makes the client resync (pushq.go).
func (c *conn) Push(p *pb.Push) {
	w, conv, ok := wirePush(p)
	if !ok {
		return
	}
	var ref *msgRef
	if m := p.GetMessage(); m != nil && m.Sender != c.id.User && m.Kind == pb.MessageKind_NORMAL && strings.HasPrefix(conv, "d:") {
		ref = &msgRef{conv: conv, sender: m.Sender, seq: m.Seq}
	}
	c.q.enqueue(w, ref)
	c.kick()
}

// PushShared queues a large group's batch shared by the connections of
// its members on this node: the first connection to take it encodes the
// frames and the others write the same bytes; done runs once the batch was
// written or dropped.
var _ session.SharedSink = (*conn)(nil)

func (c *conn) PushShared(b *session.SharedBatch, done func()) {
	maxFrame := c.s.cfg.MaxFrame
	f, _ := b.Encoded(func(ps []*pb.Push) any { return encodeShared(c.logger(), ps, maxFrame) }).(*sharedFrames)
	if f == nil || f.max != maxFrame {
		// Encoded by another kind of sink: one push at a time.
		for _, p := range b.Pushes {
			c.Push(p)
		}
		done()
		return
	}
	if len(f.frames) == 0 {
		done() // nothing the wire knows, or nothing that fits a frame
		return
	}
	c.q.enqueueShared(f.first, f.frames, f.count, done)
	c.kick()
}

// sharedFrames is a shared batch encoded once: the frames of its pushes
// that fit max, back to back (one that does not is logged and dropped, as
// any push too large for a frame).
type sharedFrames struct {
	first  *wirepb.Push
	frames []byte
	count  int
	max    int
}

func encodeShared(log *slog.Logger, ps []*pb.Push, maxFrame int) *sharedFrames {
	f := &sharedFrames{max: maxFrame}
	for _, p := range ps {
		w, _, ok := wirePush(p)
		if !ok {
			continue
		}
		out, err := wirepb.AppendServerFrame(f.frames, w, maxFrame)
		if err != nil {
			log.Error("push larger than the maximum frame dropped", "err", err)
			continue
		}
		f.frames = out
		f.count++
		if f.first == nil {
			f.first = w
		}
	}
	return f
}

// Signal sends a best-effort signal to the client: a datagram, or a
// ServerFrame on a carrier without datagrams (dropped, not queued, when
// the stream is backed up). DELIVERED, which nobody waits on, goes in
// band as a lazy frame (lazy.go), except to switchboard/2 clients, which
// expect signals as datagrams.
func (c *conn) Signal(sig *pb.Signal) {
	w := &wirepb.Signal{Kind: wirepb.Signal_Kind(sig.Kind), Conv: sig.Conv, User: sig.User, Seq: sig.Seq, WaitMs: sig.WaitMs}
	if sig.Kind == pb.Signal_CALL {
		// A ring, an answer or an SDP must not be lost: in band, in order,
		// under the stream's own bound, never a datagram.
		w.Call = wireCallEvent(sig.Call)
		c.queue(w)
		return
	}
	if _, v2 := c.cr.(SignalReceiver); sig.Kind == pb.Signal_DELIVERED && c.s.lazy != nil && !v2 {
		c.queueLazy(w)
		return
	}
	b, err := proto.Marshal(w)
	if err != nil {
		return
	}
	switch err := c.cr.SendSignal(b); {
	case err == nil:
		framesOutDatagram.Inc()
	case err == ErrNoDatagrams:
		c.outMu.Lock()
		busy := len(c.out) >= maxQueuedSignals
		c.outMu.Unlock()
		if !busy {
			c.queue(w)
		}
	}
}

// maxQueuedSignals: in-band signals are dropped while this many frames
// wait for the writer (signals are best effort, like datagrams).
const maxQueuedSignals = 64
