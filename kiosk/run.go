package kiosk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/store"
)

// RunOptions configures Run.
type RunOptions struct {
	Flags  counter.Config // command-line flags: override the stored settings
	Logger *slog.Logger
	Getenv func(string) string // locale detection (os.Getenv)
	// Ready, if set, is called with the window just before it is first shown, its first
	// content in place (measurements).
	Ready func(w fyne.Window)
	// Demo, if set, adds the demo to the run (cmd/kiosk-demo); the production kiosk
	// leaves it nil and links no HQ.
	Demo Demo
}

// Demo is what a demo adds to a run: it is called once the store is open and the
// content loaded, seeds what it needs, starts its HQ and scanner and points cfg at them.
type Demo func(ctx context.Context, env DemoEnv) (DemoParts, error)

// DemoEnv is what the demo gets to work with.
type DemoEnv struct {
	App    fyne.App
	Store  *store.Store
	Data   flows.Data
	Config *counter.Config // the demo points it at its HQ, token, secret and PTY
	Logger *slog.Logger
	Inject func(code string) // delivers a code as the serial reader would (no PTY; UI goroutine)
}

// DemoParts is what the demo started.
type DemoParts struct {
	Resolver   devices.InsuranceResolver // the demo insurance gateway
	ExtraPorts []string                  // the demo scanner's PTY, listed first in the settings
	Stop       func()                    // after the app quits
}

// Run is the whole counter app on a (created by cmd/kiosk with app.NewWithID). It shows
// the window at once — the theme and the translations are all the first frame needs —
// and does the rest while the first frame is painted: content, store, settings (the
// setup screen when the counter is not configured yet), HQ client, drainer, serial
// reader, then the sign-in screen. A start-up error is shown in the window as well as
// logged, and returned when the window closes. It must be called on the main goroutine.
func Run(ctx context.Context, a fyne.App, o RunOptions) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	log := o.Logger
	t0 := time.Now()
	th, err := NewTheme(1)
	if err != nil {
		return err
	}
	a.Settings().SetTheme(th)
	warm := WarmFonts(th) // on the second core while the window is created
	log.Debug("startup", "phase", "theme", "elapsed", time.Since(t0))
	locale := DetectLocale(o.Getenv)
	if err := SetupTranslations(locale); err != nil {
		return err
	}
	log.Debug("startup", "phase", "translations", "elapsed", time.Since(t0))
	w := a.NewWindow(lang.L("app.title"))
	w.Resize(fyne.NewSize(1280, 800))
	if o.Flags.Fullscreen {
		w.SetFullScreen(true)
		w.SetCloseIntercept(func() {}) // close only through the manager view
	}
	<-warm // laying text out before the face is parsed would parse it twice
	painted := make(chan struct{})
	host := container.NewStack(startingScreen(), paintProbe(painted))
	w.SetContent(host)
	w.SetMaster()
	log.Debug("startup", "phase", "window", "elapsed", time.Since(t0))
	if o.Ready != nil {
		o.Ready(w)
	}
	w.Show()
	log.Debug("startup", "phase", "shown", "elapsed", time.Since(t0))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &starter{a: a, w: w, host: host, th: th, locale: locale, o: o, log: log, ctx: ctx, t0: t0}
	defer s.cleanup()
	go func() {
		// The rest waits for the first frame, so it does not compete with it for the CPU.
		select {
		case <-painted:
			s.phase("painted")
		case <-time.After(time.Second): // a window that is not painted (minimised)
		}
		s.start()
	}()
	a.Run()
	return s.failure()
}

// failed reports a start-up error: logged, shown in the window, returned by Run.
func (s *starter) failed(err error) {
	s.log.Error("start-up failed", "err", err)
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	fyne.Do(func() { s.show(s.failureScreen(err)) })
}

func (s *starter) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return fmt.Errorf("start-up: %w", s.err)
	}
	return nil
}

// errNoDataDir is a start without --data.
var errNoDataDir = errors.New("--data DIR is required")
