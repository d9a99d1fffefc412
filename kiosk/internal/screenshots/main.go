// Command screenshots runs the real counter app (GLFW driver) under an X server —
// `make screenshots` starts Xvfb for it — with the demo data set and the in-process demo
// HQ, drives it through every screen with the same key presses a pharmacist uses, and
// captures each step with ImageMagick's `import -window root` into docs/screenshots.
//
//	xvfb-run -s '-screen 0 1280x800x24' go run ./kiosk/internal/screenshots -out docs/screenshots
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hqclient"
)

func main() {
	out := flag.String("out", "docs/screenshots", "output directory")
	importCmd := flag.String("import", "import", "ImageMagick import command")
	lang := flag.String("lang", "zh", "UI language: zh or en")
	kioskBin := flag.String("kiosk", "", "the production kiosk binary: also capture its setup screen and a start-up error")
	flag.Parse()
	if err := run(*out, *importCmd, kiosk.Locale(*lang), *kioskBin); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(out, importCmd string, loc kiosk.Locale, kioskBin string) error {
	if os.Getenv("DISPLAY") == "" {
		return fmt.Errorf("no DISPLAY: run under Xvfb (make screenshots)")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := kiosk.SetupTranslations(loc); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kiosk-shots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		return err
	}
	st, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if err := demo.SeedLocal(ctx, st, dom.Catalog, dom.Questionnaires, dom.Knowledge, now); err != nil {
		return err
	}
	hq, err := demohq.StartHQ(ctx, dir, dom.Catalog, now, log, nil)
	if err != nil {
		return err
	}
	defer hq.Stop()
	cls := &devices.Classifier{Secret: []byte(demo.Secret)}
	cfg := counter.DefaultConfig()
	cfg.DataDir, cfg.HQURL, cfg.StoreID = dir, hq.URL, demo.StoreID
	a := app.NewWithID("com.pharmachain.counter.screenshots")
	th, err := kiosk.NewTheme(1)
	if err != nil {
		return err
	}
	a.Settings().SetTheme(th)
	dr := drain.New(st, drain.Config{BaseURL: hq.URL, Token: demo.StoreToken, StoreID: demo.StoreID, Logger: log})
	dctx, stopDrain := context.WithCancel(ctx)
	defer stopDrain()
	go dr.Run(dctx)
	w := a.NewWindow(lang.L("app.title"))
	host := container.NewStack()
	w.SetContent(host)
	w.Resize(fyne.NewSize(1280, 800))
	// open makes a counter core on the store and renders it in the window; opened again
	// (without closing anything) it is the counter started after a crash.
	var u *kiosk.UI
	open := func() (*counter.Core, error) {
		c, err := counter.New(cfg, counter.Deps{Store: st, HQ: hqclient.New(hq.URL, demo.StoreToken, counter.HQBudget), Classifier: cls,
			Resolver: devices.NewHTTPResolver(hq.URL+demohq.InsurancePath, counter.HQBudget, nil),
			Content:  counter.Content{Data: dom}, Logger: log, Kick: dr.Kick, Post: fyne.Do,
			OnChange: func() {
				if u != nil {
					u.Refresh()
				}
			}})
		if err != nil {
			return nil, err
		}
		u = kiosk.Create(w, host, c, th, kiosk.Options{Locale: loc, Classifier: cls, Logger: log})
		return c, nil
	}
	c, err := open()
	if err != nil {
		return err
	}
	restart := func() *counter.Core {
		c.Close() // the old core stops; nothing is ended or saved on the way out
		var err error
		fyne.DoAndWait(func() { c, err = open() })
		if err != nil {
			fmt.Fprintln(os.Stderr, "screenshots: restart:", err)
		}
		return c
	}
	errc := make(chan error, 1)
	go func() {
		err := script(c, restart, cls, out, importCmd, loc)
		if err == nil && kioskBin != "" {
			err = startupShots(kioskBin, out, importCmd, loc)
		}
		errc <- err
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	c.Close()
	return <-errc
}

// startupShots runs the production kiosk on an empty data directory (the setup screen)
// and on a data directory that cannot be made (a start-up error in the window).
func startupShots(bin, out, importCmd string, loc kiosk.Locale) error {
	prefix := ""
	if loc == kiosk.LocaleEn {
		prefix = "en-"
	}
	empty, err := os.MkdirTemp("", "kiosk-setup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	notADir := filepath.Join(empty, "not-a-dir")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		return err
	}
	env := append(os.Environ(), "LANG=zh_CN.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	if loc == kiosk.LocaleEn {
		env = append(os.Environ(), "LANG=en_US.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	}
	for _, sh := range []struct{ name, data string }{{"19-setup", filepath.Join(empty, "data")}, {"20-startup-error", notADir}} {
		cmd := exec.Command(bin, "--data", sh.data)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			return err
		}
		time.Sleep(3 * time.Second) // a tool, not a test: the window settles
		path := filepath.Join(out, prefix+sh.name+".png")
		b, err := exec.Command(importCmd, "-window", "root", "-crop", "1280x800+0+0", "+repage", path).CombinedOutput()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", path, err, b)
		}
		fmt.Println("wrote", path)
	}
	return nil
}

// script walks through every screen and captures it.
func script(u *counter.Core, restart func() *counter.Core, cls *devices.Classifier, out, importCmd string, loc kiosk.Locale) error {
	prefix := ""
	if loc == kiosk.LocaleEn {
		prefix = "en-"
	}
	time.Sleep(1500 * time.Millisecond)
	n := 0
	shot := func(name string) error {
		time.Sleep(700 * time.Millisecond)
		n++
		path := filepath.Join(out, fmt.Sprintf("%s%02d-%s.png", prefix, n, name))
		cmd := exec.Command(importCmd, "-window", "root", "-crop", "1280x800+0+0", "+repage", path)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", path, err, b)
		}
		fmt.Println("wrote", path)
		return nil
	}
	do := func(f func()) { fyne.DoAndWait(f) }
	press := func(s string) {
		for _, r := range s {
			do(func() { u.Press(r) })
			time.Sleep(60 * time.Millisecond)
		}
	}
	key := func(k fyne.KeyName) { do(func() { u.PressKey(counter.Key(k)) }); time.Sleep(60 * time.Millisecond) }
	scan := func(code string) {
		s := cls.Classify(devices.MakeFrame([]byte(code), time.Now()))
		u.DeviceEvent(devices.Event{Type: devices.EventScan, Scan: &s, At: time.Now()})
		time.Sleep(300 * time.Millisecond)
		for i := 0; i < 50; i++ {
			var loading bool
			do(func() { loading = u.Loading() })
			if !loading {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	steps := []struct {
		name string
		act  func()
	}{
		{"signin", func() {}},
		{"pin", func() { press("1"); press("12") }},
		{"waiting", func() { press("34"); key(fyne.KeyReturn) }},
		{"step1-red", func() { scan(demo.Customers()[2].ID) }},
		{"step2-questionnaire", func() { key(fyne.KeyReturn); press("21") }},
		{"step2-followups", func() { press("2") }},
		{"step3-recommend", func() { key(fyne.KeyReturn); press("1") }},
		{"step4-followup", func() { key(fyne.KeyReturn); press("1") }},
		{"summary", func() { key(fyne.KeyReturn) }},
		{"step1-yellow-chainwide", func() { key(fyne.KeyReturn); scan(demo.Customers()[0].ID) }},
		{"abandon-new-customer", func() { scan(demo.Customers()[1].ID) }},
		{"step1-ok", func() { key(fyne.KeyReturn) }},
		{"abandon-esc", func() { key(fyne.KeyEscape) }},
		{"manual-id", func() { key(fyne.KeyReturn); press("1"); press("11010519491231002") }},
		{"manager", func() { key(fyne.KeyEscape); press("2"); press("1234"); key(fyne.KeyReturn) }},
		{"manager-drill", func() { press("5") }},
		{"settings", func() { key(fyne.KeyBackspace); press("7") }},
		{"resume", func() {
			// A visit at step 2 with one answer, then the counter "crashes" and starts
			// again: the same pharmacist's sign-in offers the visit.
			key(fyne.KeyEscape)
			key(fyne.KeyBackspace)
			scan(demo.Customers()[0].ID)
			key(fyne.KeyReturn)
			press("1")
			u = restart()
			time.Sleep(300 * time.Millisecond)
			press("1")
			press("1234")
			key(fyne.KeyReturn)
		}},
	}
	for _, s := range steps {
		s.act()
		if err := shot(s.name); err != nil {
			return err
		}
	}
	return nil
}
