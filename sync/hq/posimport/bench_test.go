//go:build linux

package posimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// childEnv makes the test binary the importer of BenchmarkPOSImport (TestBenchImporter).
const childEnv = "POSIMPORT_BENCH_CHILD"

// childResult is what the importer process reports.
type childResult struct {
	Rows, Added, Rejected int
	Seconds               float64
	Err                   string
}

// TestBenchImporter is BenchmarkPOSImport's importer process: it imports the file in
// $POSIMPORT_BENCH_CHILD ("URL TOKEN FILE") into HQ and prints a childResult. Skipped
// in a normal test run.
func TestBenchImporter(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("only as BenchmarkPOSImport's importer process")
	}
	f := strings.SplitN(spec, " ", 3)
	start := time.Now()
	rep, err := Import(context.Background(), f[2], NewHTTPSink(HTTPConfig{BaseURL: f[0], Token: f[1]}),
		Options{Secret: testSecret, NoResume: true})
	res := childResult{Rows: rep.Rows, Added: rep.Imported, Rejected: rep.Rejected, Seconds: time.Since(start).Seconds()}
	if err != nil {
		res.Err = err.Error()
	}
	b, _ := json.Marshal(res)
	fmt.Printf("BENCHCHILD %s\n", b)
}

// benchFile is a GBK export of n rows (100 k customers, 50 stores), made once into
// $POSIMPORT_BENCH_CACHE (default: the system temp dir) and reused.
func benchFile(b *testing.B, n int) string {
	dir := os.Getenv("POSIMPORT_BENCH_CACHE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "posimport-bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("gbk-%d-v1.csv", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp"
	writeExport(b, tmp, exportSpec{Rows: n, Customers: 100_000, Stores: 50})
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakRSS reads this process's VmHWM in MB; resetPeak starts it again (Linux).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

func resetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkPOSImport imports a GBK CSV export through a running HQ's API: HQ is a real
// bbolt file (fsync on every commit) served over loopback in this process; the importer
// is a separate process (this test binary as TestBenchImporter), so its peak RSS is its
// own. Metrics: rows/s, import-s (the importer's wall time for the file), the CPU
// seconds of each side, importer-peak-MB, hq-peak-MB (bbolt's mapped file included) and
// the load average at the end (other work on the machine slows the wall time). 100k-rows is the baseline of the memory ratio: flat
// memory means the 1M-rows importer peaks no higher. POSIMPORT_BENCH_ROWS overrides the
// large size.
func BenchmarkPOSImport(b *testing.B) {
	large := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("POSIMPORT_BENCH_ROWS")); err == nil && v > 0 {
		large = v
	}
	for _, n := range []int{100_000, large} {
		name := fmt.Sprintf("%dk-rows", n/1000)
		if n >= 1_000_000 && n%1_000_000 == 0 {
			name = fmt.Sprintf("%dM-rows", n/1_000_000)
		}
		b.Run(name, func(b *testing.B) {
			path := benchFile(b, n)
			var secs, imp, hqMB, impCPU, hqCPU float64
			for range b.N {
				b.StopTimer()
				h := hqtest.Start(b, api.Options{}, "S001")
				resetPeak()
				cpu0 := selfCPU()
				b.StartTimer()
				res, rss, cpu := runImporter(b, h.URL, h.Admin, path)
				b.StopTimer()
				if res.Err != "" || res.Added != n {
					b.Fatalf("import: %+v", res)
				}
				secs += res.Seconds
				impCPU += cpu
				hqCPU += selfCPU() - cpu0
				imp = max(imp, rss)
				hqMB = max(hqMB, peakRSS())
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/secs, "rows/s")
			b.ReportMetric(secs/float64(b.N), "import-s")
			b.ReportMetric(impCPU/float64(b.N), "importer-cpu-s")
			b.ReportMetric(hqCPU/float64(b.N), "hq-cpu-s")
			b.ReportMetric(imp, "importer-peak-MB")
			b.ReportMetric(hqMB, "hq-peak-MB")
			b.ReportMetric(loadAvg(), "loadavg")
		})
	}
}

// selfCPU is this process's user + system CPU time so far, in seconds (HQ's side).
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// loadAvg is the machine's 1-minute load average when the run ends: on a shared
// 2-core machine the wall time depends on it, the CPU seconds do not.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

// runImporter runs the importer process and returns its result, peak RSS (MB) and CPU
// time (s).
func runImporter(b *testing.B, url, token, path string) (childResult, float64, float64) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchImporter$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+url+" "+token+" "+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("importer: %v\n%s", err, out.String())
	}
	var res childResult
	sc := bufio.NewScanner(&out)
	found := false
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "BENCHCHILD "); ok {
			found = json.Unmarshal([]byte(line), &res) == nil
		}
	}
	if !found {
		b.Fatalf("importer said:\n%s", out.String())
	}
	var rss, cpu float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // KiB on Linux
		cpu = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return res, rss, cpu
}
