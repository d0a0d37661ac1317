package actors

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Abandoned uploads: a file picked and uploaded but never sent (the app
// closed, the user changed their mind), or claimed by a send whose
// message never got stored and not sent again, is deleted once no message
// has taken it within Config.MediaUploadTTL; one a message carries is
// settled (taken off the list, kept). Every node sweeps (the deletes
// are idempotent), hour by hour of creation, from the last hour any node
// finished (a checkpoint), so a sweep reads each hour once.

// mediaSweepKey is the checkpoint holding the last hour swept.
const mediaSweepKey = "media-sweep"

// mediaSweepMargin keeps the sweep this far behind the TTL, so an upload a
// send took just before its TTL (attachment: refused past it) is attached
// long before a sweep on a node whose clock runs ahead could delete it.
const mediaSweepMargin = 10 * time.Minute

// mediaSweepBacklog is how far back a first sweep starts.
const mediaSweepBacklog = 7 * 24 * time.Hour

// sweepUploads deletes the uploads created in hours that ended more than
// MediaUploadTTL (and the margin) before now that no message carries,
// settles those one does, and answers how many it deleted.
func (n *Runtime) sweepUploads(ctx context.Context, now time.Time) (int, error) {
	last := storage.MediaHour(now.Add(-n.cfg.MediaUploadTTL - mediaSweepMargin)).Add(-time.Hour)
	from := last.Add(-mediaSweepBacklog)
	cp, err := n.store.LoadCheckpoint(ctx, mediaSweepKey)
	switch {
	case err == nil && len(cp.State) == 8:
		from = time.UnixMilli(int64(binary.BigEndian.Uint64(cp.State))).Add(time.Hour)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return 0, fmt.Errorf("read the upload sweep's checkpoint: %w", err)
	}
	deleted := 0
	for hour := storage.MediaHour(from); !hour.After(last); hour = hour.Add(time.Hour) {
		for {
			const page = 100
			ms, err := n.store.UnsettledMedia(ctx, hour, page)
			if err != nil {
				return deleted, fmt.Errorf("list the uploads of %v: %w", hour, err)
			}
			for _, m := range ms {
				carried, err := n.messageCarries(ctx, m)
				if err != nil {
					return deleted, err
				}
				if carried {
					if err := n.store.SettleMedia(ctx, m.ConvID, m.ID); err != nil {
						return deleted, fmt.Errorf("settle upload %s of %s: %w", m.ID, m.ConvID, err)
					}
					continue
				}
				if err := n.store.DeleteMedia(ctx, m.ConvID, m.ID); err != nil {
					return deleted, fmt.Errorf("delete upload %s of %s: %w", m.ID, m.ConvID, err)
				}
				deleted++
			}
			if len(ms) < page {
				break
			}
		}
		state := binary.BigEndian.AppendUint64(nil, uint64(hour.UnixMilli()))
		if err := n.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: mediaSweepKey, State: state, At: now}); err != nil {
			return deleted, fmt.Errorf("save the upload sweep's checkpoint: %w", err)
		}
	}
	return deleted, nil
}

// messageCarries reports whether the message m was attached to (claimed
// by a send, AttachMedia) carries it: false for an upload never attached,
// or claimed by a send whose message never got stored (its seq holds
// nothing, or another message).
func (n *Runtime) messageCarries(ctx context.Context, m storage.Media) (bool, error) {
	if m.AttachedSeq == 0 {
		return false, nil
	}
	msg, err := n.store.GetMessage(ctx, m.ConvID, m.AttachedSeq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read message %d of %s, which upload %s was attached to: %w", m.AttachedSeq, m.ConvID, m.ID, err)
	}
	return msg.Media.ID == m.ID, nil
}

// startUploadSweep runs sweepUploads every MediaSweepInterval (jittered,
// so the nodes of a cluster do not sweep together) until stop.
func (n *Runtime) startUploadSweep() (stop func()) {
	if n.cfg.MediaUploadTTL <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			wait := n.cfg.MediaSweepInterval/2 + rand.N(n.cfg.MediaSweepInterval)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			deleted, err := n.sweepUploads(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				slog.Warn("sweeping abandoned uploads", "err", err, "deleted", deleted)
			} else if deleted > 0 {
				slog.Info("deleted abandoned uploads", "count", deleted, "ttl", n.cfg.MediaUploadTTL)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
