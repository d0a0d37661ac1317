package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/analytics"
)

// The metrics table shows a row's desk-session first responses (how many
// and their average), the sessions resolved, the average handle time
// and the sessions missed, and its ratings: the count, the average score and the CSAT rate.
func TestPrintMetricsRatings(t *testing.T) {
	start := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	rep := analytics.Report{Rows: []analytics.Row{{Key: "line:cars", WindowStart: start, WindowEnd: start.Add(time.Hour),
		DeskFirstResponses: 2, AvgDeskFirstResponseMs: 54e6, DeskHandled: 3, DeskResolved: 2, AvgHandleMs: 90000, DeskMissed: 4,
		Ratings: 3, AvgRating: 11.0 / 3, Satisfied: 2, CSATRate: 2.0 / 3, Final: true}}}
	var out bytes.Buffer
	if err := printMetrics(&out, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(strings.Join(strings.Fields(lines[0]), " "), "AVG FIRST RESP DESK FIRSTS AVG DESK FIRST RESOLVED AVG HANDLE MISSED RATINGS AVG RATING CSAT FINAL") {
		t.Fatalf("header %q", lines[0])
	}
	// Key, start, nine numbers before them, then the desk's first
	// responses and their average, resolved, handle time, missed,
	// ratings, average, CSAT, final.
	if row := strings.Fields(lines[1]); len(row) != 20 || row[11] != "2" || row[12] != "15h0m0s" || row[13] != "2" || row[14] != "1m30s" ||
		row[15] != "4" || row[16] != "3" || row[17] != "3.67" || row[18] != "66.7%" {
		t.Errorf("desk first response and ratings columns in\n%s", out.String())
	}
}
