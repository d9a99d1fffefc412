// Command kiosk-demo is `make run`: the counter app with the demo around it — the demo
// data set in the kiosk's store, a real HQ in-process on 127.0.0.1 (sync/hq/server, as
// `hq serve` builds it) with its dashboard, and a demo scanner window feeding a PTY the
// counter reads like a serial scanner. It prints the dashboard's address and sign-in
// token. The production kiosk (cmd/kiosk) does not link any of it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/measure"
)

// AppID is the demo's Fyne application id (its preferences stay apart from a real
// kiosk's).
const AppID = "com.pharmachain.counter.demo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "kiosk-demo:", err)
		os.Exit(1)
	}
}

// options are the demo's flags.
type options struct {
	data, measure string
	verbose, full bool
	seedOnly      bool
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("kiosk-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", ".demo-data", "data directory of the demo (kiosk store, demo HQ)")
	fs.BoolVar(&o.verbose, "v", false, "debug logging")
	fs.BoolVar(&o.full, "fullscreen", false, "full screen")
	fs.StringVar(&o.measure, "measure", "", "write start-up measurements to this file and quit")
	fs.BoolVar(&o.seedOnly, "seed-only", false, "write the demo data set into the data directory's store and exit (no window)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.seedOnly {
		return seedOnly(ctx, o.data)
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	a := app.NewWithID(AppID)
	opts := kiosk.RunOptions{Flags: counter.Config{DataDir: o.data, Fullscreen: o.full}, Logger: log,
		Demo: (&demoRun{out: stdout}).start}
	if o.measure != "" {
		opts.Ready = func(w fyne.Window) { measure.Start(a, w, o.measure, 2*time.Second, log) }
	}
	go func() { // SIGINT/SIGTERM: close the app cleanly
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	return kiosk.Run(ctx, a, opts)
}
