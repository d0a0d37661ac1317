package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/analytics"
)

// The metrics table shows a row's ratings: the count, the average score
// and the CSAT rate.
func TestPrintMetricsRatings(t *testing.T) {
	start := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	rep := analytics.Report{Rows: []analytics.Row{{Key: "line:cars", WindowStart: start, WindowEnd: start.Add(time.Hour),
		Ratings: 3, AvgRating: 11.0 / 3, Satisfied: 2, CSATRate: 2.0 / 3, Final: true}}}
	var out bytes.Buffer
	if err := printMetrics(&out, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(strings.Join(strings.Fields(lines[0]), " "), "AVG FIRST RESP RATINGS AVG RATING CSAT FINAL") {
		t.Fatalf("header %q", lines[0])
	}
	// Key, start, nine numbers before them, then ratings, average, CSAT, final.
	if row := strings.Fields(lines[1]); len(row) != 15 || row[11] != "3" || row[12] != "3.67" || row[13] != "66.7%" {
		t.Errorf("ratings columns in\n%s", out.String())
	}
}
