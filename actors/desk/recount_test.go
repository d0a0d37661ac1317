package desk_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/storage"
)

// TestRecountOfStepsACrashRepeated: the recount reads the desk steps as
// the queues counted them, also where a crash made a thread record a
// step that took no effect or record one twice.
func TestRecountOfStepsACrashRepeated(t *testing.T) {
	store := openStore(t)
	ctx := tctx(t)
	write := func(conv string, steps ...map[string]any) {
		t.Helper()
		if err := store.CreateConversation(ctx, storage.Conversation{ID: conv, Kind: storage.KindService}); err != nil {
			t.Fatal(err)
		}
		msgs := make([]storage.Message, len(steps))
		for i, step := range steps {
			step["session"] = conv + "/1"
			b, err := json.Marshal(step)
			if err != nil {
				t.Fatal(err)
			}
			msgs[i] = storage.Message{Seq: uint64(i + 1), MsgID: uint64(i + 1), Sender: desk.System, SenderRole: storage.SenderSystem,
				Kind: storage.MsgSystem, Body: b, ServerTS: time.Now()}
		}
		if err := store.AppendMessages(ctx, conv, 0, msgs); err != nil {
			t.Fatal(err)
		}
	}
	queued := func() map[string]any { return map[string]any{"desk": "queued", "queue": "care"} }
	assigned := func(wait int) map[string]any {
		return map[string]any{"desk": "assigned", "queue": "care", "agent": "a1", "wait_ms": wait}
	}
	abandon := func() map[string]any { return map[string]any{"desk": "close", "abandoned": true, "queue": "care"} }

	// Recorded, then cut before the save; the customer left while waiting.
	write("s:l:cut:1", queued(), assigned(100), abandon())
	// Recorded twice: the second activation assigned it again.
	write("s:l:twice:1", queued(), assigned(100), assigned(150))
	// Recorded, then cut before the save; the session overflowed from
	// the queue it still waited in.
	write("s:l:cutover:1", queued(), assigned(70), map[string]any{"desk": "overflow", "queue": "care", "to": "queue:more"},
		map[string]any{"desk": "queued", "queue": "more"})
	// Assigned, handed back, then abandoned: both count.
	write("s:l:back:1", queued(), assigned(40), queued(), abandon())

	got, err := desk.Recount(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	want := desk.QueueStats{Assigned: 2, WaitMsSum: 190, Abandoned: 2, Overflowed: 1}
	if got["care"] != want {
		t.Fatalf("recount of care: %+v, want %+v", got["care"], want)
	}
}
