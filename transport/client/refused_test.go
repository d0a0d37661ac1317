package client

import (
	"errors"
	"testing"

	"github.com/quic-go/quic-go"
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
