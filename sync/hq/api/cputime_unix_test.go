//go:build unix

package api

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is the CPU time this process has used (all threads).
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
