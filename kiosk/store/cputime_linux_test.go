package store_test

import (
	"time"

	"golang.org/x/sys/unix"
)

const threadCPUSupported = true

// threadCPU is the CPU time consumed by the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
