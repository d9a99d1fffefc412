package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/kiosk/store"
)

// demoRun is the demo around one run of the counter app.
type demoRun struct {
	out io.Writer // where the HQ's follow-up links and the dashboard's address go
}

// start seeds the kiosk store, starts the demo HQ (with its dashboard) and the demo
// scanner, and points the counter's settings at them.
func (d *demoRun) start(ctx context.Context, env kiosk.DemoEnv) (kiosk.DemoParts, error) {
	cfg := env.Config
	now := time.Now()
	dir := filepath.Join(cfg.DataDir, "demo-hq")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return kiosk.DemoParts{}, err
	}
	h, err := demohq.StartHQ(ctx, dir, env.Data.Catalog, now, env.Logger, d.out)
	if err != nil {
		return kiosk.DemoParts{}, err
	}
	parts := kiosk.DemoParts{Stop: func() { h.Stop() },
		Resolver: devices.NewHTTPResolver(h.URL+demohq.InsurancePath, counter.HQBudget, nil)}
	secretFile, err := seed(ctx, env.Store, env.Data, cfg.DataDir, now)
	if err != nil {
		h.Stop()
		return kiosk.DemoParts{}, err
	}
	cfg.HQURL, cfg.Token, cfg.StoreID, cfg.SecretFile = h.URL, demo.StoreToken, demo.StoreID, secretFile
	send := func(code string) error { env.Inject(code); return nil }
	status := lang.L("demo.injected")
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
		p, err := demo.OpenPTY()
		if err != nil {
			env.Logger.Warn("demo scanner PTY unavailable, injecting frames instead", "err", err)
		} else {
			cfg.Port = p.Path
			parts.ExtraPorts = []string{p.Path}
			send = p.Send
			status = lang.L("demo.via_pty", map[string]any{"Port": p.Path})
			stopHQ := parts.Stop
			parts.Stop = func() { p.Close(); stopHQ() }
		}
	}
	fmt.Fprintf(d.out, "\n%s\n  %s/\n  %s %s\n\n", lang.L("demo.dashboard"), h.URL, lang.L("demo.dashboard_token"), demo.AdminToken)
	fyne.Do(func() { scannerWindow(env.App, status, send).Show() })
	return parts, nil
}

// seed writes the demo data set into the kiosk store (idempotent) and the demo chain
// secret into the data directory, and returns the secret file.
func seed(ctx context.Context, st *store.Store, dom flows.Data, dataDir string, now time.Time) (string, error) {
	if err := demo.SeedLocal(ctx, st, dom.Catalog, dom.Questionnaires, dom.Knowledge, now); err != nil {
		return "", err
	}
	secretFile := filepath.Join(dataDir, "demo-chain.secret")
	if err := os.WriteFile(secretFile, []byte(demo.Secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo secret: %w", err)
	}
	return secretFile, nil
}

// seedOnly prepares a data directory for the counter without running it (make measure
// starts the production kiosk on it).
func seedOnly(ctx context.Context, dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		return err
	}
	st, err := store.Open(store.DefaultPath(dataDir), store.Options{})
	if err != nil {
		return err
	}
	_, err = seed(ctx, st, dom, dataDir, time.Now())
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}
