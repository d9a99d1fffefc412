//go:build !unix

package posexport

func allocSlots(n int) ([]uint64, []byte) { return make([]uint64, n), nil }

func unmap([]byte) {}
