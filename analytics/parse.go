package analytics

import (
	"fmt"
	"strings"
	"time"
)

// ParseWindow reads a window family as the flags and requests name it:
// SIZE (tumbling, "1h") or SIZE/SLIDE (sliding, "30s/15s").
func ParseWindow(s string) (WindowSpec, error) {
	size, slide, sliding := strings.Cut(s, "/")
	d, err := time.ParseDuration(size)
	if err != nil || d <= 0 {
		return WindowSpec{}, fmt.Errorf("window %q: want SIZE or SIZE/SLIDE, e.g. 1h or 30s/15s", s)
	}
	if !sliding {
		return Tumbling(d), nil
	}
	sl, err := time.ParseDuration(slide)
	if err != nil || sl <= 0 {
		return WindowSpec{}, fmt.Errorf("window %q: want SIZE or SIZE/SLIDE, e.g. 1h or 30s/15s", s)
	}
	return Sliding(d, sl), nil
}

// Flag names w as ParseWindow reads it ("1h0m0s", "30s/15s").
func (w WindowSpec) Flag() string {
	if w.IsTumbling() {
		return w.Size.String()
	}
	return w.Size.String() + "/" + w.Slide.String()
}
