package storagetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Conformance: scheduled sends — kept under their user, read back by the
// day and time they are due (soonest first, not before), moved when
// scheduled again with another time, deleted from both.
func testScheduled(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	ann, ben := id("ann"), id("ben")
	day := time.Date(2031, 3, 14, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return day.Add(d) }
	put := func(user, sid string, due time.Time) storage.ScheduledSend {
		t.Helper()
		sc := storage.ScheduledSend{User: user, ID: sid, DueAt: due, CreatedAt: day.Add(-time.Hour), Send: []byte("send " + sid)}
		must(t, s.PutScheduled(c, sc))
		return sc
	}
	put(ann, "a1", at(10*time.Minute))
	put(ann, "a2", at(5*time.Minute+123*time.Millisecond))
	put(ann, "a3", at(24*time.Hour+time.Minute))
	put(ben, "b1", at(7*time.Minute))
	// Rows of other runs may share the day: only these users' count.
	due := func(d, until time.Time) string {
		t.Helper()
		got, err := s.ScheduledDue(c, d, until, 1000)
		must(t, err)
		var out []string
		for _, sc := range got {
			if sc.User == ann || sc.User == ben {
				out = append(out, sc.ID)
			}
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		day, until time.Time
		want       string
	}{
		{day, at(5 * time.Minute), ""},
		{day, at(5*time.Minute + 123*time.Millisecond), "a2"},
		{day, at(time.Hour), "a2 b1 a1"},
		{day.Add(time.Hour), at(48 * time.Hour), "a2 b1 a1"}, // any time of the day names it
		{day.Add(24 * time.Hour), at(48 * time.Hour), "a3"},
		{day.Add(24 * time.Hour), at(24 * time.Hour), ""},
	} {
		if got := due(tc.day, tc.until); got != tc.want {
			t.Errorf("due on %v until %v: %q, want %q", tc.day, tc.until, got, tc.want)
		}
	}
	of, err := s.ScheduledOf(c, ann, 10)
	must(t, err)
	if len(of) != 3 || of[0].ID != "a1" || of[2].ID != "a3" || !of[1].DueAt.Equal(at(5*time.Minute+123*time.Millisecond)) ||
		!of[1].CreatedAt.Equal(day.Add(-time.Hour)) || !bytes.Equal(of[1].Send, []byte("send a2")) || of[1].User != ann {
		t.Fatalf("ann's: %+v", of)
	}
	if of, err := s.ScheduledOf(c, ann, 2); err != nil || len(of) != 2 {
		t.Fatalf("ann's, 2 at most: %d, %v", len(of), err)
	}

	// Scheduled again: one row, due at its new time only.
	put(ann, "a1", at(2*time.Minute))
	if got := due(day, at(time.Hour)); got != "a1 a2 b1" {
		t.Errorf("after moving a1: %q", got)
	}
	must(t, s.DeleteScheduled(c, ann, "a2"))
	must(t, s.DeleteScheduled(c, ann, "a2"))
	if got := due(day, at(time.Hour)); got != "a1 b1" {
		t.Errorf("after deleting a2: %q", got)
	}
	if of, err := s.ScheduledOf(c, ann, 10); err != nil || fmt.Sprint(len(of)) != "2" || slices.ContainsFunc(of, func(sc storage.ScheduledSend) bool { return sc.ID == "a2" }) {
		t.Errorf("ann's after deleting a2: %+v, %v", of, err)
	}

	wantErr(t, s.PutScheduled(c, storage.ScheduledSend{User: ann, ID: "x", DueAt: day}), storage.ErrInvalid)
	wantErr(t, s.PutScheduled(c, storage.ScheduledSend{User: ann, ID: "x", Send: []byte("s")}), storage.ErrInvalid)
	most := s.Limits().MaxScheduledSendBytes()
	must(t, s.PutScheduled(c, storage.ScheduledSend{User: ann, ID: "big", DueAt: day, Send: make([]byte, most)}))
	must(t, s.DeleteScheduled(c, ann, "big"))
	wantErr(t, s.PutScheduled(c, storage.ScheduledSend{User: ann, ID: "x", DueAt: day, Send: make([]byte, most+1)}), storage.ErrInvalid)
	_, err = s.ScheduledDue(c, day, day, 0)
	wantErr(t, err, storage.ErrInvalid)
	_, err = s.ScheduledOf(c, ann, 0)
	wantErr(t, err, storage.ErrInvalid)
}
