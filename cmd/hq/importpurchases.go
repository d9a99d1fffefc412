package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/flows/posexport"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/posimport"
)

// errRowsRejected makes the exit status non-zero when some rows were skipped.
var errRowsRejected = errors.New("rows rejected")

// runImportPurchases imports POS exports (CSV/TSV in UTF-8, GBK or UTF-16, or .xlsx):
//
//	hq import-purchases --hq URL --token T [--secret-file F] [--store ID] [reader flags] [--dry-run] FILE
//	hq import-purchases --data DIR          [--secret-file F] [--store ID] [--catalog FILE] … FILE   (HQ stopped)
//	hq import-purchases --watch DIR --hq URL --token T [--interval D] [--settle D] [--metrics-addr A] …
//
// Raw ID numbers are validated and hashed into customer keys here, as each row is read;
// only keys are sent or stored, and the report never quotes them.
func runImportPurchases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import-purchases", stderr)
	target := addAdminTarget(fs)
	tokenFile := fs.String("token-file", "", "read the --token from this file (keeps it out of the process list; systemd unit)")
	secretFile := fs.String("secret-file", "", "chain secret file (needed when the file holds raw ID numbers)")
	storeID := fs.String("store", "", "store id for rows without a store_id column")
	catalogFile := fs.String("catalog", "", "drug catalog JSON for --data and --dry-run (default: the embedded catalog)")
	encoding := fs.String("encoding", "auto", "text encoding: auto (UTF-8, else GB18030; a byte-order mark decides), utf-8, gbk/gb18030, utf-16le, utf-16be")
	columns := fs.String("columns", "", `JSON file naming the file's header for our columns: {"sale_id": "单据号"}`)
	sheet := fs.String("sheet", "", ".xlsx: the sheet to read (default: the first)")
	dryRun := fs.Bool("dry-run", false, "read and check the whole file and print the report; store nothing")
	noResume := fs.Bool("no-resume", false, "do not keep or use the checkpoint .FILE.import-state")
	retries := fs.Int("retries", 8, "--hq: retries of one batch (backoff 0.5 s doubling to 30 s, Retry-After honoured) before the import stops")
	watch := fs.String("watch", "", "import every export dropped into this directory (runs until stopped)")
	interval := fs.Duration("interval", 5*time.Second, "--watch: how often the directory is looked at")
	settle := fs.Duration("settle", 10*time.Second, "--watch: how long a file must stay unchanged before it is imported")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9466", "--watch: serve the watcher's Prometheus /metrics here (empty: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hq import-purchases (--hq URL --token T | --data DIR | --db URL) [--secret-file F] [--store ID] [--catalog FILE]")
		fmt.Fprintln(stderr, "         [--encoding E] [--columns FILE] [--sheet NAME] [--dry-run] [--no-resume] FILE.csv|FILE.txt|FILE.xlsx")
		fmt.Fprintln(stderr, "       hq import-purchases --watch DIR --hq URL (--token T | --token-file F) [--secret-file F] [--store ID] [--interval 5s] [--settle 10s] [--metrics-addr HOST:PORT]")
		fmt.Fprintln(stderr, "formats, header aliases, mapping file: docs/hq.md \"POS import\"; the nightly routine: docs/operations.md")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *watch != "" && fs.NArg() != 0:
		return fmt.Errorf("%w: import-purchases --watch DIR takes no FILE", errUsage)
	case *watch == "" && fs.NArg() != 1:
		return fmt.Errorf("%w: import-purchases: want exactly one FILE, got %d arguments", errUsage, fs.NArg())
	case *watch != "" && *target.base == "":
		return fmt.Errorf("%w: import-purchases --watch needs a running HQ: --hq URL --token T", errUsage)
	case *watch != "" && *dryRun:
		return fmt.Errorf("%w: import-purchases: --watch and --dry-run do not go together", errUsage)
	}
	if *tokenFile != "" {
		if *target.token != "" {
			return fmt.Errorf("%w: import-purchases: give --token or --token-file, not both", errUsage)
		}
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("import-purchases: --token-file: %w", err)
		}
		*target.token = strings.TrimSpace(string(b))
	}
	if !*dryRun || *target.dir != "" || *target.db != "" || *target.base != "" {
		if err := target.check(); err != nil {
			return err
		}
	}
	opt := posimport.Options{DryRun: *dryRun, NoResume: *noResume, Progress: stderr,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	var err error
	if opt.Reader.Encoding, err = posexport.ParseEncoding(*encoding); err != nil {
		return fmt.Errorf("%w: import-purchases: --encoding: %v", errUsage, err)
	}
	opt.Reader.Store, opt.Reader.Sheet = *storeID, *sheet
	if *columns != "" {
		cf, err := os.Open(*columns)
		if err != nil {
			return fmt.Errorf("import-purchases: --columns: %w", err)
		}
		opt.Reader.Columns, err = posexport.ParseColumns(cf)
		cf.Close()
		if err != nil {
			return fmt.Errorf("import-purchases: --columns %s: %w", filepath.Base(*columns), err)
		}
	}
	if *secretFile != "" {
		if opt.Secret, err = customerkey.LoadSecret(*secretFile); err != nil {
			return fmt.Errorf("import-purchases: %w", err)
		}
	}
	// The catalog: HQ's own when importing through it; this one offline and for a dry
	// run's unknown-code count.
	if !target.online() || *dryRun {
		data, err := domainData(*catalogFile, "")
		if err != nil {
			return err
		}
		opt.Catalog = data.Catalog
	}

	var sink posimport.Sink
	var st hq.Store // offline
	switch {
	case *dryRun:
	case target.online():
		r := *retries
		if r <= 0 {
			r = -1 // none
		}
		sink = posimport.NewHTTPSink(posimport.HTTPConfig{BaseURL: *target.base, Token: *target.token, RetryMax: r, Logger: opt.Logger})
	default:
		if st, err = target.open(ctx, false); err != nil {
			return err
		}
		sink = posimport.StoreSink{Store: st, Catalog: opt.Catalog}
	}

	if *watch != "" {
		opt.Progress = nil
		opt.Logger = slog.New(slog.NewTextHandler(stderr, nil))
		return runImportWatch(ctx, *watch, sink, opt, *interval, *settle, *metricsAddr, opt.Logger)
	}

	path := fs.Arg(0)
	rep, err := posimport.Import(ctx, path, sink, opt)
	if werr := rep.WriteText(stdout); werr != nil && err == nil {
		err = werr
	}
	if st != nil {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	switch {
	case errors.Is(err, posimport.ErrUnavailable):
		return fmt.Errorf("import-purchases: %w (what HQ accepted is kept; run the same command again to resume)", err)
	case err != nil:
		return fmt.Errorf("import-purchases: %w (re-running is safe: nothing is imported twice)", err)
	case rep.Rejected > 0:
		return fmt.Errorf("import-purchases: %d %w (see the report above), the rest imported", rep.Rejected, errRowsRejected)
	}
	return nil
}

// runImportWatch is the --watch routine: the watcher until ctx ends (SIGTERM), with its
// metrics served on metricsAddr.
func runImportWatch(ctx context.Context, dir string, sink posimport.Sink, opt posimport.Options,
	interval, settle time.Duration, metricsAddr string, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	m, err := posimport.NewMetrics(reg)
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("import-purchases: --metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("posimport: metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	if settle <= 0 {
		settle = -1 // imported as soon as seen twice unchanged
	}
	w := &posimport.Watcher{Dir: dir, Sink: sink, Options: opt, Interval: interval, Settle: settle, Metrics: m, Logger: log}
	return w.Run(ctx)
}
