package main

import (
	"maps"
	"testing"
)

// TestParseDays: the --day forms of `desk hours`, and the refusals.
func TestParseDays(t *testing.T) {
	week, err := parseDays([]string{"mon-fri=09:00-12:00,13:00-17:00", "sun=10:00-12:00"})
	want := map[string]string{"mon": "09:00-12:00,13:00-17:00", "tue": "09:00-12:00,13:00-17:00", "wed": "09:00-12:00,13:00-17:00",
		"thu": "09:00-12:00,13:00-17:00", "fri": "09:00-12:00,13:00-17:00", "sun": "10:00-12:00"}
	if err != nil || !maps.Equal(week, want) {
		t.Fatalf("parseDays: %v %v, want %v", week, err, want)
	}
	for _, bad := range [][]string{
		{"fri-mon=09:00-17:00"}, // backwards
		{"funday=09:00-17:00"},
		{"mon"}, // no intervals
		{"mon-fri=09:00-17:00", "fri=18:00-19:00"}, // twice
	} {
		if _, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) took it", bad)
		}
	}
}
