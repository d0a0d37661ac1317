package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/bench"
	"github.com/switchboard-im/switchboard/transport"
)

// TestFinalResync: acked messages a recipient missed live are found by
// the final resync and counted late; one acked number that was never
// stored stays never delivered. Also through a fresh connection when the
// recipient's own client is gone.
func TestFinalResync(t *testing.T) {
	target := node(t)
	for _, closeClient := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := bench.CheckFinalResync(ctx, target, 300, 250, closeClient)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		// What was taken away plus the one never sent; 300 sends span two
		// history pages.
		if out.Dropped != 250 || out.MissedBefore != out.Dropped+1 || out.NeverDelivered != 1 {
			t.Fatalf("closed client %v: dropped %d, missed %d before the resync, %d after (want dropped+1, 1); errors %v", closeClient, out.Dropped, out.MissedBefore, out.NeverDelivered, out.Errors)
		}
		if out.LateDuplicates != 0 || out.LateDeliveries != 0 {
			t.Fatalf("closed client %v: a push after the verdict counted as %d duplicates, %d deliveries", closeClient, out.LateDuplicates, out.LateDeliveries)
		}
		if reconnected := out.Errors["final_resync_reconnects"]; (reconnected > 0) != closeClient || out.Errors["final_resync_failed"] != 0 {
			t.Fatalf("closed client %v: errors %v", closeClient, out.Errors)
		}
	}
}

// TestRefusalsCountMeasuredSendsOnly: the report's refusals are those of
// the measured sends, so accepted plus refused is what was sent; the
// warm-up's refusals (which the client counts too) stay out. Whether a
// burst meets a refusal is up to the scheduler (the client's window
// shrinks to one send after a BUSY and regrows with the acks), so a run
// that met none proves nothing and is run again, up to three times.
func TestRefusalsCountMeasuredSendsOnly(t *testing.T) {
	// A node that admits one pending send refuses part of every burst of
	// the two senders.
	target := nodeWith(t, actors.Config{MaxPendingSends: 1, MinPendingSends: 1}, transport.Config{})
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := bench.CheckRefusalCount(ctx, target, fmt.Sprintf("refusals-%d", attempt), 40, 3)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if out.Failed != 0 || out.Sent != 240 {
			t.Fatalf("sent %d, acked %d, refused %d, failed %d: want 240 sent, none failed", out.Sent, out.Acked, out.Refused, out.Failed)
		}
		if out.Acked+out.Refused != out.Sent || out.RefusedLocal > out.Refused {
			t.Fatalf("sent %d = acked %d + refused %d (%d by the client)?", out.Sent, out.Acked, out.Refused, out.RefusedLocal)
		}
		if out.Refused == 0 || out.ClientRefusals <= out.Refused {
			if attempt < 3 {
				t.Logf("attempt %d met %d refusals of the measured sends, %d in all: again", attempt, out.Refused, out.ClientRefusals)
				continue
			}
			t.Fatalf("the client counted %d refusals, the measured sends %d, in 3 runs: the test proves nothing", out.ClientRefusals, out.Refused)
		}
		return
	}
}
