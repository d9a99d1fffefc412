//go:build !linux

package devices

import (
	"errors"
	"io"
)

// openEvdev: input devices are read directly on Linux only; elsewhere keyboard-wedge
// scanners are detected by timing in the window.
func openEvdev(string, bool) (io.ReadCloser, error) {
	return nil, errors.New("--wedge-device is supported on Linux only (elsewhere the window tells scans by timing)")
}
