package metricsactor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/actors/metricsactor"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// TestDeskLineAndQuietConversation runs a real desk session (scene of the
// line "cars", queue, agent) and a plain service conversation through the
// grains, with windows in a time zone: the line's rows come from the
// desk's start message, the quiet desk conversation's "*" row becomes
// final on the other conversation's events, and the streaming answer
// equals the recomputation.
func TestDeskLineAndQuietConversation(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cfg := analytics.DefaultConfig()
	cfg.Windows = append(cfg.Windows, analytics.Tumbling(24*time.Hour))
	cfg.Location = ny
	node, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "metrics-edges",
		Metrics: metricsactor.Config{Engine: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop(true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if _, err := node.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	online, capacity, skills := desk.Online, 5, []string{"sales"}
	if _, err := node.Desk.SetAgent(ctx, desk.AgentUpdate{User: "ann", Status: &online, Capacity: &capacity, Skills: &skills}); err != nil {
		t.Fatal(err)
	}
	s, err := node.Desk.Enter(ctx, "cus1", "listing/42")
	if err != nil {
		t.Fatal(err)
	}
	for s.State != desk.StateAssigned {
		if ctx.Err() != nil {
			t.Fatalf("session never assigned: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
		if s, err = node.Desk.Session(ctx, "cus1", s.Conv); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-5 * time.Hour).Truncate(time.Minute)
	send := func(conv, from string, at time.Time) {
		t.Helper()
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: from, Body: []byte("x"), ClientTsMs: at.UnixMilli()}); err != nil {
			t.Fatalf("%s sends to %s: %v", from, conv, err)
		}
	}
	// The desk conversation: a question answered in 20 s, then quiet.
	send(s.Conv, "cus1", base)
	send(s.Conv, "ann", base.Add(20*time.Second))
	// A plain service conversation carries on for 40 minutes.
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "s:plain", Kind: pb.ConvKind_SERVICE, Members: []*pb.Member{
		{User: "cus2", Role: pb.Role_CUSTOMER}, {User: "bob", Role: pb.Role_AGENT}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		send("s:plain", "cus2", base.Add(2*time.Minute+time.Duration(i)*10*time.Minute))
		send("s:plain", "bob", base.Add(2*time.Minute+time.Duration(i)*10*time.Minute+90*time.Second))
	}

	q := &pb.MetricsQuery{SizeMs: time.Minute.Milliseconds()}
	streaming, err := node.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	q.Recompute = true
	batch, err := node.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, streaming), mustJSON(t, batch); a != b {
		t.Fatalf("streaming and recompute differ:\n%s\n%s", a, b)
	}
	var all, cars analytics.Row
	for _, r := range streaming.Rows {
		if r.WindowStart.Equal(base) {
			switch r.Key {
			case analytics.AllKey:
				all = r
			case analytics.LineKey("cars"):
				cars = r
			}
		}
	}
	// The messages carry client times 5 h before the desk's steps (server
	// times): the question is ann's from her assignment on, which her
	// reply's event time precedes, so the response time clamps to 0.
	if cars.Questions != 1 || cars.AvgResponseMs != 0 || !cars.Final {
		t.Errorf("line cars row at %v: %+v, want 1 question of 0 s, final", base, cars)
	}
	// The desk conversation is quiet since base+20s; the plain one (whose
	// own session is still open, from base+2m) reached base+43:30, past
	// base+20s+30 min+6 s: the quiet session is closed by the watermark.
	if all.Questions != 1 || all.Sessions != 1 || !all.Final {
		t.Errorf("* row at %v: %+v, want the desk conversation's question and session, final", base, all)
	}

	// Day windows are New York days.
	day, err := node.Metrics(ctx, &pb.MetricsQuery{SizeMs: (24 * time.Hour).Milliseconds(), Key: analytics.LineKey("cars")})
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := base.In(ny).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, ny)
	var questions, waits uint64
	for _, r := range day.Rows {
		if !r.WindowStart.After(base) && r.WindowEnd.After(base) && !r.WindowStart.Equal(midnight) {
			t.Errorf("cars day row %+v holds %v, want it to start at New York midnight %v", r, base, midnight)
		}
		questions += r.Questions
		waits += r.QueueWaits
	}
	// The assignment's queue wait is placed at its own (server) time.
	if questions != 1 || waits != 1 {
		t.Errorf("cars day rows %+v: %d questions, %d queue waits, want 1 and 1", day.Rows, questions, waits)
	}
}
