//go:build !linux

package store_test

import "time"

const threadCPUSupported = false

// threadCPU is not measured on this OS.
func threadCPU() time.Duration { return 0 }
