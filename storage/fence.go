package storage

import "context"

// FencedCheckpoints is implemented by stores that can fence checkpoint
// writes: a grain that keeps its state in a checkpoint takes the key's
// fence at activation, and a stale activation (two can exist for a moment
// while the cluster's membership changes) can then no longer write it.
// A store without it leaves such writes unfenced (see FencesOf).
type FencedCheckpoints interface {
	// AcquireCheckpointFence moves the fence epoch of key to the next one
	// (1 for a key never fenced) and returns it: from then on only
	// SaveCheckpointFenced with that epoch writes key.
	AcquireCheckpointFence(ctx context.Context, key string) (uint64, error)
	// SaveCheckpointFenced writes cp like SaveCheckpoint if the fence
	// epoch of cp.Key is still epoch, atomically with the check;
	// ErrEpochLost otherwise (nothing written).
	SaveCheckpointFenced(ctx context.Context, cp Checkpoint, epoch uint64) error
}

// Unwrapper is implemented by store wrappers (metrics, fault injection)
// to expose the store they wrap.
type Unwrapper interface {
	Unwrap() Store
}

// FencesOf returns s's fenced checkpoints, looking through wrappers; nil
// if the backend has none.
func FencesOf(s Store) FencedCheckpoints {
	for s != nil {
		if f, ok := s.(FencedCheckpoints); ok {
			return f
		}
		u, ok := s.(Unwrapper)
		if !ok {
			return nil
		}
		s = u.Unwrap()
	}
	return nil
}
