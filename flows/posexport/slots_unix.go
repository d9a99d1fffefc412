//go:build unix

package posexport

import (
	"syscall"
	"unsafe"
)

// offHeapMin is the table size (bytes) from which the line index lives outside the Go
// heap: the garbage collector sizes its headroom on the live heap, so a large
// pointer-free table there would cost about twice its size in memory.
const offHeapMin = 4 << 20

// allocSlots returns a zeroed table of n slots, and the anonymous mapping holding it
// (nil: an ordinary heap slice).
func allocSlots(n int) ([]uint64, []byte) {
	if n*8 < offHeapMin {
		return make([]uint64, n), nil
	}
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n), nil
	}
	// A mapping is page-aligned, so it is aligned for uint64.
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), b
}

func unmap(b []byte) { _ = syscall.Munmap(b) }
