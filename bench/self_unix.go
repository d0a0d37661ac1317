//go:build unix

package bench

import (
	"syscall"
	"time"
)

// selfCPU is the CPU time (user + system) this process used so far: the
// report shows it so a reader can tell whether the bench was the bound.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
