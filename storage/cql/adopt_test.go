package cql

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/storage"
)

// TestAdoptedRowOutlivesEarlierEpochs: epoch k's rows land after j took
// over (k never acknowledges them); m, after j, reads them; j's removal
// of them (the range tombstone over (last, reserved] its close decided,
// the gap placeholder for a seq its window missed) lands only then. A
// row m adopted (AdoptMessage) survives both; a row it did not is
// removed, as j decided.
func TestAdoptedRowOutlivesEarlierEpochs(t *testing.T) {
	cfg := testConfig(t)
	k, j, m := openWith(t, cfg), openWith(t, cfg), openWith(t, cfg)
	defer k.Close()
	defer j.Close()
	defer m.Close()
	ctx := testCtx(t)
	const conv = "adopt"
	msg := func(seq uint64, cid string) storage.Message {
		return storage.Message{ConvID: conv, Seq: seq, Sender: "u", ClientMsgID: cid, Body: []byte(cid)}
	}
	held := func(seq uint64) string {
		got, err := m.GetMessage(ctx, conv, seq)
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%s/%s", got.Sender, got.ClientMsgID)
	}
	must(t, k.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindGroup}))
	ek, err := k.AcquireEpoch(ctx, conv, 0)
	must(t, err)
	must(t, k.ReserveSeqs(ctx, conv, ek, 30))
	must(t, k.AppendMessages(ctx, conv, ek, []storage.Message{msg(1, "a"), msg(3, "c")}))

	// j takes the epoch; its close read finds 3, its window misses 2.
	// Its tombstone over (3, 30] and its placeholder at 2 are slow.
	ej := ek + 1
	applied, err := j.lwt(ctx, convAcquire).BindMap(map[string]any{"next": int64(ej), "id": conv, "seen": int64(ek)}).ExecCASRelease()
	if err != nil || !applied {
		t.Fatalf("take epoch %d: applied %v, %v", ej, applied, err)
	}
	// k's late batches land (its confirming read sees j). Both were
	// admitted before j took over: k's lease is reset to say so.
	late := func(ms ...storage.Message) {
		t.Helper()
		k.leases = newLeases(10, convFence, "append to")
		k.confirms = newConfirms(k.leases)
		k.leases.note(conv, ek, 30)
		wantErrIs(t, k.AppendMessages(ctx, conv, ek, ms), storage.ErrEpochLost)
	}
	late(msg(2, "b"))
	late(msg(4, "d"), msg(5, "e"))

	// m takes over and reads everything; it adopts b and d (their retries
	// are to be answered as duplicates), not e.
	em, err := m.AcquireEpoch(ctx, conv, ej)
	must(t, err)
	page, err := m.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
	must(t, err)
	if got := seqList(page); got != "1 2 3 4 5" {
		t.Fatalf("m reads %s", got)
	}
	must(t, m.AdoptMessage(ctx, conv, em, 2, "u", "b"))
	must(t, m.AdoptMessage(ctx, conv, em, 4, "u", "d"))
	wantErrIs(t, m.AdoptMessage(ctx, conv, em, 4, "u", "other"), storage.ErrNotFound)
	wantErrIs(t, m.AdoptMessage(ctx, conv, em, 9, "u", "d"), storage.ErrNotFound)
	wantErrIs(t, j.AdoptMessage(ctx, conv, ej, 5, "u", "e"), storage.ErrEpochLost)

	// j's slow writes land.
	gap := storage.Message{ConvID: conv, Seq: 2, Sender: "system", SenderRole: storage.SenderSystem, Kind: storage.MsgSystem, Body: []byte(`{"op":"gap"}`)}
	must(t, j.insertPlain(ctx, msgInsertPlain, []any{j.msgRow(conv, &gap)}, epochTS(ej, 1)))
	must(t, j.query(ctx, msgClose).BindMap(map[string]any{"conv_id": conv, "bucket": int64(0), "lo": int64(3), "hi": int64(30)}).
		WithTimestamp(epochTS(ej, 0)).ExecRelease())

	for seq, want := range map[uint64]string{1: "u/a", 2: "u/b", 3: "u/c", 4: "u/d"} {
		if got := held(seq); got != want {
			t.Errorf("seq %d holds %s, want %s (adopted or acknowledged in time)", seq, got, want)
		}
	}
	if got := held(5); got == "u/e" {
		t.Errorf("seq 5 still holds the row nobody adopted: j's close did not land, the test tests nothing")
	}
	// A recall m makes afterwards still wins over the adopted row.
	must(t, m.TombstoneMessage(ctx, conv, 2))
	if got, err := m.GetMessage(ctx, conv, 2); err != nil || !got.Recalled() {
		t.Fatalf("recall of an adopted row: %+v %v", got, err)
	}
}
