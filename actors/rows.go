package actors

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// A user's small lists and settings (starred messages, profile, drafts,
// customer attributes) are each one checkpoint row holding a protobuf
// message, read whole and written whole.

// loadRow reads the row at key into a new message; with no row there, the
// empty message.
func loadRow[T any, P interface {
	*T
	proto.Message
}](ctx context.Context, store storage.Store, key string) (P, *pb.Error) {
	m := P(new(T))
	cp, err := store.LoadCheckpoint(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return m, nil
	case err != nil:
		return nil, storeErr(err)
	}
	if err := proto.Unmarshal(cp.State, m); err != nil {
		return nil, pbErr(pb.Code_INTERNAL, "row %s: %v", key, err)
	}
	return m, nil
}

// saveRow writes m as the row at key.
func saveRow(ctx context.Context, store storage.Store, key string, m proto.Message) error {
	state, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return store.SaveCheckpoint(ctx, storage.Checkpoint{Key: key, State: state, At: time.Now()})
}
