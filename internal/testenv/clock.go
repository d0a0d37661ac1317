package testenv

import (
	"sync/atomic"
	"time"
)

// SettableClock is the real time until set fixes it at a time: the clock
// a test hands to code that takes one (actors.Config.Now), to step past a
// bound without waiting for it. Safe for concurrent use.
func SettableClock() (clock func() time.Time, set func(time.Time)) {
	var at atomic.Pointer[time.Time]
	return func() time.Time {
			if p := at.Load(); p != nil {
				return *p
			}
			return time.Now()
		}, func(t time.Time) {
			at.Store(&t)
		}
}
