package desk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStore(t testing.TB) storage.Store {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startNode starts a one-node cluster on store; stop it with Stop (the
// cleanup stops it gracefully otherwise).
func startNode(t testing.TB, store storage.Store, cfg desk.Config) *boot.Node {
	t.Helper()
	log := testLogger()
	cfg.Logger = log
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "desk-test", Desk: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(true) })
	return n
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func eventually(t testing.TB, check func() error) {
	t.Helper()
	eventuallyWithin(t, 15*time.Second, check)
}

// eventuallyWithin is eventually with a deadline of its own.
func eventuallyWithin(t testing.TB, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

// deskEvents returns the desk system messages of conv (their "desk" field
// and body), oldest first, as user sees them.
func deskEvents(t testing.TB, n *boot.Node, user, conv string) []map[string]any {
	t.Helper()
	msgs, err := n.History(tctx(t), &pb.GetHistory{Conv: conv, User: user, OldestFirst: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range msgs {
		if m.Kind != pb.MessageKind_SYSTEM {
			continue
		}
		var b map[string]any
		if json.Unmarshal(m.Body, &b) == nil && b["desk"] != nil {
			out = append(out, b)
		}
	}
	return out
}

// stepsOf returns the steps among evs whose "desk" is kind, in order.
func stepsOf(evs []map[string]any, kind string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["desk"] == kind {
			out = append(out, e)
		}
	}
	return out
}

func kinds(evs []map[string]any) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprint(e["desk"]) + " "
	}
	return s
}

func agentOf(s desk.SessionInfo) string {
	if s.Agent == nil {
		return ""
	}
	return *s.Agent
}

func code(err error) pb.Code { return actors.CodeOf(err) }

// careDesk sets scene "help", routed to queue "care", and agent a1 online
// in it with capacity.
func careDesk(t testing.TB, d *desk.Desk, capacity int) {
	t.Helper()
	ctx := tctx(t)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "help", Line: "l", Route: []string{"queue:care"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(capacity), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
}

// enterAssigned enters customer through scene and waits until a1 has the
// session.
func enterAssigned(t testing.TB, d *desk.Desk, customer, scene string) desk.SessionInfo {
	t.Helper()
	ctx := tctx(t)
	s, err := d.Enter(ctx, customer, scene)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", s.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("%s: %+v, want a1", customer, in)
		}
		return nil
	})
	return s
}

// loadCheckpoint decodes the stored state of the desk grain key into v.
func loadCheckpoint(t testing.TB, store storage.Store, key string, v any) {
	t.Helper()
	cp, err := store.LoadCheckpoint(tctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cp.State, v); err != nil {
		t.Fatal(err)
	}
}

// saveCheckpoint stores v as the state of the desk grain key, as a
// crash may have left it.
func saveCheckpoint(t testing.TB, store storage.Store, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveCheckpoint(tctx(t), storage.Checkpoint{Key: key, State: b, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// enterWaiting routes scene "help" of line "l" to queue (which nobody
// serves) and enters customer c1 there: c1's session waits.
func enterWaiting(t testing.TB, d *desk.Desk, queue string) desk.SessionInfo {
	t.Helper()
	ctx := tctx(t)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "help", Line: "l", Route: []string{"queue:" + queue}}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Enter(ctx, "c1", "help")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// listedEntry is session's entry as queue saved it, the only one listed.
func listedEntry(t testing.TB, store storage.Store, queue, session string) desk.WaitEntryForTest {
	t.Helper()
	var saved struct{ Waiting []desk.WaitEntryForTest }
	loadCheckpoint(t, store, "desk/"+desk.KindQueue+"/"+queue, &saved)
	if len(saved.Waiting) != 1 || saved.Waiting[0].Session != session {
		t.Fatalf("%s saved %+v, want only session %s waiting", queue, saved.Waiting, session)
	}
	return saved.Waiting[0]
}
