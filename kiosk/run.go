package kiosk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hqclient"
)

// RunOptions configures Run.
type RunOptions struct {
	Flags  Config // command-line flags: override the stored settings
	Logger *slog.Logger
	Getenv func(string) string // locale detection (os.Getenv)
	// Ready, if set, is called once the counter window is shown (measurements).
	Ready func(w fyne.Window)
}

// Run is the whole counter app on a (created by cmd/kiosk with app.NewWithID): it opens
// the store in the data directory, merges stored settings with the flags, starts the
// outbox drainer, the serial reader and — with --demo — the local HQ, the demo data set
// and the demo scanner, then shows the window and runs the Fyne event loop until the
// app quits. It must be called on the main goroutine.
func Run(ctx context.Context, a fyne.App, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	t0 := time.Now()
	phase := func(name string) { log.Debug("startup", "phase", name, "elapsed", time.Since(t0)) }
	flags := o.Flags
	if flags.DataDir == "" {
		return errors.New("--data DIR is required")
	}
	if err := os.MkdirAll(flags.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	th, err := NewTheme(1)
	if err != nil {
		return err
	}
	a.Settings().SetTheme(th)
	warm := WarmFonts(th) // in the background while the store and domain data load
	locale := DetectLocale(o.Getenv)
	if err := SetupTranslations(locale); err != nil {
		return err
	}
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		return err
	}
	phase("domain")
	st, err := store.Open(store.DefaultPath(flags.DataDir), store.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	cfg := DefaultConfig()
	if err := st.LoadConfig(&cfg); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("stored settings: %w", err)
	}
	cfg = cfg.Override(flags)
	if drugs, err := st.Drugs(); err == nil && len(drugs) == 0 {
		if err := st.PutCatalog(dom.Catalog.All()); err != nil {
			return fmt.Errorf("seed catalog: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var resolver devices.InsuranceResolver
	var demoPTY *demo.PTY
	if cfg.Demo {
		d, err := startDemo(ctx, &cfg, st, dom, log)
		if err != nil {
			return err
		}
		defer d.hq.Stop()
		resolver = devices.NewHTTPResolver(d.hq.URL+demo.InsurancePath, HQBudget, nil)
		demoPTY = d.pty
		if demoPTY != nil {
			defer demoPTY.Close()
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if cfg.SecretFile == "" {
		return errors.New("no chain secret: pass --secret-file FILE (the file provisioned for the chain)")
	}
	secret, err := customerkey.LoadSecret(cfg.SecretFile)
	if err != nil {
		return fmt.Errorf("chain secret: %w", err)
	}
	cls := &devices.Classifier{Secret: secret}

	var hq HQ
	var kick func()
	if cfg.HQURL != "" {
		hq = hqclient.New(cfg.HQURL, cfg.Token, HQBudget)
		dr := drain.New(st, drain.Config{BaseURL: cfg.HQURL, Token: cfg.Token, StoreID: cfg.StoreID, Logger: log})
		kick = dr.Kick
		go func() {
			if err := dr.Run(ctx); err != nil {
				log.Error("outbox drainer stopped", "err", err)
			}
		}()
	}
	go maintain(ctx, st, flags.DataDir, log)
	dev := &deviceManager{ctx: ctx, cls: cls, log: log}
	extra := []string{}
	if demoPTY != nil {
		extra = append(extra, demoPTY.Path)
	}
	followUp := flows.DefaultFollowUpPolicy()
	followUp.Text = dom.Messages.Reminder
	deps := Deps{Store: st, HQ: hq, Classifier: cls, Resolver: resolver, Catalog: dom.Catalog,
		Questionnaires: dom.Questionnaires, KB: dom.Knowledge, FollowUp: followUp, Logger: log, Kick: kick, Locale: locale,
		Theme: th, FontsWarm: warm, TestDevice: dev.open, ApplyConfig: func(c Config) { _ = dev.open(c) }, ExtraPorts: extra, Quit: a.Quit}
	phase("store")
	w, u, err := Create(a, cfg, deps)
	if err != nil {
		return err
	}
	phase("ui")
	dev.ui = u
	if err := dev.open(cfg); err != nil {
		log.Warn("serial port", "err", err)
	}
	defer dev.close()
	if cfg.Demo {
		send := func(code string) error {
			if demoPTY != nil {
				return demoPTY.Send(code)
			}
			s := cls.Classify(devices.MakeFrame([]byte(code), time.Now()))
			u.DeviceEvent(devices.Event{Type: devices.EventScan, Scan: &s, At: time.Now()})
			return nil
		}
		status := lang.L("demo.injected")
		if demoPTY != nil {
			status = lang.L("demo.via_pty", map[string]any{"Port": demoPTY.Path})
		}
		sw := demo.ScannerWindow(a, status, send)
		sw.Show()
	}
	w.SetMaster()
	w.Show()
	phase("shown")
	// Return the start-up garbage (JSON decoding, font parsing, demo seeding) to the OS
	// once the first screen is up: the counter runs for days at a constant footprint.
	time.AfterFunc(time.Second, debug.FreeOSMemory)
	if o.Ready != nil {
		o.Ready(w)
	}
	a.Run()
	u.Close()
	return nil
}

type demoRun struct {
	hq  *demo.HQ
	pty *demo.PTY
}

// startDemo starts the demo HQ, seeds the store and opens the demo scanner's PTY; it
// points cfg at them.
func startDemo(ctx context.Context, cfg *Config, st *store.Store, dom flows.Data, log *slog.Logger) (*demoRun, error) {
	now := time.Now()
	dir := filepath.Join(cfg.DataDir, "demo-hq")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	h, err := demo.StartHQ(ctx, dir, dom.Catalog, now, log, os.Stdout)
	if err != nil {
		return nil, err
	}
	if err := demo.SeedLocal(ctx, st, dom.Catalog, dom.Questionnaires, dom.Knowledge, now); err != nil {
		h.Stop()
		return nil, err
	}
	secretFile := filepath.Join(cfg.DataDir, "demo-chain.secret")
	if err := os.WriteFile(secretFile, []byte(demo.Secret+"\n"), 0o600); err != nil {
		h.Stop()
		return nil, fmt.Errorf("demo secret: %w", err)
	}
	cfg.HQURL, cfg.Token, cfg.StoreID, cfg.SecretFile = h.URL, demo.StoreToken, demo.StoreID, secretFile
	d := &demoRun{hq: h}
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
		p, err := demo.OpenPTY()
		if err != nil {
			log.Warn("demo scanner PTY unavailable, injecting frames instead", "err", err)
		} else {
			d.pty = p
			cfg.Port = p.Path
		}
	}
	return d, nil
}

// deviceManager owns the serial reader and reopens it when the settings change.
type deviceManager struct {
	ctx    context.Context
	cls    *devices.Classifier
	log    *slog.Logger
	ui     *UI
	mu     sync.Mutex
	reader *devices.SerialReader
}

func (m *deviceManager) open(cfg Config) error {
	m.close()
	if cfg.Port == "" {
		return errors.New("no serial port configured")
	}
	r, err := devices.OpenSerial(m.ctx, devices.SerialConfig{Port: cfg.Port, Baud: cfg.Baud}, m.cls, m.log)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.reader = r
	m.mu.Unlock()
	go func() {
		for ev := range r.Events() {
			if m.ui != nil {
				m.ui.DeviceEvent(ev)
			}
		}
	}()
	return nil
}

func (m *deviceManager) close() {
	m.mu.Lock()
	r := m.reader
	m.reader = nil
	m.mu.Unlock()
	if r != nil {
		r.Close()
	}
}
