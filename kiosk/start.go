package kiosk

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hqclient"
)

// starter does what Run leaves for after the first frame, in order: content, store,
// settings (setup screen if needed), demo, HQ client and drainer, core and screens,
// serial reader, maintenance.
type starter struct {
	a      fyne.App
	w      fyne.Window
	host   *fyne.Container
	th     *Theme
	locale Locale
	o      RunOptions
	log    *slog.Logger
	ctx    context.Context
	t0     time.Time

	mu      sync.Mutex
	err     error
	st      *store.Store
	stops   []func() // run in reverse order after the app quits
	dom     flows.Data
	cfg     counter.Config
	demo    DemoParts
	inject  func(code string)
	ui      *UI
	devices *counter.Reader

	// embedded is the content built into the kiosk (version 0; dom is its data);
	// content the one the counter starts on (the pack kept from HQ, else embedded) and
	// contentTag HQ's tag of it.
	embedded, content counter.Content
	contentTag        string
}

func (s *starter) phase(name string) {
	s.log.Debug("startup", "phase", name, "elapsed", time.Since(s.t0))
}

// show puts a screen into the window (on the UI goroutine).
func (s *starter) show(o fyne.CanvasObject) {
	s.host.Objects = []fyne.CanvasObject{o}
	s.host.Refresh()
}

func (s *starter) onStop(f func()) {
	s.mu.Lock()
	s.stops = append(s.stops, f)
	s.mu.Unlock()
}

func (s *starter) cleanup() {
	s.mu.Lock()
	stops := s.stops
	s.stops = nil
	s.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

// start runs off the UI goroutine, after the first frame.
func (s *starter) start() {
	flags := s.o.Flags
	if flags.DataDir == "" {
		s.failed(errNoDataDir)
		return
	}
	if err := os.MkdirAll(flags.DataDir, 0o750); err != nil {
		s.failed(fmt.Errorf("data dir: %w", err))
		return
	}
	embedded, ct, tag, err := startContent(flags.DataDir, s.log)
	if err != nil {
		s.failed(fmt.Errorf("content: %w", err))
		return
	}
	s.dom, s.embedded, s.content, s.contentTag = embedded.Data, embedded, ct, tag
	s.phase("content")
	st, err := store.Open(store.DefaultPath(flags.DataDir), store.Options{Logger: s.log})
	if err != nil {
		s.failed(fmt.Errorf("open store: %w", err))
		return
	}
	s.st = st
	s.onStop(func() { st.Close() })
	cfg := counter.DefaultConfig()
	if err := st.LoadConfig(&cfg); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.failed(fmt.Errorf("stored settings: %w", err))
		return
	}
	s.cfg = cfg.Override(flags)
	s.phase("store")
	if s.o.Demo != nil {
		if err := s.startDemo(); err != nil {
			s.failed(err)
			return
		}
	}
	if err := counter.NeedsSetup(s.cfg); err != nil {
		s.log.Warn("the counter is not set up: showing the setup screen", "why", err)
		fyne.Do(s.showSetup)
		return
	}
	s.run()
}

func (s *starter) startDemo() error {
	parts, err := s.o.Demo(s.ctx, DemoEnv{App: s.a, Store: s.st, Data: s.dom, Config: &s.cfg, Logger: s.log,
		Inject: func(code string) {
			s.mu.Lock()
			inject := s.inject
			s.mu.Unlock()
			if inject != nil {
				inject(code)
			}
		}})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s.demo = parts
	if parts.Stop != nil {
		s.onStop(parts.Stop)
	}
	return nil
}

// run starts the counter on a configuration that needs no setup (off the UI goroutine).
func (s *starter) run() {
	cfg := s.cfg
	if err := cfg.Validate(); err != nil {
		s.failed(fmt.Errorf("settings: %w", err))
		return
	}
	secret, err := customerkey.LoadSecret(cfg.SecretFile)
	if err != nil {
		s.failed(fmt.Errorf("chain secret: %w", err))
		return
	}
	cls := &devices.Classifier{Secret: secret}
	s.mu.Lock()
	s.inject = func(code string) { // the demo scanner without a PTY
		sc := cls.Classify(devices.MakeFrame([]byte(code), time.Now()))
		if ui := s.ui; ui != nil {
			ui.c.HandleScan(sc)
		}
	}
	s.mu.Unlock()
	var hq counter.HQ
	var kick func()
	if cfg.HQURL != "" {
		hq = hqclient.New(cfg.HQURL, cfg.Token, counter.HQBudget)
		dr := drain.New(s.st, drain.Config{BaseURL: cfg.HQURL, Token: cfg.Token, StoreID: cfg.StoreID, Logger: s.log,
			Drained: func(drain.Result, error) {
				fyne.Do(func() {
					if s.ui != nil {
						s.ui.c.OutboxChanged()
					}
				})
			}})
		kick = dr.Kick
		go func() {
			if err := dr.Run(s.ctx); err != nil {
				s.log.Error("outbox drainer stopped", "err", err)
			}
		}()
	}
	rd := counter.NewReader(s.ctx, cls, s.log, func(ev devices.Event) {
		if ui := s.ui; ui != nil {
			ui.c.DeviceEvent(ev)
		}
	})
	s.devices = rd
	s.onStop(rd.Close)
	deps := counter.Deps{Store: s.st, HQ: hq, Classifier: cls, Resolver: s.demo.Resolver,
		Content: s.content, Embedded: s.embedded, ContentTag: s.contentTag, FollowUp: flows.DefaultFollowUpPolicy(), Logger: s.log,
		Post: fyne.Do, Kick: kick, TestDevice: rd.Open, ApplyConfig: rd.Open, Quit: s.a.Quit}
	fyne.DoAndWait(func() { s.openCounter(cfg, deps, cls) })
	if s.ui == nil {
		return
	}
	s.phase("ui")
	if err := rd.Open(cfg); err != nil {
		s.log.Warn("serial port", "err", err)
	}
	seedCatalog(s.st, s.content.Data, s.log)
	go counter.Maintain(s.ctx, s.st, cfg.DataDir, s.log)
	s.phase("settled")
	// Return the start-up garbage (content decoding, font parsing, demo seeding) to the
	// OS once the counter is up and its first screens are drawn: it runs for days at a
	// constant footprint.
	time.AfterFunc(time.Second, debug.FreeOSMemory)
}

// openCounter makes the core and its screens in the window (UI goroutine).
func (s *starter) openCounter(cfg counter.Config, deps counter.Deps, cls *devices.Classifier) {
	var ui *UI
	deps.OnChange = func() {
		if ui != nil {
			ui.Refresh()
		}
	}
	c, err := counter.New(cfg, deps)
	if err != nil {
		s.failed(err)
		return
	}
	s.onStop(c.Close)
	ui = Create(s.w, s.host, c, s.th, Options{Locale: s.locale, Classifier: cls, Logger: s.log, ExtraPorts: s.demo.ExtraPorts})
	s.onStop(ui.Close)
	s.ui = ui
	go c.Run(s.ctx)
}

// seedCatalog stores the content's catalog when the store has none yet (the kiosk's
// command-line verbs read it).
func seedCatalog(st *store.Store, dom flows.Data, log *slog.Logger) {
	drugs, err := st.Drugs()
	if err == nil && len(drugs) == 0 {
		err = st.PutCatalog(dom.Catalog.All())
	}
	if err != nil {
		log.Warn("seed catalog", "err", err)
	}
}

// paintProbe is an invisible 1×1 raster that closes painted when the window first draws
// it: a raster's generator runs only when the GL painter paints it.
func paintProbe(painted chan<- struct{}) fyne.CanvasObject {
	var once sync.Once
	r := canvas.NewRaster(func(int, int) image.Image {
		once.Do(func() { close(painted) })
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	})
	r.Resize(fyne.NewSize(1, 1))
	return container.NewWithoutLayout(r)
}

// startingScreen is the first frame: the app's name while the rest starts, in the
// regular face only (the bold one is loaded after the first frame, warmFonts).
func startingScreen() fyne.CanvasObject {
	return container.NewCenter(widget.NewLabel(lang.L("app.title") + " — " + lang.L("app.starting")))
}

// WarmFonts parses the regular and bold faces (and fyne's one-off system font scan) on
// another goroutine, so that they are ready when the window is laid out: the main
// goroutine creates the window (a GL context) meanwhile. The channel is closed when the
// regular face is ready (the first frame needs no more); the bold one follows.
func WarmFonts(th *Theme) <-chan struct{} {
	regular := make(chan struct{})
	go func() {
		fyne.MeasureText("药师登录 PIN 1–9", th.Size(theme.SizeNameText), fyne.TextStyle{})
		close(regular)
		fyne.MeasureText("药师登录 PIN 1–9", th.Size(theme.SizeNameText), fyne.TextStyle{Bold: true})
	}()
	return regular
}
