package actors

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// askFor is one request through the box, as Runtime.ask makes it locally.
func (b *replyBox) askFor(to *actor.PID, msg any, timeout time.Duration) (any, error) {
	from, w := b.open()
	b.system.Root.RequestWithCustomSender(to, msg, from)
	return b.wait(from, w, timeout)
}

// Every request gets its own answer, with many waiting at once.
func TestReplyBoxAnswers(t *testing.T) {
	system := actor.NewActorSystem()
	box := newReplyBox(system)
	echo := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			c.Respond("re:" + s)
		}
	}))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				q := fmt.Sprintf("%d/%d", g, i)
				res, err := box.askFor(echo, q, 5*time.Second)
				if err != nil || res != "re:"+q {
					errs <- fmt.Errorf("asked %s: got %v, %v", q, res, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range box.shards {
		if n := len(box.shards[i].waiting); n != 0 {
			t.Errorf("shard %d still has %d requests waiting", i, n)
		}
	}
}

// An answer that comes after its request timed out, or a second answer to
// one request, is dropped: the next request through the same box gets its
// own answer, never the stale one.
func TestReplyBoxDropsLateAndSecondAnswers(t *testing.T) {
	system := actor.NewActorSystem()
	box := newReplyBox(system)
	var held []*actor.PID
	grain := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case string:
			switch m {
			case "hold": // answered later, by "release"
				held = append(held, c.Sender())
			case "twice":
				c.Respond("first")
				c.Respond("second")
			default:
				c.Respond("re:" + m)
			}
		case int: // release: answer the held requests now
			for _, to := range held {
				c.Send(to, "late")
			}
			held = nil
			c.Respond("released")
		}
	}))

	if _, err := box.askFor(grain, "hold", 20*time.Millisecond); !errors.Is(err, actor.ErrTimeout) {
		t.Fatalf("a request nobody answers: %v, want a time-out", err)
	}
	if res, err := box.askFor(grain, 1, 5*time.Second); err != nil || res != "released" {
		t.Fatalf("release: %v, %v", res, err)
	}
	for i := range 50 { // the waiter (and its channel) is reused: nothing stale in it
		q := fmt.Sprint(i)
		if res, err := box.askFor(grain, q, 5*time.Second); err != nil || res != "re:"+q {
			t.Fatalf("after a late answer, asked %s, got %v, %v", q, res, err)
		}
	}

	if res, err := box.askFor(grain, "twice", 5*time.Second); err != nil || res != "first" {
		t.Fatalf("a request answered twice: %v, %v; want the first answer", res, err)
	}
	for i := range 50 {
		q := fmt.Sprint(i)
		if res, err := box.askFor(grain, q, 5*time.Second); err != nil || res != "re:"+q {
			t.Fatalf("after a second answer, asked %s, got %v, %v", q, res, err)
		}
	}
}

// A request to a PID nobody holds ends at once with a dead letter, not
// after its time-out.
func TestReplyBoxDeadLetter(t *testing.T) {
	system := actor.NewActorSystem()
	box := newReplyBox(system)
	gone := system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	if err := system.Root.StopFuture(gone).Wait(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := box.askFor(gone, "anyone?", time.Minute); !errors.Is(err, actor.ErrDeadLetter) {
		t.Fatalf("got %v, want a dead letter", err)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("the dead letter took %v", waited)
	}
}
