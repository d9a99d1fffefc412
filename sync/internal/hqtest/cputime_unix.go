//go:build unix

package hqtest

import (
	"time"

	"golang.org/x/sys/unix"
)

// ProcessCPU is the CPU time (user + system, all threads) this process has used so far.
// Benchmarks report CPU per record with it: unlike wall time it does not depend on the
// other work on a shared machine.
func ProcessCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
