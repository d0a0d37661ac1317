package desk_test

import (
	"fmt"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/storage"
)

// TestContactReasons: a line's contact reasons count each session once
// per tag, as its latest tags say (a change replaces, a wrap-up after the
// close counts, a session whose tags were all removed counts nowhere), on
// the day it started (UTC: this line has no hours) and in its own line
// only; a restart tells the tally every thread's tags again and nothing
// counts twice; the range of days is checked at its edges.
func TestContactReasons(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{MaxReasonDays: 30}
	n := startNode(t, store, cfg)
	d, ctx := n.Desk, tctx(t)
	careDesk(t, d, 3)
	var convs []string
	for _, c := range []string{"c1", "c2", "c3"} {
		convs = append(convs, enterAssigned(t, d, c, "help").Conv)
	}
	tag := func(i int, add, remove []string) {
		t.Helper()
		if _, err := d.Tag(ctx, "a1", convs[i], add, remove); err != nil {
			t.Fatal(err)
		}
	}
	today := time.Now().UTC()
	want := func(what string, line string, from, to time.Time, sessions int, tags ...desk.ReasonCount) {
		t.Helper()
		eventually(t, func() error {
			r, err := d.Reasons(ctx, line, from, to)
			if err != nil || r.Sessions != sessions || fmt.Sprint(r.Tags) != fmt.Sprint(tags) ||
				r.Line != line || r.From != from.Format(time.DateOnly) || r.To != to.Format(time.DateOnly) {
				return fmt.Errorf("%s: %+v %v, want %d tagged sessions, %v", what, r, err, sessions, tags)
			}
			return nil
		})
	}
	want("nothing tagged", "l", today, today, 0)

	tag(0, []string{"refund", "shipping"}, nil)
	tag(1, []string{"Refund"}, nil)
	want("c1 refund and shipping, c2 refund", "l", today, today, 2,
		desk.ReasonCount{Tag: "refund", Sessions: 2}, desk.ReasonCount{Tag: "shipping", Sessions: 1})
	tag(1, []string{"shipping"}, []string{"refund"})
	want("c2 changed to shipping", "l", today, today, 2,
		desk.ReasonCount{Tag: "shipping", Sessions: 2}, desk.ReasonCount{Tag: "refund", Sessions: 1})

	// The wrap-up: tags changed after the close count.
	if _, err := d.Close(ctx, "a1", convs[0], ""); err != nil {
		t.Fatal(err)
	}
	tag(0, nil, []string{"shipping"})
	tag(2, []string{"damaged"}, nil)
	want("after c1's wrap-up", "l", today, today, 3,
		desk.ReasonCount{Tag: "damaged", Sessions: 1}, desk.ReasonCount{Tag: "refund", Sessions: 1}, desk.ReasonCount{Tag: "shipping", Sessions: 1})
	tag(2, nil, []string{"damaged"})
	want("c3's only tag removed", "l", today, today, 2,
		desk.ReasonCount{Tag: "refund", Sessions: 1}, desk.ReasonCount{Tag: "shipping", Sessions: 1})

	// Other days and other lines.
	want("yesterday", "l", today.AddDate(0, 0, -1), today.AddDate(0, 0, -1), 0)
	want("another line", "m", today, today, 0)
	want("a week to today", "l", today.AddDate(0, 0, -6), today, 2,
		desk.ReasonCount{Tag: "refund", Sessions: 1}, desk.ReasonCount{Tag: "shipping", Sessions: 1})

	// A restart: every thread that starts tells its tags again, so a
	// tally that lost what it was told (here: emptied while the node was
	// down) counts them again.
	n.Stop(false)
	for shard := range 8 {
		key := fmt.Sprintf("desk/desk-reasons/l/%s/%d", today.Format(time.DateOnly), shard)
		if err := store.SaveCheckpoint(ctx, storage.Checkpoint{Key: key, State: []byte(`{"sessions":{}}`), At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	n = startNode(t, store, cfg)
	d = n.Desk
	for _, c := range convs {
		if _, err := d.Session(ctx, "a1", c); err != nil {
			t.Fatal(err)
		}
	}
	want("after a restart", "l", today, today, 2,
		desk.ReasonCount{Tag: "refund", Sessions: 1}, desk.ReasonCount{Tag: "shipping", Sessions: 1})
	tag(1, []string{"refund"}, nil)
	want("after a restart, c2 refund and shipping", "l", today, today, 2,
		desk.ReasonCount{Tag: "refund", Sessions: 2}, desk.ReasonCount{Tag: "shipping", Sessions: 1})

	// The range, at its edges.
	if _, err := d.Reasons(ctx, "l", today.AddDate(0, 0, -29), today); err != nil {
		t.Fatalf("30 days, the limit: %v", err)
	}
	if _, err := d.Reasons(ctx, "l", today.AddDate(0, 0, -30), today); code(err) != pb.Code_INVALID {
		t.Fatalf("31 days, over the limit: %v", err)
	}
	if _, err := d.Reasons(ctx, "l", today, today.AddDate(0, 0, -1)); code(err) != pb.Code_INVALID {
		t.Fatalf("a range that ends before it starts: %v", err)
	}
	if _, err := d.Reasons(ctx, "no line!", today, today); code(err) != pb.Code_INVALID {
		t.Fatalf("a bad line: %v", err)
	}
}

// A line with opening hours counts its contact reasons on the days of its
// own zone: a session is counted on its local start date, which is also
// the default range's last day.
func TestContactReasonsInTheLineZone(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	d, ctx := n.Desk, tctx(t)
	careDesk(t, d, 1)
	week := map[string]string{}
	for _, day := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		week[day] = "00:00-24:00"
	}
	const zone = "Pacific/Kiritimati" // UTC+14: its date runs ahead of UTC's most of the day
	if _, err := d.SetHours(ctx, "l", &desk.Hours{TZ: zone, Week: week}); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	s := enterAssigned(t, d, "c1", "help")
	started := time.Now()
	if _, err := d.Tag(ctx, "a1", s.Conv, []string{"refund"}, nil); err != nil {
		t.Fatal(err)
	}
	local := started.In(loc)
	localDay := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	eventually(t, func() error {
		for _, q := range []struct{ from, to time.Time }{{localDay, localDay}, {}} {
			r, err := d.Reasons(ctx, "l", q.from, q.to)
			if err != nil || r.Sessions != 1 || r.To != localDay.Format(time.DateOnly) {
				return fmt.Errorf("from %v to %v: %+v %v, want the session on %s", q.from, q.to, r, err, localDay.Format(time.DateOnly))
			}
		}
		return nil
	})
	if utc := started.UTC(); utc.Day() != local.Day() {
		utcDay := time.Date(utc.Year(), utc.Month(), utc.Day(), 0, 0, 0, 0, time.UTC)
		if r, err := d.Reasons(ctx, "l", utcDay, utcDay); err != nil || r.Sessions != 0 {
			t.Fatalf("the UTC date %s: %+v %v, want nothing (the line's day is %s)", utcDay.Format(time.DateOnly), r, err, localDay.Format(time.DateOnly))
		}
	}
}
