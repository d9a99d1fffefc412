package posimport

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWatcherImportsSettledFilesAndMovesThem(t *testing.T) {
	h, rc := startHQ(t)
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	w := &Watcher{Dir: dir, Sink: NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Admin, RetryMax: -1}),
		Options: importOpts(), Settle: 10 * time.Second, Interval: time.Second, Metrics: m, Now: func() time.Time { return clock }}
	scan := func(advance time.Duration) int {
		t.Helper()
		clock = clock.Add(advance)
		n, err := w.Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	good := filepath.Join(dir, "20260601.csv")
	writeExport(t, good, exportSpec{Rows: 200, Customers: 10})
	// Being written: a partial file, then it grows.
	growing := filepath.Join(dir, "20260602.csv")
	writeExport(t, growing, exportSpec{Rows: 50, Customers: 10, Prefix: "Y"})
	if err := os.WriteFile(filepath.Join(dir, "broken.csv"), []byte("no,header,here\n1,2,3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ignored := range []string{"~$20260601.xlsx", ".hidden.csv", "notes.md", "x.csv.part"} {
		_ = os.WriteFile(filepath.Join(dir, ignored), []byte("x"), 0o600)
	}
	if n := scan(0); n != 0 {
		t.Fatalf("imported %d files at first sight", n)
	}
	if got := testutil.ToFloat64(m.pendingG); got != 3 {
		t.Errorf("pending %v", got)
	}
	writeExport(t, growing, exportSpec{Rows: 120, Customers: 10, Prefix: "Y"}) // still being written
	if n := scan(11 * time.Second); n != 2 {
		t.Fatalf("moved %d files, want the good and the broken one", n)
	}
	if rc.posts.Load() != 2 {
		t.Fatalf("%d posts", rc.posts.Load())
	}
	if n := scan(11 * time.Second); n != 1 {
		t.Fatalf("the settled file: moved %d", n)
	}
	rep, err := os.ReadFile(filepath.Join(dir, DoneDir, "20260601.csv.report.txt"))
	if err != nil || !strings.Contains(string(rep), "20260601.csv: 200 rows read, 200 added, 0 duplicates, 0 rejected") {
		t.Fatalf("done report: %v\n%s", err, rep)
	}
	if _, err := os.Stat(filepath.Join(dir, DoneDir, "20260602.csv")); err != nil {
		t.Fatal(err)
	}
	rep, err = os.ReadFile(filepath.Join(dir, FailedDir, "broken.csv.report.txt"))
	if err != nil || !strings.Contains(string(rep), "STOPPED: header row lacks sale_id") {
		t.Fatalf("failed report: %v\n%s", err, rep)
	}
	for _, name := range []string{"~$20260601.xlsx", ".hidden.csv", "notes.md", "x.csv.part"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was touched: %v", name, err)
		}
	}
	if testutil.ToFloat64(m.files.WithLabelValues("done")) != 2 || testutil.ToFloat64(m.files.WithLabelValues("failed")) != 1 ||
		testutil.ToFloat64(m.rowsTotal.WithLabelValues("added")) != 320 || testutil.ToFloat64(m.lastSuccess) == 0 ||
		testutil.ToFloat64(m.pendingG) != 0 {
		t.Fatalf("metrics: files done %v failed %v, added %v, last success %v",
			testutil.ToFloat64(m.files.WithLabelValues("done")), testutil.ToFloat64(m.files.WithLabelValues("failed")),
			testutil.ToFloat64(m.rowsTotal.WithLabelValues("added")), testutil.ToFloat64(m.lastSuccess))
	}

	// The same name again the next night: kept beside the first, not over it.
	writeExport(t, good, exportSpec{Rows: 200, Customers: 10})
	scan(0)
	if n := scan(11 * time.Second); n != 1 {
		t.Fatalf("second file of that name: %d", n)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, DoneDir, "20260601.*.csv"))
	if len(matches) != 1 {
		t.Fatalf("done/: %v", matches)
	}

	// HQ unavailable: the file stays, is tried again later and resumed.
	rc.setHook(func(n int32, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down", http.StatusBadGateway)
		return true
	})
	late := filepath.Join(dir, "20260603.csv")
	writeExport(t, late, exportSpec{Rows: 300, Customers: 10, Prefix: "Z"})
	scan(0)
	if n := scan(11 * time.Second); n != 0 {
		t.Fatalf("moved %d files while HQ was down", n)
	}
	if _, err := os.Stat(late); err != nil {
		t.Fatalf("the file left while HQ was down: %v", err)
	}
	if testutil.ToFloat64(m.files.WithLabelValues("retry")) != 1 || testutil.ToFloat64(m.lastFailure) == 0 {
		t.Fatal("retry not counted")
	}
	rc.setHook(nil)
	if n := scan(time.Second); n != 0 {
		t.Fatal("retried before its time")
	}
	if n := scan(10 * time.Second); n != 1 {
		t.Fatal("not retried")
	}
	if _, err := os.Stat(filepath.Join(dir, DoneDir, "20260603.csv")); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherRunStopsWithItsContext(t *testing.T) {
	h, _ := startHQ(t)
	dir := t.TempDir()
	writeExport(t, filepath.Join(dir, "a.csv"), exportSpec{Rows: 10, Customers: 3})
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{Dir: dir, Sink: NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Admin}), Options: importOpts(),
		Interval: 20 * time.Millisecond, Settle: -1}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.After(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, DoneDir, "a.csv")); err == nil {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the watcher did not import the file")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
}
