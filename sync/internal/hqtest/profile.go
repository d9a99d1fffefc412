package hqtest

import (
	"os"
	"runtime/pprof"
	"testing"
)

// EnvCPUProfile names a file for ProfileTimed: benchmarks whose setup (building a
// backlog, encoding bodies) would swamp `go test -cpuprofile` profile only their timed
// part into it.
const EnvCPUProfile = "HQ_BENCH_CPUPROFILE"

// ProfileTimed starts a CPU profile into $HQ_BENCH_CPUPROFILE (when set) and returns
// the function that stops it. The file is overwritten by each call: it holds the last
// timed run.
func ProfileTimed(b testing.TB) (stop func()) {
	path := os.Getenv(EnvCPUProfile)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
