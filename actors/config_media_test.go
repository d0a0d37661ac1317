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
