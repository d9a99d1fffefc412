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

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
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
	if err := demo.SeedLocal(ctx, env.Store, env.Data.Catalog, env.Data.Questionnaires, env.Data.Knowledge, now); err != nil {
		h.Stop()
		return kiosk.DemoParts{}, err
	}
	secretFile := filepath.Join(cfg.DataDir, "demo-chain.secret")
	if err := os.WriteFile(secretFile, []byte(demo.Secret+"\n"), 0o600); err != nil {
		h.Stop()
		return kiosk.DemoParts{}, fmt.Errorf("demo secret: %w", err)
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
