package wirepb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// ALPN is the TLS application protocol of this protocol version: on
// switchboard/3 clients send their signals in band (Request.signal) only.
// ALPN2 is the previous version, still served: the same frames, and
// client signals as QUIC datagrams too (docs/PROTOCOL.md, version history).
const (
	ALPN  = "switchboard/3"
	ALPN2 = "switchboard/2"
)

// ALPNs are the versions a server offers (and the Go SDK asks for), the
// preferred first.
func ALPNs() []string { return []string{ALPN, ALPN2} }

// DefaultMaxFrame is the default largest frame payload, in bytes.
const DefaultMaxFrame = 256 << 10

// MaxMaxFrame is the largest frame payload a server may be set to allow;
// a client accepts frames up to the size its server announces, never more.
const MaxMaxFrame = 16 << 20

// Framing errors. ReadFrame wraps them, so callers test with errors.Is.
var (
	// ErrFrameTooLarge: the length prefix announces more than the maximum.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrBadFrame: a bad length prefix, a frame cut short, or a payload
	// that is not the expected message.
	ErrBadFrame = errors.New("bad frame")
)

// maxPrefix is the longest uvarint length prefix accepted: 5 bytes cover
// every 32-bit length, and no sane maximum frame is larger.
const maxPrefix = 5

// AppendFrame appends the frame of payload (uvarint length, then the bytes).
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// Marshal encodes m as one frame.
func Marshal(m proto.Message) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", m, err)
	}
	return AppendFrame(make([]byte, 0, len(b)+maxPrefix), b), nil
}

// WriteMsg writes m as one frame, refusing to write a frame the peer would
// reject.
func WriteMsg(w io.Writer, m proto.Message, maxFrame int) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %T: %w", m, err)
	}
	if maxFrame > 0 && len(b) > maxFrame {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(b), maxFrame)
	}
	_, err = w.Write(AppendFrame(make([]byte, 0, len(b)+maxPrefix), b))
	return err
}

// AppendMsg appends m as one frame, refusing a payload over maxFrame
// (when maxFrame > 0) with ErrFrameTooLarge; dst is returned unchanged
// on error.
func AppendMsg(dst []byte, m proto.Message, maxFrame int) ([]byte, error) {
	n := proto.Size(m)
	if maxFrame > 0 && n > maxFrame {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, maxFrame)
	}
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(n))
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(dst, m)
	if err != nil {
		return dst[:start], fmt.Errorf("marshal %T: %w", m, err)
	}
	return out, nil
}

// AppendServerFrame appends the frame of a ServerFrame holding m (a
// *Welcome, *Resync, *GoAway, *Error, *Response or *Push) without building
// the wrapper: the server encodes every response and push this way.
func AppendServerFrame(dst []byte, m proto.Message, maxFrame int) ([]byte, error) {
	var field protowire.Number
	switch m.(type) {
	case *Welcome:
		field = 1
	case *Resync:
		field = 2
	case *GoAway:
		field = 3
	case *Error:
		field = 4
	case *Response:
		field = 5
	case *Push:
		field = 6
	case *Signal:
		field = 7
	default:
		return dst, fmt.Errorf("%T is not a server frame", m)
	}
	n := proto.Size(m)
	payload := protowire.SizeTag(field) + protowire.SizeBytes(n)
	if maxFrame > 0 && payload > maxFrame {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, payload, maxFrame)
	}
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(payload))
	dst = protowire.AppendTag(dst, field, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(n))
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(dst, m)
	if err != nil {
		return dst[:start], fmt.Errorf("marshal %T: %w", m, err)
	}
	return out, nil
}

// ByteReader is what ReadFrame reads from: a bufio.Reader or a bytes.Reader.
type ByteReader interface {
	io.Reader
	io.ByteReader
}

// NewReader wraps a stream for ReadFrame.
func NewReader(r io.Reader) ByteReader { return bufio.NewReaderSize(r, 4096) }

// ReadFrame reads one frame's payload, of at most maxFrame bytes. It returns
// io.EOF only at a clean end between frames.
func ReadFrame(r ByteReader, maxFrame int) ([]byte, error) {
	var n uint64
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i == 0 && errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: stream ended inside the length prefix", ErrBadFrame)
			}
			return nil, err
		}
		if i == maxPrefix-1 && b >= 0x80 {
			return nil, fmt.Errorf("%w: length prefix longer than %d bytes", ErrBadFrame, maxPrefix)
		}
		n |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if i > 0 && b == 0 {
				return nil, fmt.Errorf("%w: non-minimal length prefix", ErrBadFrame)
			}
			break
		}
	}
	if n > uint64(maxFrame) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, maxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream ended inside a %d-byte frame", ErrBadFrame, n)
		}
		return nil, err
	}
	return buf, nil
}

// ReadMsg reads one frame into m.
func ReadMsg(r ByteReader, m proto.Message, maxFrame int) error {
	b, err := ReadFrame(r, maxFrame)
	if err != nil {
		return err
	}
	return Unmarshal(b, m)
}

// Unmarshal decodes a frame payload, wrapping failures in ErrBadFrame.
func Unmarshal(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	return nil
}
