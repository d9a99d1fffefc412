//go:build !linux

package pgtest

import (
	"errors"
	"time"
)

// CPUTime needs Linux's /proc; elsewhere it reports an error.
func (c *Cluster) CPUTime() (time.Duration, error) {
	return 0, errors.New("pgtest: server CPU time is read from /proc (Linux only)")
}
