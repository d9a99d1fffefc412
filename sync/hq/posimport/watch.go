package posimport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pharmachain/counter/flows/posexport"
)

// Watched file names: exports the POS or a person drops into the directory.
var watchedExt = map[string]bool{".csv": true, ".txt": true, ".tsv": true, ".xlsx": true}

// Subdirectories of a watched directory.
const (
	DoneDir   = "done"
	FailedDir = "failed"
)

// Watcher imports each export dropped into Dir once it is written completely (its size
// and modification time unchanged for Settle), then moves it to Dir/done (read to the
// end; rejected rows are in its report) or Dir/failed (the file could not be imported:
// unreadable, no header, HQ refused it), with NAME.report.txt beside it. A file HQ could
// not take for want of HQ (unreachable, 5xx, token refused) stays where it is and is
// tried again next round, resuming from its checkpoint.
type Watcher struct {
	Dir      string
	Sink     Sink
	Options  Options       // per-file import options (NoResume is honoured)
	Interval time.Duration // how often the directory is looked at [5 s]
	Settle   time.Duration // how long a file must stay unchanged [10 s]
	Metrics  *Metrics      // optional
	Logger   *slog.Logger  // [discard]
	Now      func() time.Time

	seen map[string]fileSeen
}

type fileSeen struct {
	size    int64
	mod     time.Time
	since   time.Time // when this size and time were first seen
	retryAt time.Time // HQ was unavailable: not before then
}

// Run looks at the directory every Interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	w.defaults()
	if err := w.prepare(); err != nil {
		return err
	}
	w.Logger.Info("posimport: watching", "dir", w.Dir, "interval", w.Interval, "settle", w.Settle)
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if _, err := w.Scan(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Error("posimport: scan", "dir", w.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *Watcher) defaults() {
	if w.Interval <= 0 {
		w.Interval = 5 * time.Second
	}
	if w.Settle < 0 {
		w.Settle = 0
	} else if w.Settle == 0 {
		w.Settle = 10 * time.Second
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.seen == nil {
		w.seen = map[string]fileSeen{}
	}
	if w.Options.Logger == nil {
		w.Options.Logger = w.Logger
	}
}

func (w *Watcher) prepare() error {
	for _, d := range []string{DoneDir, FailedDir} {
		if err := os.MkdirAll(filepath.Join(w.Dir, d), 0o750); err != nil {
			return fmt.Errorf("watch %s: %w", w.Dir, err)
		}
	}
	return nil
}

// Scan looks at the directory once and imports the files that have settled, in name
// order. It returns how many files it moved to done/ or failed/.
func (w *Watcher) Scan(ctx context.Context) (int, error) {
	w.defaults()
	if err := w.prepare(); err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		return 0, fmt.Errorf("watch %s: %w", w.Dir, err)
	}
	now := w.Now()
	present := map[string]bool{}
	var ready []string
	pending := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !watched(name) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		present[name] = true
		pending++
		s, ok := w.seen[name]
		if !ok || s.size != fi.Size() || !s.mod.Equal(fi.ModTime()) {
			w.seen[name] = fileSeen{size: fi.Size(), mod: fi.ModTime(), since: now, retryAt: s.retryAt}
			continue
		}
		if now.Sub(s.since) >= w.Settle && !now.Before(s.retryAt) {
			ready = append(ready, name)
		}
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
	w.Metrics.pending(pending)
	sort.Strings(ready)
	moved := 0
	for _, name := range ready {
		if ctx.Err() != nil {
			return moved, ctx.Err()
		}
		ok, err := w.importOne(ctx, name)
		if ok {
			moved++
			delete(w.seen, name)
			w.Metrics.pending(pending - moved)
		}
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// watched reports whether a name is an export to import: a known extension, not hidden,
// not a temporary or lock file, not a report.
func watched(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") || strings.HasSuffix(name, ".report.txt") {
		return false
	}
	return watchedExt[strings.ToLower(filepath.Ext(name))]
}

// importOne imports one settled file and moves it. moved says whether it left the
// directory; err is only for what stops the watcher's round (ctx, a move failing).
func (w *Watcher) importOne(ctx context.Context, name string) (moved bool, err error) {
	path := filepath.Join(w.Dir, name)
	start := w.Now()
	rep, ierr := Import(ctx, path, w.Sink, w.Options)
	if ctx.Err() != nil {
		return false, ctx.Err() // stopped: the checkpoint resumes it next time
	}
	w.Metrics.rows(rep)
	if errors.Is(ierr, ErrUnavailable) {
		s := w.seen[name]
		s.retryAt = w.Now().Add(w.Interval * 6)
		w.seen[name] = s
		w.Metrics.result("retry", start)
		w.Logger.Warn("posimport: HQ unavailable, the file stays and is resumed later", "file", name, "err", ierr)
		return false, nil
	}
	dest := DoneDir
	if ierr != nil {
		dest = FailedDir
	}
	target, err := w.place(dest, name)
	if err != nil {
		return false, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "imported %s by hq import-purchases --watch, %s\n", start.Format(time.RFC3339), dest)
	if err := rep.WriteText(&b); err != nil {
		return false, err
	}
	if err := writeFileAtomic(target+".report.txt", []byte(b.String())); err != nil {
		return false, fmt.Errorf("report of %s: %w", name, err)
	}
	if err := os.Rename(path, target); err != nil {
		return false, fmt.Errorf("move %s to %s/: %w", name, dest, err)
	}
	_ = os.Remove(StatePath(path))
	w.Metrics.result(dest, start)
	if ierr != nil {
		w.Logger.Error("posimport: file failed", "file", name, "moved_to", target, "err", ierr)
	} else {
		w.Logger.Info("posimport: file done", "file", name, "moved_to", target)
	}
	return true, nil
}

// place picks Dir/dest/NAME, or NAME with the time before its extension when a file of
// that name is there already.
func (w *Watcher) place(dest, name string) (string, error) {
	target := filepath.Join(w.Dir, dest, name)
	if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
		return target, nil
	}
	ext := filepath.Ext(name)
	stamp := w.Now().Format("20060102T150405.000")
	return filepath.Join(w.Dir, dest, strings.TrimSuffix(name, ext)+"."+stamp+ext), nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Metrics are the watcher's Prometheus series (served by `hq import-purchases --watch
// --metrics-addr`).
type Metrics struct {
	files       *prometheus.CounterVec
	rowsTotal   *prometheus.CounterVec
	unknown     prometheus.Counter
	lastSuccess prometheus.Gauge
	lastFailure prometheus.Gauge
	lastRun     prometheus.Gauge
	pendingG    prometheus.Gauge
}

// NewMetrics registers the watcher's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hq_posimport_files_total",
			Help: "POS export files handled by the watcher, by result: done, failed, retry (HQ unavailable, left in place)."}, []string{"result"}),
		rowsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hq_posimport_rows_total",
			Help: "Rows of imported files by outcome: added, duplicate, resumed (stored by an interrupted run), rejected."}, []string{"outcome"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{Name: "hq_posimport_unknown_code_rows_total",
			Help: "Imported rows whose drug code HQ's catalog does not know."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hq_posimport_last_success_timestamp_seconds",
			Help: "When the watcher last moved a file to done/ (Unix time; 0: never)."}),
		lastFailure: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hq_posimport_last_failure_timestamp_seconds",
			Help: "When the watcher last moved a file to failed/ or left one for HQ being unavailable (Unix time; 0: never)."}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hq_posimport_last_file_duration_seconds",
			Help: "How long the last file took to import."}),
		pendingG: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hq_posimport_pending_files",
			Help: "Export files waiting in the watched directory."}),
	}
	for _, c := range []prometheus.Collector{m.files, m.rowsTotal, m.unknown, m.lastSuccess, m.lastFailure, m.lastRun, m.pendingG} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{DoneDir, FailedDir, "retry"} {
		m.files.WithLabelValues(r)
	}
	for _, o := range []string{"added", "duplicate", "resumed", "rejected"} {
		m.rowsTotal.WithLabelValues(o)
	}
	return m, nil
}

func (m *Metrics) result(r string, start time.Time) {
	if m == nil {
		return
	}
	m.files.WithLabelValues(r).Inc()
	now := time.Now()
	if r == DoneDir {
		m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
	} else {
		m.lastFailure.Set(float64(now.UnixNano()) / 1e9)
	}
	m.lastRun.Set(now.Sub(start).Seconds())
}

func (m *Metrics) rows(rep *posexport.Report) {
	if m == nil || rep == nil {
		return
	}
	m.rowsTotal.WithLabelValues("added").Add(float64(rep.Imported))
	m.rowsTotal.WithLabelValues("duplicate").Add(float64(rep.Duplicates))
	m.rowsTotal.WithLabelValues("resumed").Add(float64(rep.Resumed))
	m.rowsTotal.WithLabelValues("rejected").Add(float64(rep.Rejected))
	m.unknown.Add(float64(rep.UnknownCodes))
}

func (m *Metrics) pending(n int) {
	if m == nil {
		return
	}
	m.pendingG.Set(float64(n))
}
