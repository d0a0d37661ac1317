package actors

import "testing"

// A file at the size limit must fit an hour's upload budget: a budget
// below the limit is raised to it; none (negative) stays none.
func TestUploadBudgetFitsAFile(t *testing.T) {
	for _, tc := range []struct{ perHour, want int64 }{{10, 100}, {100, 100}, {500, 500}, {-1, -1}} {
		c, err := (Config{MaxMediaBytes: 100, MediaBytesPerHour: tc.perHour}).withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if c.MediaBytesPerHour != tc.want {
			t.Errorf("budget %d with a limit of 100: %d, want %d", tc.perHour, c.MediaBytesPerHour, tc.want)
		}
	}
}

// A bound on forwards is none (0) or a count; a negative one is refused.
func TestForwardHopsBoundConfig(t *testing.T) {
	for _, n := range []int{0, 1, 255} {
		if _, err := (Config{MaxForwardHops: n}).withDefaults(); err != nil {
			t.Errorf("max forward hops %d: %v", n, err)
		}
	}
	if _, err := (Config{MaxForwardHops: -1}).withDefaults(); err == nil {
		t.Error("max forward hops -1: taken")
	}
}
