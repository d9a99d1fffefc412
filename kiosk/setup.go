package kiosk

import (
	"log/slog"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/sync/hqclient"
)

// setupScreen is the first start's screen, shown when the counter is not configured
// (no chain secret, an invalid setting): the scanner's port (the ports found listed),
// HQ address, store, token and chain-secret file, each checked live as it is entered
// (counter.Setup: HQ reachable, token accepted, scanner answering, secret loading).
// F5 (or the button) saves the settings and starts the counter once the checks pass.
type setupScreen struct {
	s                        *starter
	setup                    *counter.Setup
	reader                   *counter.Reader
	port                     *setupSelect
	hq, store, token, secret *setupEntry
	marks                    map[string]*widget.Label
	result                   *widget.Label
	timer                    *time.Timer
}

// showSetup shows the setup screen (UI goroutine).
func (s *starter) showSetup() {
	v := &setupScreen{s: s, marks: map[string]*widget.Label{}, result: widget.NewLabel("")}
	v.reader = counter.NewReader(s.ctx, &devices.Classifier{Secret: []byte("setup: scans are only counted")}, s.log,
		func(ev devices.Event) { fyne.Do(func() { v.setup.DeviceEvent(ev) }) })
	v.setup = counter.NewSetup(counter.SetupDeps{
		NewHQ:    func(url, token string) counter.SetupHQ { return hqclient.New(url, token, counter.HQBudget) },
		OpenPort: v.reader.Open, Post: fyne.Do, OnChange: v.refresh, Logger: s.log})
	c := s.cfg
	v.port = newSetupSelect(counter.SerialPorts(s.demo.ExtraPorts...), v.key)
	v.port.SetText(c.Port)
	field := func(name string) *setupEntry { return newSetupEntry(name, v.key, s.log) }
	v.hq, v.store, v.token, v.secret = field(counter.CheckHQ), field(counter.CheckStore), field(counter.CheckToken), field(counter.CheckSecret)
	v.hq.SetText(c.HQURL)
	v.store.SetText(c.StoreID)
	v.token.SetText(c.Token)
	v.token.Password = true
	v.secret.SetText(c.SecretFile)
	v.secret.SetPlaceHolder("/etc/pharmachain/chain.secret")
	v.hq.SetPlaceHolder("https://hq.example.cn")
	for _, e := range []*setupEntry{v.hq, v.store, v.token, v.secret} {
		e.OnChanged = func(string) { v.later() }
		e.OnSubmitted = func(string) { v.check() }
	}
	v.port.OnChanged = func(string) { v.later() }
	row := func(field string, w fyne.CanvasObject) *widget.FormItem {
		v.marks[field] = widget.NewLabel("")
		v.marks[field].Wrapping = fyne.TextWrapWord
		return widget.NewFormItem(lang.L("setup.field."+field), container.NewGridWithColumns(2, w, v.marks[field]))
	}
	form := widget.NewForm(row(counter.CheckPort, v.port), row(counter.CheckHQ, v.hq), row(counter.CheckStore, v.store),
		row(counter.CheckToken, v.token), row(counter.CheckSecret, v.secret))
	save := widget.NewButton(lang.L("setup.save")+" (F5)", v.save)
	save.Importance = widget.HighImportance
	body := container.NewVBox(title(lang.L("setup.title")), wrap(lang.L("setup.prompt")), form,
		container.NewHBox(save, widget.NewButton(lang.L("setup.check")+" (F6)", v.check)), v.result)
	s.w.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) { v.key(e.Name) })
	s.show(container.NewPadded(body))
	s.w.Canvas().Focus(v.port)
	s.log.Debug("screen", "name", "setupScreen")
	v.check()
}

func (v *setupScreen) key(k fyne.KeyName) {
	switch k {
	case fyne.KeyF5:
		v.save()
	case fyne.KeyF6:
		v.check()
	}
}

// config is the configuration the form holds.
func (v *setupScreen) config() counter.Config {
	c := v.s.cfg
	c.Port = strings.TrimSpace(v.port.Text)
	c.HQURL = strings.TrimSpace(v.hq.Text)
	c.StoreID = strings.TrimSpace(v.store.Text)
	c.Token = strings.TrimSpace(v.token.Text)
	c.SecretFile = strings.TrimSpace(v.secret.Text)
	return c
}

// later checks the form once typing has paused.
func (v *setupScreen) later() {
	if v.timer != nil {
		v.timer.Stop()
	}
	v.timer = time.AfterFunc(600*time.Millisecond, func() { fyne.Do(v.check) })
}

func (v *setupScreen) check() { v.setup.Check(v.config()) }

// refresh shows every field's check.
func (v *setupScreen) refresh() {
	for field, l := range v.marks {
		r := v.setup.Result(field)
		mark := map[counter.CheckState]string{counter.Checking: "… ", counter.Passed: "✓ ", counter.Failed: "× ", counter.Skipped: "– "}[r.State]
		line := ""
		if r.Text.Key != "" {
			line = mark + noteText(r.Text)
		}
		if l.Text != line {
			l.SetText(line)
			v.s.log.Info("setup check", "field", field, "state", r.State, "text", r.Text.Key)
		}
	}
}

// save stores the configuration and starts the counter once every check passed.
func (v *setupScreen) save() {
	if err := v.setup.Ready(); err != nil {
		v.result.SetText(lang.L("setup.not_ready") + " " + failText(err))
		return
	}
	cfg := v.config()
	if err := v.s.st.SaveConfig(cfg); err != nil {
		v.result.SetText(lang.L("settings.invalid", map[string]any{"Err": err.Error()}))
		return
	}
	v.s.log.Info("settings saved by the setup screen: starting the counter")
	v.reader.Close()
	if v.timer != nil {
		v.timer.Stop()
	}
	v.s.cfg = cfg
	v.s.show(startingScreen())
	go v.s.run()
}

// setupEntry is a text field of the setup screen that hands F5 and F6 to the screen (a
// focused field takes every key) and logs when it gets the focus.
type setupEntry struct {
	widget.Entry
	name  string
	onKey func(fyne.KeyName)
	log   *slog.Logger
}

func newSetupEntry(name string, onKey func(fyne.KeyName), log *slog.Logger) *setupEntry {
	e := &setupEntry{name: name, onKey: onKey, log: log}
	e.ExtendBaseWidget(e)
	return e
}

// FocusGained implements fyne.Focusable.
func (e *setupEntry) FocusGained() {
	e.Entry.FocusGained()
	e.log.Debug("setup field focused", "field", e.name)
}

// TypedKey implements fyne.Focusable.
func (e *setupEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyF5 || k.Name == fyne.KeyF6 {
		e.onKey(k.Name)
		return
	}
	e.Entry.TypedKey(k)
}

// setupSelect is the port field: a select entry that hands F5 and F6 to the screen.
type setupSelect struct {
	widget.SelectEntry
	onKey func(fyne.KeyName)
}

func newSetupSelect(options []string, onKey func(fyne.KeyName)) *setupSelect {
	e := &setupSelect{onKey: onKey}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.SetOptions(options)
	return e
}

// TypedKey implements fyne.Focusable.
func (e *setupSelect) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyF5 || k.Name == fyne.KeyF6 {
		e.onKey(k.Name)
		return
	}
	e.SelectEntry.TypedKey(k)
}
