package analytics

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidConfig is wrapped by every Config validation error.
var ErrInvalidConfig = errors.New("metrics: invalid config")

// Limits that keep the per-event work bounded.
const (
	maxWindowSpecs      = 16
	maxWindowsPerSpec   = 256 // Size/Slide: windows an event falls into
	maxDurationConfigMs = 1 << 40
)

// WindowSpec is one family of windows aligned to the Unix epoch: tumbling
// when Slide == Size, sliding (hopping) when Slide < Size.
type WindowSpec struct {
	Size  time.Duration
	Slide time.Duration
}

// Tumbling returns back-to-back windows of the given size.
func Tumbling(size time.Duration) WindowSpec { return WindowSpec{Size: size, Slide: size} }

// Sliding returns windows of the given size starting every slide.
func Sliding(size, slide time.Duration) WindowSpec { return WindowSpec{Size: size, Slide: slide} }

// IsTumbling reports whether the windows do not overlap.
func (w WindowSpec) IsTumbling() bool { return w.Slide == w.Size }

func (w WindowSpec) String() string {
	if w.IsTumbling() {
		return "tumbling " + w.Size.String()
	}
	return "sliding " + w.Size.String() + " by " + w.Slide.String()
}

// Config holds the engine's parameters. All durations are whole
// milliseconds, the precision the store keeps.
type Config struct {
	// FutureBound: an event whose event time is more than this ahead of its
	// server receive time is excluded and counted in FutureEvents.
	// Default 60 s.
	FutureBound time.Duration
	// OutOfOrderness (B) is how far event times may run backwards within a
	// conversation; watermarks trail the newest event time by B. Default 6 s.
	OutOfOrderness time.Duration
	// AllowedLateness (L) is the extra delay accepted beyond B before an
	// event is late. Default 0.
	AllowedLateness time.Duration
	// ReplyThreshold: a response time up to and including it is timely.
	// Default 60 s.
	ReplyThreshold time.Duration
	// SessionGap: messages at most this far apart in event time share a
	// session. Default 30 min.
	SessionGap time.Duration
	// Windows are the window families aggregated. Default tumbling 1 min
	// and 1 h.
	Windows []WindowSpec
	// Location aligns the tumbling families whose size divides a day to
	// local midnight in this IANA time zone (a desk reports per local day).
	// Other families stay aligned to the Unix epoch. Nil means UTC.
	Location *time.Location
}

// zoned reports whether windows need the time-zone database.
func (c Config) zoned() bool {
	return c.Location != nil && c.Location != time.UTC && c.Location.String() != "UTC"
}

// zoneName is the location as the snapshot records it; "" for UTC.
func (c Config) zoneName() string {
	if !c.zoned() {
		return ""
	}
	return c.Location.String()
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		FutureBound:     60 * time.Second,
		OutOfOrderness:  6 * time.Second,
		AllowedLateness: 0,
		ReplyThreshold:  60 * time.Second,
		SessionGap:      30 * time.Minute,
		Windows:         []WindowSpec{Tumbling(time.Minute), Tumbling(time.Hour)},
	}
}

// Validate reports the first problem with c, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	durs := []struct {
		name     string
		d        time.Duration
		positive bool
	}{
		{"FutureBound", c.FutureBound, false},
		{"OutOfOrderness", c.OutOfOrderness, false},
		{"AllowedLateness", c.AllowedLateness, false},
		{"ReplyThreshold", c.ReplyThreshold, false},
		{"SessionGap", c.SessionGap, true},
	}
	for _, d := range durs {
		if err := checkDuration(d.name, d.d, d.positive); err != nil {
			return err
		}
	}
	if len(c.Windows) == 0 {
		return fmt.Errorf("%w: no windows", ErrInvalidConfig)
	}
	if len(c.Windows) > maxWindowSpecs {
		return fmt.Errorf("%w: %d windows, at most %d", ErrInvalidConfig, len(c.Windows), maxWindowSpecs)
	}
	for i, w := range c.Windows {
		name := fmt.Sprintf("Windows[%d]", i)
		if err := checkDuration(name+".Size", w.Size, true); err != nil {
			return err
		}
		if err := checkDuration(name+".Slide", w.Slide, true); err != nil {
			return err
		}
		if w.Slide > w.Size {
			return fmt.Errorf("%w: %s slide %v is longer than its size %v", ErrInvalidConfig, name, w.Slide, w.Size)
		}
		if n := (w.Size + w.Slide - 1) / w.Slide; n > maxWindowsPerSpec {
			return fmt.Errorf("%w: %s puts each event in %d windows, at most %d", ErrInvalidConfig, name, n, maxWindowsPerSpec)
		}
		for j := range i {
			if c.Windows[j] == w {
				return fmt.Errorf("%w: %s repeats Windows[%d] (%v)", ErrInvalidConfig, name, j, w)
			}
		}
	}
	return nil
}

func checkDuration(name string, d time.Duration, positive bool) error {
	switch {
	case d < 0:
		return fmt.Errorf("%w: %s %v is negative", ErrInvalidConfig, name, d)
	case positive && d == 0:
		return fmt.Errorf("%w: %s must be positive", ErrInvalidConfig, name)
	case d%time.Millisecond != 0:
		return fmt.Errorf("%w: %s %v is not a whole number of milliseconds", ErrInvalidConfig, name, d)
	case d.Milliseconds() > maxDurationConfigMs:
		return fmt.Errorf("%w: %s %v is too long", ErrInvalidConfig, name, d)
	}
	return nil
}
