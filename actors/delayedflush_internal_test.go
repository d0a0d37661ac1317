package actors

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Grains that ask within one delay are told together, each once; a grain
// that asks after the batch went out gets a batch of its own; nothing is
// sent while nobody waits.
func TestDelayedFlushesBatch(t *testing.T) {
	var mu sync.Mutex
	var got [][]string
	batch := []string(nil)
	sent := make(chan struct{}, 10)
	d := newDelayedFlushes(20*time.Millisecond, func(pid *actor.PID) {
		mu.Lock()
		batch = append(batch, pid.Id)
		mu.Unlock()
		sent <- struct{}{}
	})
	defer d.stop()
	cut := func() {
		mu.Lock()
		got = append(got, batch)
		batch = nil
		mu.Unlock()
	}
	for _, id := range []string{"u1", "u2", "u3"} {
		d.add(actor.NewPID("local", id))
	}
	for range 3 {
		<-sent
	}
	cut()
	d.add(actor.NewPID("local", "u4"))
	<-sent
	cut()
	select {
	case <-sent:
		t.Fatal("a flush was sent with nobody waiting")
	case <-time.After(60 * time.Millisecond):
	}
	if len(got) != 2 || len(got[0]) != 3 || got[0][0] != "u1" || got[0][2] != "u3" || len(got[1]) != 1 || got[1][0] != "u4" {
		t.Fatalf("batches %v, want [u1 u2 u3] then [u4]", got)
	}
}
