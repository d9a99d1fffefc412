//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package secretin

import "os"

// noEcho cannot turn echo off here: the prompt reads a line as typed.
func noEcho(f *os.File) (restore func(), ok bool) { return nil, false }
