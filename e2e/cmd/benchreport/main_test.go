package main

import (
	"strings"
	"testing"
	"time"
)

const sample = `goos: linux
BenchmarkFrameToEvent-2     1000000     1520 ns/op     480 B/op    9 allocs/op
BenchmarkScanToAlert-2      5000        310000 ns/op   0.25 p50-ms   3.5 p99-ms
BenchmarkSaveVisit-2        2000        130000 ns/op
BenchmarkBareBoltUpdate-2   2000        100000 ns/op
BenchmarkDrain/loopback-2   1           9000000000 ns/op   25000 records/s
PASS
`

func TestParseAndRender(t *testing.T) {
	rs := parse(sample)
	if len(rs) != 5 {
		t.Fatalf("parsed %d results, want 5", len(rs))
	}
	if v, ok := find(rs, "BenchmarkScanToAlert", "p99-ms"); !ok || v != 3.5 {
		t.Fatalf("p99 = %v %v", v, ok)
	}
	md := render(rs, sample, &uiMeasure{KioskRSSKiB: 110, HelloRSSKiB: 100, KioskFirstFrameS: 1.5, HelloFirstFrameS: 1}, time.Unix(0, 0))
	for _, want := range []string{
		"| #2 | BenchmarkFrameToEvent | 1520 ns/op |",        // figure shown
		"BenchmarkScanToAlert | 3.500 p99-ms | customer key", // p99 over the goal…
		"**missed**",                      // …is reported as missed
		"| 1.30× (130000 / 100000 ns/op)", // ratio from the same run
		"BenchmarkHistoryQuery/http | not measured",
		"| 25000 records/s |",
		"first frame | 1.50×",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{"BenchmarkX-2": "BenchmarkX", "BenchmarkX/a-b-16": "BenchmarkX/a-b", "BenchmarkY": "BenchmarkY"} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMergeKeepsNotes(t *testing.T) {
	notes := "\n## Devices\n\nhow it is built\n"
	first := merge(notes, "# Benchmarks\n\nfigures v1\n")
	if !strings.HasPrefix(first, beginMark) || !strings.Contains(first, "figures v1") || !strings.Contains(first, "## Devices\n\nhow it is built") {
		t.Fatalf("first merge:\n%s", first)
	}
	second := merge(first, "# Benchmarks\n\nfigures v2\n")
	if strings.Contains(second, "figures v1") || !strings.Contains(second, "figures v2") || strings.Count(second, "## Devices") != 1 || strings.Count(second, beginMark) != 1 {
		t.Fatalf("second merge:\n%s", second)
	}
}
