package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// FuzzClientFrame covers what a one-stream (browser) connection parses of
// untrusted bytes: frames cut from the stream, then the ClientFrame
// envelope with the request or signal in it, exactly as streamConn.read
// does. Every failure must carry a code the server may send.
func FuzzClientFrame(f *testing.F) {
	var all []byte
	for _, r := range seedRequests() {
		b := wirepb.AppendFrame(nil, marshal(&wirepb.ClientFrame{Msg: &wirepb.ClientFrame_Request{Request: r}}))
		f.Add(b)
		all = append(all, b...)
	}
	f.Add(all)
	f.Add(wirepb.AppendFrame(nil, marshal(&wirepb.ClientFrame{Msg: &wirepb.ClientFrame_Hello{Hello: &wirepb.Hello{Token: "t"}}})))
	f.Add(wirepb.AppendFrame(nil, marshal(&wirepb.ClientFrame{Msg: &wirepb.ClientFrame_Signal{Signal: &wirepb.Signal{Kind: wirepb.Signal_TYPING, Conv: "g:x"}}})))
	f.Add(wirepb.AppendFrame(nil, marshal(&wirepb.ClientFrame{Msg: &wirepb.ClientFrame_Signal{Signal: &wirepb.Signal{Kind: wirepb.Signal_DELIVERED, Conv: "g:x"}}})))
	f.Add(wirepb.AppendFrame(nil, marshal(&wirepb.ClientFrame{Msg: &wirepb.ClientFrame_Request{}})))
	f.Add([]byte{0x00})
	f.Add([]byte{0x03, 0xff, 0xff, 0xff})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x10})
	const max = 1 << 12
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			p, err := wirepb.ReadFrame(r, max)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, wirepb.ErrBadFrame) && !errors.Is(err, wirepb.ErrFrameTooLarge) {
					t.Fatalf("frame error %v", err)
				}
				return
			}
			cf, err := decodeClientFrame(p)
			if err != nil {
				switch wirepb.CodeOf(err) {
				case wirepb.Code_BAD_FRAME, wirepb.Code_UNKNOWN_TYPE, wirepb.Code_INVALID:
				default:
					t.Fatalf("decode error with code %v: %v", wirepb.CodeOf(err), err)
				}
				// A request that does not validate is answered by id.
				if cf != nil && cf.GetRequest() == nil {
					t.Fatalf("error %v returned with a frame that is no request: %v", err, cf)
				}
				continue
			}
			if cf.Msg == nil {
				t.Fatal("accepted a frame of no kind")
			}
			if req := cf.GetRequest(); req != nil && opName(req) == "unknown" {
				t.Fatalf("accepted a request with no operation: %v", req)
			}
			if _, err := proto.Marshal(cf); err != nil {
				t.Fatalf("accepted frame does not re-encode: %v", err)
			}
		}
	})
}
