package kiosk

import (
	"log/slog"
	"time"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/devices"
)

// keyInput is the thin Fyne adapter between the window's key events and devices.Wedge,
// which tells keyboard-wedge scans from a person's key presses (docs/devices.md).
//
// What the real GLFW window does, and what this adapter does about it:
//   - it polls the window's events once per frame, so keys arrive in batches stamped with
//     the time of the poll: frame() runs right after every poll (an endless animation,
//     which the driver ticks right after polling) and tells the Wedge up to when every
//     key typed has been delivered, so gaps are judged on proven bounds, not arrival
//     times, and a held key is released only after a poll has shown the pause;
//   - it sends TypedKey for every key (digits, letters, Shift) as well as TypedRune for
//     the character, and drops the TypedKey of a key repeated within one millisecond:
//     the Wedge ignores the TypedKey of character keys (only control keys count);
//   - a focused text field (or check box, button) receives the keys instead of the
//     canvas: every focusable widget of the app (kEntry, kSelectEntry, kCheck, kButton)
//     feeds its keys here too, and gets them back only when they are a person's.
type keyInput struct {
	w   *devices.Wedge
	now func() time.Time
	log *slog.Logger

	touch  func()                // any key: user activity (idle lock)
	onRune func(r rune)          // a person's key press to the screen
	onKey  func(k fyne.KeyName)  // a named key to the screen
	onScan func(f devices.Frame) // a wedge scan
}

// keyTarget is a focused widget that typed a key: it gets the key back when the key is
// a person's.
type keyTarget interface {
	typedRune(r rune)
	typedKey(e *fyne.KeyEvent)
}

func newKeyInput(cfg devices.WedgeConfig, now func() time.Time, log *slog.Logger) *keyInput {
	return &keyInput{w: devices.NewWedge(cfg), now: now, log: log, touch: func() {}}
}

// rune feeds a typed character (src: the focused widget, nil for the canvas).
func (k *keyInput) rune(r rune, src keyTarget) {
	k.touch()
	k.handle(k.w.Rune(r, src, k.now()))
}

// key feeds a key event (src as for rune).
func (k *keyInput) key(e *fyne.KeyEvent, src keyTarget) {
	k.touch()
	k.handle(k.w.Key(string(e.Name), src, k.now()))
}

// frame is called once per frame, right after the window's events were polled.
func (k *keyInput) frame(at time.Time) {
	k.handle(k.w.Polled(at))
}

func (k *keyInput) handle(outs []devices.WedgeOutput) {
	for _, o := range outs {
		if o.Scan != nil {
			k.log.Debug("wedge scan", "chars", o.Scan.Len)
			k.onScan(*o.Scan)
			continue
		}
		held := k.now().Sub(o.Key.At)
		t, _ := o.Key.Src.(keyTarget)
		if o.Key.Name != "" {
			k.log.Debug("key", "name", o.Key.Name, "held", held)
			if t != nil {
				t.typedKey(&fyne.KeyEvent{Name: fyne.KeyName(o.Key.Name)})
			} else {
				k.onKey(fyne.KeyName(o.Key.Name))
			}
			continue
		}
		k.log.Debug("key", "rune", true, "held", held) // never the character: it may be part of an ID
		if t != nil {
			t.typedRune(o.Key.Rune)
		} else {
			k.onRune(o.Key.Rune)
		}
	}
}

// startFrames ticks frame() once per frame until stop is called: a Fyne animation is
// ticked by the GLFW driver right after each poll of the window's events.
func (k *keyInput) startFrames() (stop func()) {
	a := &fyne.Animation{Duration: time.Second, RepeatCount: fyne.AnimationRepeatForever,
		Tick: func(float32) { k.frame(k.now()) }}
	a.Start()
	return a.Stop
}
