//go:build linux

package devices

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// eviocgrab is EVIOCGRAB, _IOW('E', 0x90, int): exclusive access to an input device.
const eviocgrab = 0x40044590

// openEvdev opens an input device and, with grab, takes it for this process alone so its
// keys no longer reach the desktop (released when the file is closed).
func openEvdev(path string, grab bool) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !grab {
		return f, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, eviocgrab, 1)
	}); err != nil {
		f.Close()
		return nil, err
	}
	switch errno {
	case 0:
		return f, nil
	case syscall.ENOTTY, syscall.EINVAL:
		f.Close()
		return nil, fmt.Errorf("%w: %s (EVIOCGRAB: %v); use /dev/input/by-id/…-event-kbd", ErrNotInputDevice, path, errno)
	case syscall.EBUSY:
		f.Close()
		return nil, fmt.Errorf("%s is grabbed by another program (EVIOCGRAB: %v)", path, errno)
	default:
		f.Close()
		return nil, fmt.Errorf("grab %s: %v", path, errno)
	}
}
