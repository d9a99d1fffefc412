package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// kEntry is a text entry for the manager's forms (add pharmacist, settings) that hands
// Escape to the form, so the keyboard can leave a form without a mouse. Counter screens
// never need typing; these forms need ASCII only (no input method).
type kEntry struct {
	widget.Entry
	onEsc  func()
	onFKey func(fyne.KeyName) // F5 save, F6 test (settings)
}

func newKEntry(onEsc func()) *kEntry {
	e := &kEntry{onEsc: onEsc}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey implements fyne.Focusable.
func (e *kEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEsc != nil {
		e.onEsc()
		return
	}
	if (k.Name == fyne.KeyF5 || k.Name == fyne.KeyF6) && e.onFKey != nil {
		e.onFKey(k.Name)
		return
	}
	e.Entry.TypedKey(k)
}
