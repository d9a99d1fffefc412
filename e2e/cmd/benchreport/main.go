// Command benchreport runs every benchmark that has a goal and writes
// docs/benchmarks.md: the machine, the date, each figure beside its goal, and the ratios
// measured in the same run.
//
//	go run ./e2e/cmd/benchreport -out docs/benchmarks.md [-benchtime 1x] [-ui docs/ui-measure.json]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// goal is one figure with its target.
type goal struct {
	Bench  string  // benchmark name without -N suffix (sub-benchmarks with /)
	Unit   string  // metric unit as printed by go test (ns/op, p99-ms, records/s, …)
	Op     string  // "<=" or ">="
	Target float64 // in Unit
	Text   string  // the goal in words
	Issue  int
}

// ratio is a figure computed from two benchmarks of the same run.
type ratio struct {
	Name, Num, Den, Unit string
	Max                  float64
	Text                 string
	Issue                int
}

// suite says which packages hold which benchmarks.
type suite struct {
	Pkg, Pattern, Benchtime string
}

func main() {
	out := flag.String("out", "docs/benchmarks.md", "file to write")
	benchtime := flag.String("benchtime", "", "override -benchtime for every suite (e.g. 1x for a smoke run)")
	uiFile := flag.String("ui", "docs/ui-measure.json", "UI measurement written by `make measure` (optional)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *benchtime, *uiFile, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func suites() []suite {
	return []suite{
		{"./devices/", "^BenchmarkFrameToEvent$", "2s"},
		{"./flows/", "^BenchmarkAnalyze$", "2s"},
		{"./kiosk/store/", "^(BenchmarkScanToAlert|BenchmarkSaveVisit|BenchmarkBareBoltUpdate|BenchmarkSaveVisitVsBare)$", "3s"},
		{"./sync/drain/", "^BenchmarkDrain$", "1x"},
		{"./sync/hq/api/", "^(BenchmarkHistoryQuery|BenchmarkCompletionReport)$", "3s"},
		{"./sync/hq/pgstore/", "^BenchmarkIngestKiosks$", "1x"},
		{"./sync/hq/pgstore/", "^(BenchmarkHistoryQuery|BenchmarkCompletionReport)$", "3s"},
		{"./flows/effect/", "^(BenchmarkEffectReport|BenchmarkHealthReport)$", "3x"},
		{"./sync/hq/effectreport/", "^BenchmarkHQEffectReport$", "5x"},
		{"./sync/hq/posimport/", "^BenchmarkPOSImport$", "1x"},
	}
}

func goals() []goal {
	return []goal{
		{"BenchmarkFrameToEvent", "ns/op", "<=", 100_000, "well under 0.1 ms per frame (a 20-byte frame takes ~21 ms at 9600 baud)", 2},
		{"BenchmarkScanToAlert", "p99-ms", "<=", 2, "customer key → 90-day history (1 M purchases, 10 k customers) → analysis → alert, p99 ≤ 2 ms", 3},
		{"BenchmarkSaveVisitVsBare", "ratio", "<=", 1.3, "a visit save with its outbox entry vs a bare bbolt Update of the same bytes, timed interleaved in one run, ≤ 1.3×", 3},
		{"BenchmarkDrain/loopback", "records/s", ">=", 20_000, "100 k-record backlog drained kiosk→HQ over loopback, both sides fsync'ed, ≥ 20 000 records/s", 5},
		{"BenchmarkHistoryQuery/http", "p99-ms", "<=", 5, "history query with 10 M purchases at HQ, p99 ≤ 5 ms", 5},
		{"BenchmarkCompletionReport/chain-year-by-store", "ms/op", "<=", 200, "completion report for 200 stores × 1 year (~7 M visits) ≤ 200 ms", 5},
		{"BenchmarkIngestKiosks/postgres", "records/s", ">=", 20_000, "50 kiosks posting 500-record batches at once into PostgreSQL (fsync on) over HTTP, ≥ 20 000 records/s (bbolt beside it)", 10},
		{"BenchmarkHistoryQuery/pg-http", "p99-ms", "<=", 5, "history query with 10 M purchases on PostgreSQL over HTTP, p99 ≤ 5 ms", 10},
		{"BenchmarkCompletionReport/pg-chain-year-by-store", "ms/op", "<=", 300, "completion report for 5 000 stores × 1 year (≈ 170 M visits) on PostgreSQL ≤ 300 ms", 10},
		{"BenchmarkEffectReport/chain-year", "ns/op", "<=", 10e9, "effect report, 200 stores × 1 year (≈ 7 M visits, 10 M purchases), 3 classes, 1 000 resamples, from built facts, ≤ 10 s", 12},
		{"BenchmarkEffectReport/store-year", "ns/op", "<=", 500e6, "effect report for one store-year (34 k visits, 78 k purchase lines), facts built in the op, ≤ 500 ms", 12},
		{"BenchmarkHQEffectReport/store-year", "ns/op", "<=", 500e6, "a store-year's effect report as HQ serves it, facts read from its bbolt file in the op, ≤ 500 ms", 12},
		{"BenchmarkPOSImport/1M-rows", "import-s", "<=", 60, "1 M rows of GBK CSV imported into a running bbolt HQ through the API (importer a separate process) ≤ 60 s", 16},
	}
}

func ratios() []ratio {
	return []ratio{
		{"save visit / bare bbolt Update", "BenchmarkSaveVisit", "BenchmarkBareBoltUpdate", "ns/op", 1.3,
			"saving a visit (with its outbox entry) vs a bare bbolt Update of the same bytes, ≤ 1.3×", 3},
		{"POS import memory, 1 M / 100 k rows", "BenchmarkPOSImport/1M-rows", "BenchmarkPOSImport/100k-rows", "importer-peak-MB", 1.5,
			"the importer's peak RSS importing 1 M rows vs 100 k rows: memory flat (≤ 1.5×)", 16},
	}
}

// result is one parsed benchmark line.
type result struct {
	Name    string
	N       int64
	Metrics map[string]float64
}

func run(ctx context.Context, out, benchtime, uiFile string, log io.Writer) error {
	var all []result
	var raw bytes.Buffer
	for _, s := range suites() {
		bt := s.Benchtime
		if benchtime != "" {
			bt = benchtime
		}
		args := []string{"test", "-run", "^$", "-bench", s.Pattern, "-benchmem", "-benchtime", bt, "-timeout", "60m", s.Pkg}
		fmt.Fprintln(log, "benchreport: go", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "go", args...)
		var buf bytes.Buffer
		cmd.Stdout = io.MultiWriter(&buf, log)
		cmd.Stderr = log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("benchmarks in %s: %w", s.Pkg, err)
		}
		raw.Write(buf.Bytes())
		all = append(all, parse(buf.String())...)
	}
	md := render(all, raw.String(), readUI(uiFile), time.Now())
	old, err := os.ReadFile(out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", out, err)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, []byte(merge(string(old), md)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, out)
}

// Markers around the generated part of docs/benchmarks.md; the notes each area keeps
// below them (how a benchmark is built, earlier figures) are left as they are.
const (
	beginMark = "<!-- benchreport:begin (generated by make bench; edits here are overwritten) -->"
	endMark   = "<!-- benchreport:end -->"
)

// merge replaces the generated block of old (or puts it on top) and keeps the rest.
func merge(old, generated string) string {
	block := beginMark + "\n" + generated + endMark + "\n"
	i, j := strings.Index(old, beginMark), strings.Index(old, endMark)
	if i >= 0 && j > i {
		return old[:i] + block + old[j+len(endMark):]
	}
	rest := strings.TrimLeft(old, "\n")
	if strings.HasPrefix(rest, "# Benchmarks") { // an old title line: the block brings its own
		if k := strings.IndexByte(rest, '\n'); k >= 0 {
			rest = strings.TrimLeft(rest[k+1:], "\n")
		} else {
			rest = ""
		}
	}
	if rest == "" {
		return block
	}
	return block + "\n# Notes by area\n\n" + rest
}

// parse reads `go test -bench` output lines.
func parse(s string) []result {
	var rs []result
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		r := result{Name: trimProcs(f[0]), N: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			r.Metrics[f[i+1]] = v
		}
		if ns, ok := r.Metrics["ns/op"]; ok {
			r.Metrics["ms/op"] = ns / 1e6
		}
		rs = append(rs, r)
	}
	return rs
}

// trimProcs drops the -GOMAXPROCS suffix: BenchmarkX/sub-2 → BenchmarkX/sub.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

func find(rs []result, name, unit string) (float64, bool) {
	for _, r := range rs {
		if r.Name == name || strings.HasPrefix(r.Name, name+"/") {
			if v, ok := r.Metrics[unit]; ok {
				return v, true
			}
		}
	}
	return 0, false
}

// uiMeasure is what `make measure` writes.
type uiMeasure struct {
	KioskRSSKiB      float64 `json:"kiosk_rss_kib"`
	HelloRSSKiB      float64 `json:"hello_rss_kib"`
	KioskFirstFrameS float64 `json:"kiosk_first_frame_s"`
	HelloFirstFrameS float64 `json:"hello_first_frame_s"`
	When             string  `json:"when"`
}

func readUI(path string) *uiMeasure {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m uiMeasure
	if err := json.Unmarshal(b, &m); err != nil || m.HelloRSSKiB == 0 || m.HelloFirstFrameS == 0 {
		return nil
	}
	return &m
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func render(rs []result, raw string, ui *uiMeasure, now time.Time) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Benchmarks\n\nGenerated by `make bench` (`go run ./e2e/cmd/benchreport`) on %s.\n\n", now.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s, %s/%s, %d CPUs, %s, %s. ", host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
	b.WriteString("These are shared 2-core VMs whose fsync is unrealistically fast, so the ratios measured in the same run matter more than absolute times.\n\n")
	b.WriteString("| issue | benchmark | figure | goal | verdict |\n|---|---|---|---|---|\n")
	for _, g := range goals() {
		v, ok := find(rs, g.Bench, g.Unit)
		if !ok {
			fmt.Fprintf(&b, "| #%d | %s | not measured | %s | — |\n", g.Issue, g.Bench, g.Text)
			continue
		}
		met := v <= g.Target
		if g.Op == ">=" {
			met = v >= g.Target
		}
		fmt.Fprintf(&b, "| #%d | %s | %s %s | %s | %s |\n", g.Issue, g.Bench, fmtNum(v), g.Unit, g.Text, verdict(met))
	}
	for _, r := range ratios() {
		num, ok1 := find(rs, r.Num, r.Unit)
		den, ok2 := find(rs, r.Den, r.Unit)
		if !ok1 || !ok2 || den == 0 {
			fmt.Fprintf(&b, "| #%d | %s | not measured | %s | — |\n", r.Issue, r.Name, r.Text)
			continue
		}
		q := num / den
		fmt.Fprintf(&b, "| #%d | %s | %.2f× (%s / %s %s) | %s | %s |\n", r.Issue, r.Name, q, fmtNum(num), fmtNum(den), r.Unit, r.Text, verdict(q <= r.Max))
	}
	if ui != nil {
		mem := ui.KioskRSSKiB / ui.HelloRSSKiB
		ff := ui.KioskFirstFrameS / ui.HelloFirstFrameS
		fmt.Fprintf(&b, "| #4 | kiosk RSS / hello-world RSS | %.2f× (%.0f / %.0f KiB) | ≤ 1.15× | %s |\n", mem, ui.KioskRSSKiB, ui.HelloRSSKiB, verdict(mem <= 1.15))
		fmt.Fprintf(&b, "| #4 | kiosk / hello-world first frame | %.2f× (%.2f / %.2f s) | ≤ 1.3× | %s |\n", ff, ui.KioskFirstFrameS, ui.HelloFirstFrameS, verdict(ff <= 1.3))
	} else {
		b.WriteString("| #4 | kiosk memory and first frame vs hello world | measured under Xvfb by `make measure`: see \"Kiosk UI\" below | ≤ 1.15× memory, ≤ 1.3× first frame | see below |\n")
	}
	b.WriteString("\n## Raw output\n\n```\n")
	for _, line := range strings.Split(raw, "\n") {
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "goos") || strings.HasPrefix(line, "cpu") || strings.HasPrefix(line, "pkg") {
			b.WriteString(line + "\n")
		}
	}
	b.WriteString("```\n\nHow each benchmark is built (data generators, what is timed) is described in its package's doc comment and in docs/storage.md, docs/hq.md and docs/devices.md.\n")
	return b.String()
}

func fmtNum(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "cpu unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "cpu unknown"
}
