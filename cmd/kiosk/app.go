package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/measure"
)

// AppID is the Fyne application id (FyneApp.toml).
const AppID = "com.pharmachain.counter"

// appFlags are the counter app's command-line flags.
type appFlags struct {
	cfg     counter.Config
	measure string // hidden: write startup measurements to this file and quit
	verbose bool
}

// printAppUsage prints the counter app's flags (part of `kiosk --help`).
func printAppUsage(w io.Writer) {
	fmt.Fprintln(w)
	_, _ = parseAppFlags([]string{"-h"}, w)
}

// parseAppFlags parses the counter app's flags; they override the settings stored in
// the data directory.
func parseAppFlags(args []string, stderr io.Writer) (appFlags, error) {
	var f appFlags
	fs := flag.NewFlagSet("kiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.cfg.DataDir, "data", defaultDataDir(), "data directory (store, settings, exports)")
	fs.StringVar(&f.cfg.Port, "port", "", "serial port of the scanner / card reader, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…")
	fs.IntVar(&f.cfg.Baud, "baud", 0, "serial baud rate (default 9600)")
	fs.StringVar(&f.cfg.HQURL, "hq", "", "HQ base URL, e.g. https://hq.example.cn")
	fs.StringVar(&f.cfg.StoreID, "store", "", "this store's id, e.g. S001")
	fs.StringVar(&f.cfg.Token, "token", "", "the store's HQ bearer token")
	fs.StringVar(&f.cfg.SecretFile, "secret-file", "", "chain secret file (customer keys)")
	fs.BoolVar(&f.cfg.Fullscreen, "fullscreen", false, "kiosk mode: full screen, closed only from the manager view")
	fs.DurationVar(&f.cfg.LockAfter, "lock-after", 0, "lock the screen after this long idle (default 5m)")
	fs.BoolVar(&f.verbose, "v", false, "debug logging")
	fs.StringVar(&f.measure, "measure", "", "")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk [flags]   (the counter app; flags override the saved settings)")
		fs.VisitAll(func(fl *flag.Flag) {
			if fl.Usage == "" {
				return // hidden
			}
			fmt.Fprintf(stderr, "  --%-12s %s\n", fl.Name, fl.Usage)
		})
		fmt.Fprintln(stderr, "Keys: 1–9 choose, Enter confirm/next, Backspace back, Esc abandon the visit (see docs/ui.md).")
	}
	if err := parseFlags(fs, args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if f.cfg.Baud < 0 || f.cfg.LockAfter < 0 {
		return f, fmt.Errorf("%w: --baud and --lock-after must not be negative", errUsage)
	}
	return f, nil
}

func defaultDataDir() string {
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "pharmachain-kiosk")
	}
	return "kiosk-data"
}

// runApp starts the counter app (the Fyne window).
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseAppFlags(args, stderr)
	if err != nil {
		return err
	}
	return startApp(ctx, f, stderr, nil)
}

// startApp runs the counter app with parsed flags; demo is nil in the production kiosk.
func startApp(ctx context.Context, f appFlags, stderr io.Writer, demo kiosk.Demo) error {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	a := app.NewWithID(AppID)
	opts := kiosk.RunOptions{Flags: f.cfg, Logger: log, Demo: demo}
	if f.measure != "" {
		opts.Ready = func(w fyne.Window) { measure.Start(a, w, f.measure, 2*time.Second, log) }
	}
	go func() { // SIGINT/SIGTERM: close the app cleanly (visits are saved at every step)
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	return kiosk.Run(ctx, a, opts)
}
