package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/internal/promtest"
)

// counterValue reads one series of a registered counter vector.
func counterValue(t *testing.T, name, kind string) float64 {
	return promtest.Value(t, name, "kind", kind)
}

// Idle grains passivate; a grain with a connected device, and one that
// keeps receiving, stay.
func TestIdleGrainsPassivate(t *testing.T) {
	const idle = 200 * time.Millisecond
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{IdleTimeout: idle})[0]
	ctx := tctx(t)
	connect(t, node, "idle-online", "d1")
	for i := range 20 {
		if _, err := node.OnlineDevices(ctx, fmt.Sprint("idle-user", i)); err != nil {
			t.Fatal(err)
		}
	}
	passivated := counterValue(t, "switchboard_grain_passivations_total", actors.KindUser)
	busy := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(idle / 5) {
			if _, err := node.OnlineDevices(ctx, "idle-busy"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The idle ones go within a timeout and a sweep (and the time to stop).
	deadline := time.Now().Add(10 * idle)
	for node.GrainCounts()[actors.KindUser] != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d user grains still active, want the online and the busy one", node.GrainCounts()[actors.KindUser])
		}
		busy(idle / 4)
	}
	if n := counterValue(t, "switchboard_grain_passivations_total", actors.KindUser) - passivated; n < 20 {
		t.Fatalf("%v user grains passivated, want the 20 idle ones", n)
	}
	// From now on nothing may passivate: one grain is online, the other
	// gets a request every fifth of a timeout.
	before := counterValue(t, "switchboard_grain_passivations_total", actors.KindUser)
	busy(5 * idle)
	if after := counterValue(t, "switchboard_grain_passivations_total", actors.KindUser); after != before {
		t.Fatalf("%v user grains passivated while online or busy", after-before)
	}
	p, err := node.OnlineDevices(ctx, "idle-online")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.GetDevices()) != 1 {
		t.Fatalf("online user's grain lost its device: %v", p)
	}
}
