package transport

import (
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Signals (typing, delivered) are best effort and never stored: QUIC
// datagrams to clients (ServerFrame.signal on WebSocket); from clients
// Request.signal (handlers.go), and on switchboard/2 QUIC datagrams too.
// The node routes them (actors/sessions.go) and hands them to the conn's
// Signal.

// datagrams reads the signals a switchboard/2 client sends as datagrams.
func (c *conn) datagrams(sr SignalReceiver) {
	for {
		b, err := sr.ReceiveSignal(c.ctx)
		if err != nil {
			return
		}
		framesInDatagram.Inc()
		if !c.sigLimiter.Allow() {
			metricErrors.WithLabelValues(wirepb.Code_RATE_LIMITED.String()).Inc()
			continue
		}
		sig, err := decodeSignal(b)
		if err != nil {
			metricErrors.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
			continue
		}
		c.sess.Typing(sig.Conv, sig.Kind == wirepb.Signal_STOP_TYPING)
	}
}

// signalDelivered tells senders that this device received their messages
// (direct conversations: one signal per sender and conversation, the
// highest seq).
func (c *conn) signalDelivered(refs []msgRef) {
	type key struct{ conv, sender string }
	top := map[key]uint64{}
	for _, r := range refs {
		k := key{r.conv, r.sender}
		top[k] = max(top[k], r.seq)
	}
	for k, seq := range top {
		c.sess.Delivered(k.conv, k.sender, seq)
	}
}
