package actors_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestLateRowDuplicateAckSurvives replays, step by step, the interleaving
// of three activations on Cassandra that lost an acknowledged message in
// the partition test: epoch k's rows land after k+1 (j) took over; j's
// removal of them (its gap placeholder over the seq it found missing, its
// range tombstone over (last, reserved]) is delayed on the wire; k+2 (m)
// reads the rows, and answers a retry of them as duplicates; then j's
// writes land. Every message answered as a duplicate must still be stored
// at its seq. The slow writes are issued as raw CQL with the timestamps
// storage/cql gives them (epoch<<40 | 0 for the close, | 1 for rows).
func TestLateRowDuplicateAckSurvives(t *testing.T) {
	store, cfg := openCQLStoreConfig(t)
	cc := gocql.NewCluster(cfg.Hosts...)
	cc.Keyspace, cc.Timeout = cfg.Keyspace, 10*time.Second
	raw, err := cc.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	wts := func(epoch uint64, low int64) int64 { return int64(epoch)<<40 | low } // storage/cql's epochTS
	const bucketSize = 1000                                                      // cql.DefaultConfig's

	node := startCluster(t, 1, store, actors.Config{RequestTimeout: 2 * time.Second})[0]
	ctx := tctx(t)
	const conv = "g:late"
	mustCreateGroup(t, node, conv, "s0", "s1")
	mustSend(t, node, conv, "s0", "acked by k")
	head, err := store.GetConversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	k, base, reserved := head.Epoch, head.LastSeq, head.ReservedSeq
	if reserved < base+3 {
		t.Fatalf("reservation %d leaves no room above %d", reserved, base)
	}
	insert := func(seq uint64, sender, cid, body string, ts int64) {
		t.Helper()
		err := raw.Query(`INSERT INTO messages (conv_id, bucket, seq, msg_id, client_msg_id, sender, sender_role, kind, ref_seq, body, flags, client_ts, server_ts)
			VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, 0, null, ?) USING TIMESTAMP ?`,
			conv, int64(seq/bucketSize), int64(seq), int64(1000+seq), cid, sender, []byte(body), time.Now(), ts).WithContext(ctx).Exec()
		if err != nil {
			t.Fatal(err)
		}
	}
	x, y, z := base+1, base+2, base+3
	// k wrote y in time (j's close read sees it)...
	insert(y, "s1", "y", "y", wts(k, 1))
	// ...then j takes the epoch; its close read finds the last seq at y and
	// its window a hole at x: it sends a tombstone over (y, reserved] and a
	// placeholder at x, both slow to arrive.
	j := k + 1
	applied, err := raw.Query(`UPDATE conversations SET epoch = ? WHERE id = ? IF epoch = ?`, int64(j), conv, int64(k)).
		WithContext(ctx).MapScanCAS(map[string]any{})
	if err != nil || !applied {
		t.Fatalf("take epoch %d: applied %v, %v", j, applied, err)
	}
	// k's batches at x and z land late (k never acknowledges them: its
	// confirming read sees j).
	insert(x, "s1", "x", "x", wts(k, 1))
	insert(z, "s1", "z", "z", wts(k, 1))

	// m activates: it reads x, y and z and answers their retries as
	// duplicates.
	m := actors.SpawnConversationForTest(node.Runtime, conv)
	for _, want := range []struct {
		cid string
		seq uint64
	}{{"x", x}, {"y", y}, {"z", z}} {
		v, err := node.System().Root.RequestFuture(m, &pb.SendMessage{Conv: conv, Sender: "s1", ClientMsgId: want.cid, Body: []byte(want.cid)}, 5*time.Second).Result()
		if err != nil {
			t.Fatalf("retry %s: %v", want.cid, err)
		}
		res := v.(*pb.SendResponse)
		if err := actorsErr(res.Error); err != nil {
			t.Fatalf("retry %s: %v", want.cid, err)
		}
		if !res.Duplicate || res.Seq != want.seq {
			t.Fatalf("retry %s: answered seq %d duplicate %v, want the stored seq %d", want.cid, res.Seq, res.Duplicate, want.seq)
		}
	}

	// j's slow writes land.
	insert(x, "system", "", `{"op":"gap"}`, wts(j, 1))
	err = raw.Query(`DELETE FROM messages USING TIMESTAMP ? WHERE conv_id = ? AND bucket = ? AND seq > ? AND seq <= ?`,
		wts(j, 0), conv, int64(z/bucketSize), int64(y), int64(min(reserved, (z/bucketSize+1)*bucketSize-1))).WithContext(ctx).Exec()
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []struct {
		cid string
		seq uint64
	}{{"x", x}, {"y", y}, {"z", z}} {
		got, err := store.GetMessage(ctx, conv, want.seq)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			t.Errorf("%s was acknowledged at seq %d, which is now empty: acked message lost", want.cid, want.seq)
		case err != nil:
			t.Fatal(err)
		case got.ClientMsgID != want.cid:
			t.Errorf("%s was acknowledged at seq %d, which now holds %q from %s (%s): acked message lost", want.cid, want.seq, got.ClientMsgID, got.Sender, got.Body)
		}
	}
}
