package desk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// ratingSteps returns the rating steps among evs, oldest first.
func ratingSteps(evs []map[string]any) []map[string]any { return stepsOf(evs, "rating") }

func TestRating(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	s := enterAssigned(t, d, "c1", "help/1")

	if _, err := d.Rate(ctx, "c1", s.Conv, 5, ""); code(err) != pb.Code_INVALID {
		t.Fatalf("rating an open session: %v", err)
	}
	if _, err := d.Close(ctx, "a1", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	limit := desk.DefaultConfig().MaxRatingComment
	for name, bad := range map[string]struct {
		by      string
		score   int
		comment string
		want    pb.Code
	}{
		"the agent":           {"a1", 5, "", pb.Code_FORBIDDEN},
		"a stranger":          {"eve", 5, "", pb.Code_FORBIDDEN},
		"score 0":             {"c1", 0, "", pb.Code_INVALID},
		"score 6":             {"c1", 6, "", pb.Code_INVALID},
		"a comment over":      {"c1", 5, strings.Repeat("x", limit+1), pb.Code_INVALID},
		"a comment not UTF-8": {"c1", 5, "\xff", pb.Code_INVALID},
	} {
		if _, err := d.Rate(ctx, bad.by, s.Conv, bad.score, bad.comment); code(err) != bad.want {
			t.Errorf("%s: %v, want %v", name, err, bad.want)
		}
	}
	if _, err := d.Rate(ctx, "c1", "s:l:c1:99", 5, ""); code(err) != pb.Code_NOT_FOUND {
		t.Errorf("rating an older or unknown conversation of the thread: %v", err)
	}
	atLimit := strings.Repeat("é", limit/2)
	r, err := d.Rate(ctx, "c1", s.Conv, 4, atLimit)
	if err != nil || r.Score != 4 || r.Comment != atLimit || r.Agent != "a1" || r.Duplicate || r.Session != s.Session {
		t.Fatalf("c1 rates with a comment at the limit: %+v %v", r, err)
	}
	if r, err := d.Rate(ctx, "c1", s.Conv, 1, "changed my mind"); err != nil || r.Score != 4 || !r.Duplicate {
		t.Fatalf("a second rating: %+v %v, want the first (4), duplicate", r, err)
	}
	steps := ratingSteps(deskEvents(t, n, "c1", s.Conv))
	if len(steps) != 1 || steps[0]["score"] != float64(4) || steps[0]["agent"] != "a1" || steps[0]["session"] != s.Session || steps[0]["comment"] != atLimit {
		t.Fatalf("rating steps: %v, want one: 4 for a1", steps)
	}
	if in, err := d.Session(ctx, "a1", s.Conv); err != nil || in.Rating == nil || in.Rating.Score != 4 {
		t.Fatalf("the session as an agent sees it: %+v %v", in, err)
	}

	// The rating survives a restart, and still stands alone.
	n.Stop(true)
	n = startNode(t, store, desk.Config{})
	d = n.Desk
	if r, err := d.Rate(ctx, "c1", s.Conv, 2, ""); err != nil || r.Score != 4 || !r.Duplicate {
		t.Fatalf("rating after a restart: %+v %v", r, err)
	}
	if steps := ratingSteps(deskEvents(t, n, "c1", s.Conv)); len(steps) != 1 {
		t.Fatalf("rating steps after a restart: %v", steps)
	}

	// Back within the sticky window: a new session in the same
	// conversation, which is the one to rate now (once it closes).
	again := enterAssigned(t, d, "c1", "help/2")
	if again.Conv != s.Conv || again.Session == s.Session {
		t.Fatalf("the return: %+v", again)
	}
	if _, err := d.Rate(ctx, "c1", s.Conv, 5, ""); code(err) != pb.Code_INVALID {
		t.Fatalf("rating while the next session is open: %v", err)
	}
	if _, err := d.Close(ctx, "c1", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Rate(ctx, "c1", s.Conv, 5, ""); err != nil || r.Duplicate || r.Session != again.Session {
		t.Fatalf("rating the second session: %+v %v", r, err)
	}
	if steps := ratingSteps(deskEvents(t, n, "c1", s.Conv)); len(steps) != 2 || steps[1]["session"] != again.Session {
		t.Fatalf("rating steps: %v, want the second session's too", steps)
	}
}

func TestRatingWhoAnswered(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{RatingWindow: 300 * time.Millisecond})
	ctx := tctx(t)
	d := n.Desk
	for _, sc := range []desk.Scene{
		{Name: "robot", Line: "r", Route: []string{"bot"}},
		{Name: "nobody", Line: "w", Route: []string{"queue:empty"}},
	} {
		if _, err := d.SetScene(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}

	// With the robot at the close: rated for the line, naming the robot.
	b, err := d.Enter(ctx, "c1", "robot")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Close(ctx, "c1", b.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Rate(ctx, "c1", b.Conv, 3, ""); err != nil || r.Agent != "" {
		t.Fatalf("rating the robot's session: %+v %v", r, err)
	}
	if steps := ratingSteps(deskEvents(t, n, "c1", b.Conv)); len(steps) != 1 || steps[0]["bot"] != "bot" || steps[0]["agent"] != nil {
		t.Fatalf("the robot's rating step: %v", steps)
	}

	// Closed while it waited: nobody answered, nothing to rate.
	w, err := d.Enter(ctx, "c2", "nobody")
	if err != nil || w.State != desk.StateQueued {
		t.Fatalf("enter: %+v %v", w, err)
	}
	if _, err := d.Close(ctx, "c2", w.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Rate(ctx, "c2", w.Conv, 1, ""); code(err) != pb.Code_INVALID {
		t.Fatalf("rating an abandoned session: %v", err)
	}

	// Past the rating window.
	late, err := d.Enter(ctx, "c3", "robot")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Close(ctx, "c3", late.Conv, ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := d.Rate(ctx, "c3", late.Conv, 5, ""); code(err) != pb.Code_INVALID || !strings.Contains(err.Error(), "rating window") {
		t.Fatalf("rating past the window: %v", err)
	}
	if steps := ratingSteps(deskEvents(t, n, "c3", late.Conv)); len(steps) != 0 {
		t.Fatalf("a refused rating was recorded: %v", steps)
	}
}

// A rating whose step could not be written stands: the customer's retry
// writes it (with the first score), and so does the customer's return,
// into the rated session's conversation, before the next session starts.
func TestRatingStepWrittenLater(t *testing.T) {
	store := openStore(t)
	gated := &gatedStore{killableStore: &killableStore{Store: store}}
	n := startQuickNode(t, gated, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	for _, c := range []string{"c1", "c2"} {
		s := enterAssigned(t, d, c, "help")
		if _, err := d.Close(ctx, "a1", s.Conv, ""); err != nil {
			t.Fatal(err)
		}
		gated.conv = s.Conv
		gated.shut.Store(true)
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := d.Rate(short, c, s.Conv, 5, "first")
		cancel()
		if err == nil {
			t.Fatalf("%s: a rating whose step cannot be written was answered", c)
		}
		time.Sleep(time.Second) // requests already sent fail too
		gated.shut.Store(false)
		if c == "c1" {
			if r, err := d.Rate(ctx, c, s.Conv, 1, "second"); err != nil || r.Score != 5 || r.Comment != "first" || !r.Duplicate {
				t.Fatalf("c1 rates again: %+v %v, want the first rating", r, err)
			}
		} else if next := enterAssigned(t, d, c, "help"); next.Session == s.Session {
			t.Fatalf("c2's return: %+v", next)
		}
		steps := ratingSteps(deskEvents(t, n, c, s.Conv))
		if len(steps) != 1 || steps[0]["score"] != float64(5) || steps[0]["session"] != s.Session {
			t.Fatalf("%s: rating steps %v, want the first rating, once", c, steps)
		}
	}
}
