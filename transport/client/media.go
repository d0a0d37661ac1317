package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// MediaChunkBytes is the size of an upload's chunks (the last is the
// rest): the node's, fixed by the protocol (PROTOCOL.md, "Media").
const MediaChunkBytes = 128 << 10

// uploadsInFlight is how many chunks of one upload are on the wire at once.
const uploadsInFlight = 4

// UploadOption adds to an upload's description.
type UploadOption func(*wirepb.MediaCreateRequest)

// WithPreview gives the upload a preview: a picture's or a video's size in
// pixels and a tiny image (a JPEG or PNG within the node's
// --max-media-thumb-bytes, 4 KiB by default), which every message
// carrying the file carries, so a reader draws it before downloading.
// SendFile makes one by itself for a JPEG, PNG or GIF (ImagePreview).
func WithPreview(width, height uint32, thumb []byte) UploadOption {
	return func(r *wirepb.MediaCreateRequest) { r.Width, r.Height, r.Thumb = width, height, thumb }
}

// WithDuration gives the upload how long it plays (a voice note, an audio
// or a video; at most a day), which every message carrying it carries, so
// a reader shows "0:42" before downloading.
func WithDuration(d time.Duration) UploadOption {
	ms := d.Milliseconds()
	if ms < 0 || ms > math.MaxUint32 {
		ms = math.MaxUint32 // refused by the node, not wrapped into a length it takes
	}
	return func(r *wirepb.MediaCreateRequest) { r.DurationMs = uint32(ms) }
}

// Upload uploads data as a file called name of type mime (e.g.
// image/jpeg) into conv, which this user may write to, and returns it
// complete, ready to attach (SendFile does both). Chunks are retried as a
// whole upload would be: call again.
func (c *Client) Upload(ctx context.Context, conv, name, mime string, data []byte, opts ...UploadOption) (*wirepb.MediaRef, error) {
	if len(data) == 0 {
		return nil, errors.New("client: empty file")
	}
	create := &wirepb.MediaCreateRequest{Conv: conv, Name: name, Mime: mime, Size: int64(len(data))}
	for _, o := range opts {
		o(create)
	}
	res, err := c.doPaced(ctx, &wirepb.Request{Op: &wirepb.Request_MediaCreate{MediaCreate: create}})
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
				_, err := c.doPaced(ctx, &wirepb.Request{Op: &wirepb.Request_MediaChunk{MediaChunk: &wirepb.MediaChunkRequest{
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
	res, err = c.doPaced(ctx, &wirepb.Request{Op: &wirepb.Request_MediaComplete{MediaComplete: &wirepb.MediaCompleteRequest{Conv: conv, Id: ref.Id}}})
	if err != nil {
		return nil, err
	}
	return res.GetMediaComplete(), nil
}

// SendFile uploads data into conv (Upload) and sends it there, with
// caption (may be empty), and waits for the answer. A picture it can
// decode (JPEG, PNG, GIF) goes with its preview (ImagePreview) unless opts
// give one (then it decodes nothing).
func (c *Client) SendFile(ctx context.Context, conv, name, mime string, data []byte, caption string, opts ...UploadOption) (Message, error) {
	var given wirepb.MediaCreateRequest
	for _, o := range opts {
		o(&given)
	}
	if given.Width == 0 && given.Height == 0 && len(given.Thumb) == 0 { // no decoding when the caller gave one
		if w, h, thumb, ok := ImagePreview(data); ok {
			opts = append(opts, WithPreview(w, h, thumb))
		}
	}
	ref, err := c.Upload(ctx, conv, name, mime, data, opts...)
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
// this user's into conv (Upload), with caption (may be empty). conv may be
// the direct conversation with someone not written to yet
// (wirepb.DirectConvID): a first message may be a file.
func (c *Client) SendMedia(conv string, ref *wirepb.MediaRef, caption string) (*Pending, error) {
	return c.SendMediaWithMeta(conv, ref, caption, nil)
}

// SendMediaWithMeta is SendMedia of a file carrying the app's own data
// about it (SendWithMeta: the order a receipt's photo belongs to).
func (c *Client) SendMediaWithMeta(conv string, ref *wirepb.MediaRef, caption string, meta map[string]string) (*Pending, error) {
	if ref.GetId() == "" {
		return nil, errors.New("client: no upload to attach")
	}
	// send{to} starts a direct conversation if it is not yet
	return c.sendMessage(c.toConvOrPeer(conv), Message{Kind: wirepb.MessageKind_NORMAL, Body: []byte(caption), Media: ref, Meta: maps.Clone(meta), ClientTime: time.Now()})
}

// Download reads the file attached to the message at seq of conv (one
// this user can see; NOT_FOUND once the message is recalled).
func (c *Client) Download(ctx context.Context, conv string, seq uint64) (*wirepb.MediaRef, []byte, error) {
	return c.readFile(ctx, &wirepb.MediaReadRequest{Conv: conv, Seq: seq})
}

// SetGroupPicture uploads an image into the group (with its preview, as
// SendFile makes one) and makes it the group's picture (owners and
// admins); it returns the settings and the seq of the system message
// recording the change.
func (c *Client) SetGroupPicture(ctx context.Context, conv, name, mime string, data []byte) (GroupSettings, uint64, error) {
	var opts []UploadOption
	if w, h, thumb, ok := ImagePreview(data); ok {
		opts = append(opts, WithPreview(w, h, thumb))
	}
	ref, err := c.Upload(ctx, conv, name, mime, data, opts...)
	if err != nil {
		return GroupSettings{}, 0, err
	}
	return c.ChangeGroupSettings(ctx, conv, GroupSettingsChange{Picture: &ref.Id})
}

// GroupPicture reads the group's picture (any member, whenever they
// joined); NOT_FOUND when it has none.
func (c *Client) GroupPicture(ctx context.Context, conv string) (*wirepb.MediaRef, []byte, error) {
	return c.readFile(ctx, &wirepb.MediaReadRequest{Conv: conv, Picture: true})
}

// readFile reads a file chunk by chunk, as req names it.
func (c *Client) readFile(ctx context.Context, req *wirepb.MediaReadRequest) (*wirepb.MediaRef, []byte, error) {
	var (
		ref  *wirepb.MediaRef
		data []byte
	)
	for i := uint32(0); ref == nil || i < ref.Chunks; i++ {
		chunk := &wirepb.MediaReadRequest{Conv: req.Conv, Seq: req.Seq, Picture: req.Picture, Index: i}
		res, err := c.doPaced(ctx, &wirepb.Request{Op: &wirepb.Request_MediaRead{MediaRead: chunk}})
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

// doPaced is do for the many requests of one file: a request the node
// refuses RATE_LIMITED or BUSY for the connection's request rate (a file
// of 16 MiB is 128 chunk requests, more than a connection's burst) is
// sent again after a growing pause or the retry-after the node gave, so a
// file goes at the rate the node allows instead of failing. A wait longer
// than maxPacedWait (an hourly upload budget spent) is returned as is.
func (c *Client) doPaced(ctx context.Context, req *wirepb.Request) (*wirepb.Response, error) {
	b := newBackoff(50*time.Millisecond, maxPacedWait)
	for {
		res, err := c.do(ctx, req)
		code := wirepb.CodeOf(err)
		if code != wirepb.Code_RATE_LIMITED && code != wirepb.Code_BUSY {
			return res, err
		}
		wait := b.next()
		var we *wirepb.Error
		if errors.As(err, &we) && we.RetryAfterMs > 0 {
			if wait = time.Duration(we.RetryAfterMs) * time.Millisecond; wait > maxPacedWait {
				return res, err
			}
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last attempt: %v)", ctx.Err(), err)
		}
	}
}

// maxPacedWait bounds one pause of doPaced.
const maxPacedWait = 2 * time.Second
