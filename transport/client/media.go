package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// MediaChunkBytes is the size of an upload's chunks (the last is the
// rest): the node's, fixed by the protocol (PROTOCOL.md, "Media").
const MediaChunkBytes = 128 << 10

// uploadsInFlight is how many chunks of one upload are on the wire at once.
const uploadsInFlight = 4

// Upload uploads data as a file called name of type mime (e.g.
// image/jpeg) into conv, which this user may write to, and returns it
// complete, ready to attach (SendFile does both). Chunks are retried as a
// whole upload would be: call again.
func (c *Client) Upload(ctx context.Context, conv, name, mime string, data []byte) (*wirepb.MediaRef, error) {
	if len(data) == 0 {
		return nil, errors.New("client: empty file")
	}
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MediaCreate{MediaCreate: &wirepb.MediaCreateRequest{
		Conv: conv, Name: name, Mime: mime, Size: int64(len(data))}}})
	if err != nil {
		return nil, err
	}
	ref := res.GetMediaCreate()
	chunks := (len(data) + MediaChunkBytes - 1) / MediaChunkBytes
	if ref.GetId() == "" || int(ref.GetChunks()) != chunks {
		return nil, fmt.Errorf("client: the node answered upload %q of %d chunks, want %d", ref.GetId(), ref.GetChunks(), chunks)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(uploadsInFlight, chunks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= chunks
				mu.Unlock()
				if stop {
					return
				}
				part := data[i*MediaChunkBytes : min((i+1)*MediaChunkBytes, len(data))]
				_, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MediaChunk{MediaChunk: &wirepb.MediaChunkRequest{
					Conv: conv, Id: ref.Id, Index: uint32(i), Data: part}}})
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("client: chunk %d of %s: %w", i, name, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	res, err = c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MediaComplete{MediaComplete: &wirepb.MediaCompleteRequest{Conv: conv, Id: ref.Id}}})
	if err != nil {
		return nil, err
	}
	return res.GetMediaComplete(), nil
}

// SendFile uploads data into conv (Upload) and sends it there, with
// caption (may be empty), and waits for the answer.
func (c *Client) SendFile(ctx context.Context, conv, name, mime string, data []byte, caption string) (Message, error) {
	ref, err := c.Upload(ctx, conv, name, mime, data)
	if err != nil {
		return Message{}, err
	}
	p, err := c.SendMedia(conv, ref, caption)
	if err != nil {
		return Message{}, err
	}
	return p.Wait(ctx)
}

// SendMedia queues a message to conv carrying ref, a complete upload of
// this user's into conv (Upload), with caption (may be empty).
func (c *Client) SendMedia(conv string, ref *wirepb.MediaRef, caption string) (*Pending, error) {
	if ref.GetId() == "" {
		return nil, errors.New("client: no upload to attach")
	}
	return c.sendMessage(ToConv(conv), Message{Kind: wirepb.MessageKind_NORMAL, Body: []byte(caption), Media: ref, ClientTime: time.Now()})
}

// Download reads the file attached to the message at seq of conv (one
// this user can see; NOT_FOUND once the message is recalled).
func (c *Client) Download(ctx context.Context, conv string, seq uint64) (*wirepb.MediaRef, []byte, error) {
	var (
		ref  *wirepb.MediaRef
		data []byte
	)
	for i := uint32(0); ref == nil || i < ref.Chunks; i++ {
		res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_MediaRead{MediaRead: &wirepb.MediaReadRequest{Conv: conv, Seq: seq, Index: i}}})
		if err != nil {
			return nil, nil, err
		}
		r := res.GetMediaRead()
		if ref == nil {
			ref = r.GetMedia()
			if ref == nil || ref.Size <= 0 {
				return nil, nil, errors.New("client: the node answered a file without its description")
			}
			data = make([]byte, 0, ref.Size)
		}
		data = append(data, r.GetData()...)
	}
	if int64(len(data)) != ref.Size {
		return nil, nil, fmt.Errorf("client: read %d bytes of a file of %d", len(data), ref.Size)
	}
	return ref, data, nil
}
