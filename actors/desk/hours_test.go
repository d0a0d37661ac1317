package desk_test

import (
	"fmt"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/internal/promtest"
)

// afterHoursSteps returns the after_hours steps among evs.
func afterHoursSteps(evs []map[string]any) []map[string]any { return stepsOf(evs, "after_hours") }

// closedUntilDayAfterTomorrow: hours open only the whole day after
// tomorrow (UTC), and when that day starts.
func closedUntilDayAfterTomorrow() (*desk.Hours, int64) {
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	name := [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[day.Weekday()]
	return &desk.Hours{TZ: "UTC", Week: map[string]string{name: "00:00-24:00"}, Message: "We answer from 9 to 5."}, day.UnixMilli()
}

// TestBusinessHours: a session that starts while its line is closed gets
// an after_hours step with the next opening and the line's message, and
// still takes its route (a1, online out of hours, takes it); within the
// hours, or with none, there is no such step; a reopen looks the hours up
// too; the hours survive a restart and can be cleared.
func TestBusinessHours(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 5)

	counted := promtest.Value(t, "switchboard_desk_after_hours_sessions_total", "line", "l")
	closed, opens := closedUntilDayAfterTomorrow()
	if _, err := d.SetHours(ctx, "l", closed); err != nil {
		t.Fatal(err)
	}
	s := enterAssigned(t, d, "c1", "help/1")
	if !s.AfterHours || s.OpensAt != opens {
		t.Fatalf("entry after hours: %+v, want after_hours and opens_at_ms %d", s, opens)
	}
	evs := deskEvents(t, n, "c1", s.Conv)
	if got := kinds(evs); got != "start after_hours queued assigned " {
		t.Fatalf("steps %q, want start after_hours queued assigned", got)
	}
	// The start records the hours, in which the metrics count the first response.
	if h, _ := evs[0]["hours"].(map[string]any); h == nil || h["tz"] != "UTC" || h["message"] != closed.Message {
		t.Fatalf("the start step %v, want the line's hours", evs[0])
	}
	if e := evs[1]; e["opens_at_ms"] != float64(opens) || e["message"] != closed.Message || e["session"] != s.Session {
		t.Fatalf("after_hours step %v, want opens_at_ms %d, the line's message, session %s", e, opens, s.Session)
	}
	if got := promtest.Value(t, "switchboard_desk_after_hours_sessions_total", "line", "l"); got != counted+1 {
		t.Fatalf("after-hours sessions counted %v, want %v", got, counted+1)
	}
	// The whole wait fell outside the hours: none of it counts.
	if e := evs[3]; e["open_wait_ms"] != 0.0 {
		t.Fatalf("assigned while closed: %v, want open_wait_ms 0", e)
	}

	// The customer writes after the close: the reopened session is told too.
	if _, err := d.Close(ctx, "a1", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: "c1", Body: []byte("one more thing")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if got := len(afterHoursSteps(deskEvents(t, n, "c1", s.Conv))); got != 2 {
			return fmt.Errorf("%d after_hours steps after the reopen, want 2", got)
		}
		return nil
	})

	open := &desk.Hours{TZ: "UTC", Week: map[string]string{}}
	for _, day := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		open.Week[day] = "00:00-24:00"
	}
	if _, err := d.SetHours(ctx, "l", open); err != nil {
		t.Fatal(err)
	}
	s2 := enterAssigned(t, d, "c2", "help")
	evs2 := deskEvents(t, n, "c2", s2.Conv)
	if s2.AfterHours || len(afterHoursSteps(evs2)) != 0 {
		t.Fatalf("an entry within the hours: %+v", s2)
	}
	// Open all along: the whole wait counts.
	if a := stepsOf(evs2, "assigned"); len(a) != 1 || a[0]["open_wait_ms"] != a[0]["wait_ms"] {
		t.Fatalf("assigned while open: %v, want open_wait_ms = wait_ms", a)
	}

	for name, bad := range map[string]struct {
		line  string
		hours *desk.Hours
	}{
		"a bad line":          {"no/such", open},
		"an empty zone":       {"l", &desk.Hours{}},
		"a bad day":           {"l", &desk.Hours{TZ: "UTC", Week: map[string]string{"someday": "09:00-17:00"}}},
		"a message not UTF-8": {"l", &desk.Hours{TZ: "UTC", Message: "\xff"}},
	} {
		if _, err := d.SetHours(ctx, bad.line, bad.hours); code(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}

	n.Stop(true)
	n = startNode(t, store, desk.Config{})
	d = n.Desk
	h, err := d.LineHours(ctx, "l")
	if err != nil || h == nil || h.Week["sun"] != "00:00-24:00" {
		t.Fatalf("the hours after a restart: %+v %v", h, err)
	}
	if _, err := d.SetHours(ctx, "l", nil); err != nil {
		t.Fatal(err)
	}
	if h, err := d.LineHours(ctx, "l"); err != nil || h != nil {
		t.Fatalf("cleared hours: %+v %v", h, err)
	}
	if h, err := d.LineHours(ctx, "other"); err != nil || h != nil {
		t.Fatalf("a line without hours: %+v %v", h, err)
	}
}

// TestHoursLinesBound: hours for at most MaxScenes lines; a line that has
// hours can change them at the bound, and clearing one makes room.
func TestHoursLinesBound(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{MaxScenes: 2})
	ctx := tctx(t)
	d := n.Desk
	h := &desk.Hours{TZ: "UTC"}
	for _, line := range []string{"a", "b"} {
		if _, err := d.SetHours(ctx, line, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.SetHours(ctx, "c", h); code(err) != pb.Code_TOO_LARGE {
		t.Fatalf("hours for a third line: %v, want TOO_LARGE", err)
	}
	if _, err := d.SetHours(ctx, "b", &desk.Hours{TZ: "Europe/Berlin"}); err != nil {
		t.Fatalf("changing a line's hours at the bound: %v", err)
	}
	if _, err := d.SetHours(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetHours(ctx, "c", h); err != nil {
		t.Fatalf("after one was cleared: %v", err)
	}
}
