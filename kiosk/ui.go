// Package kiosk is the counter app's Fyne side: the window, one file per screen, the
// keyboard adapter and the composition root (Run). The screens render the state of the
// counter core (kiosk/counter) and send it the pharmacist's keys; every rule lives in
// the core. Every screen is driven by the keyboard alone: 1–9 choose the n-th option,
// Enter confirms, Backspace goes back, Esc abandons the visit. See docs/ui.md.
package kiosk

import (
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/kiosk/counter"
)

// Options configure the counter window.
type Options struct {
	Locale     Locale              // default LocaleZh
	Classifier *devices.Classifier // turns keyboard-wedge frames into scans
	Wedge      devices.WedgeConfig // keyboard-wedge detection
	Logger     *slog.Logger
	Now        func() time.Time // default time.Now
	// NoFrames disables the key filter's per-frame tick (tests drive it).
	NoFrames bool
	// ExtraPorts are listed first in the settings' port list (the demo's PTY).
	ExtraPorts []string
}

// view is one screen: it renders a page of the core.
type view interface {
	build() fyne.CanvasObject
	hints() []hint
}

// keyView is a screen that takes some keys itself before the core (a form's F5 and F6).
type keyView interface {
	onKey(k fyne.KeyName) bool
}

// hint is one entry of the on-screen key map.
type hint struct{ key, label string }

// UI is the counter window on a core.
type UI struct {
	c    *counter.Core
	o    Options
	log  *slog.Logger
	win  fyne.Window
	th   *Theme
	keys *keyInput
	// stopFrames stops the per-frame key-filter tick (nil without frames).
	stopFrames func()

	cur    view
	serial int // the core's page serial cur was made for
	root   *fyne.Container
}

// Create makes w the counter window of core c (whose Deps.OnChange must call Refresh):
// it takes the window's keys and renders the core's page into host (the window's
// content, or a part of it). The theme th is already applied to the app.
func Create(w fyne.Window, host *fyne.Container, c *counter.Core, th *Theme, o Options) *UI {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Locale == "" {
		o.Locale = LocaleZh
	}
	u := &UI{c: c, o: o, log: o.Logger, th: th, serial: -1, win: w, root: host}
	u.keys = newKeyInput(o.Wedge, o.Now, u.log)
	u.keys.touch = c.Touch
	u.keys.onRune = u.dispatchRune
	u.keys.onKey = u.dispatchKey
	u.keys.onScan = func(f devices.Frame) { c.HandleScan(o.Classifier.Classify(f)) }
	u.win.Canvas().SetOnTypedRune(func(r rune) { u.keys.rune(r, nil) })
	u.win.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) { u.keys.key(e, nil) })
	if !o.NoFrames {
		u.stopFrames = u.keys.startFrames()
	}
	u.win.SetOnClosed(u.Close)
	u.Refresh()
	return u
}

// Close stops the window's background work (the frame tick).
func (u *UI) Close() {
	if u.stopFrames != nil {
		u.stopFrames()
		u.stopFrames = nil
	}
}

// Window is the counter window.
func (u *UI) Window() fyne.Window { return u.win }

// Core is the core the window renders.
func (u *UI) Core() *counter.Core { return u.c }

// dispatchRune routes a person's character to the core.
func (u *UI) dispatchRune(r rune) { u.c.Rune(r) }

// dispatchKey routes a named key: to the screen when it takes it (a form's F5), else to
// the core.
func (u *UI) dispatchKey(k fyne.KeyName) {
	if kv, ok := u.cur.(keyView); ok && !u.c.Locked() && kv.onKey(k) {
		return
	}
	u.c.Key(counter.Key(k))
}

// Refresh renders the core's state: a new screen when the core shows another page.
func (u *UI) Refresh() {
	if u.root == nil {
		return
	}
	if s := u.c.Serial(); s != u.serial || u.cur == nil {
		u.cur, u.serial = u.newView(u.c.Page()), s
	}
	body := u.cur.build()
	u.root.Objects = []fyne.CanvasObject{container.NewBorder(u.banner(), container.NewVBox(u.message(), u.hintBar(u.cur.hints())),
		nil, nil, container.NewPadded(body))}
	u.root.Refresh()
}

// newView makes the screen of a page.
func (u *UI) newView(p counter.Page) view {
	switch p := p.(type) {
	case *counter.SignInPage:
		return &signInScreen{u: u, p: p}
	case *counter.PINPage:
		return &pinScreen{u: u, p: p}
	case *counter.PickManagerPage:
		return &pickManagerScreen{u: u, p: p}
	case *counter.WaitingPage:
		return &waitingScreen{u: u}
	case *counter.ManualIDPage:
		return &manualIDScreen{u: u, p: p}
	case *counter.IdentifyPage:
		return &identifyScreen{u: u}
	case *counter.QuestionnairePage:
		return &questionnaireScreen{u: u}
	case *counter.RecommendPage:
		return &recommendScreen{u: u}
	case *counter.FollowUpPage:
		return newFollowUp(u)
	case *counter.SummaryPage:
		return &summaryScreen{u: u, p: p}
	case *counter.ConfirmAbandonPage:
		return &confirmAbandonScreen{u: u, p: p}
	case *counter.ResumePage:
		return &resumeScreen{u: u, p: p}
	case *counter.LockPage:
		return &lockScreen{}
	case *counter.ManagerPage:
		return &managerScreen{u: u, p: p}
	case *counter.SettingsPage:
		return newSettings(u)
	case *counter.AddPharmacistPage:
		return newAddPharmacist(u, p)
	}
	return &lockScreen{} // every page has a screen; this is never reached
}

// textSize is the theme's body text size (the screens scale it).
func textSize() float32 { return theme.TextSize() }
