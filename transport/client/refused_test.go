package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A connection the server closes with CONNECTION_REFUSED after the
// handshake (its accept queue was full) is a refusal the first connect
// retries, not a failure it returns.
func TestRefusedThroughDisconnected(t *testing.T) {
	err := disconnected(&quic.TransportError{ErrorCode: quic.ConnectionRefused, Remote: true})
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("%v is not ErrDisconnected", err)
	}
	if !Refused(err) {
		t.Fatalf("%v is not seen as a refusal", err)
	}
	if Refused(disconnected(&quic.TransportError{ErrorCode: quic.ProtocolViolation, Remote: true})) {
		t.Fatal("a protocol violation is seen as a refusal")
	}
}

// An attempt that ran out of time is one the first connect tries again,
// however its time ran out: its context, the stream's deadline while it
// waited for Welcome, or the node's own hello timeout; so is one the node
// dropped (a stateless reset). A refusal of the token is not.
func TestTimedOutAttempts(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("dial: %w", context.DeadlineExceeded),
		disconnected(fmt.Errorf("read: %w", os.ErrDeadlineExceeded)),
		&quic.HandshakeTimeoutError{},
		disconnected(&quic.IdleTimeoutError{}),
		wirepb.Errorf(wirepb.Code_TIMEOUT, "no stream within 10s"),
		disconnected(&quic.StatelessResetError{}),
	} {
		if !timedOut(err) {
			t.Errorf("%v: not seen as timed out", err)
		}
	}
	for _, err := range []error{
		wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "bad token"),
		disconnected(&quic.TransportError{ErrorCode: quic.ProtocolViolation, Remote: true}),
	} {
		if timedOut(err) {
			t.Errorf("%v: seen as timed out", err)
		}
	}
}
