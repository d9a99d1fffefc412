package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// The app's focusable widgets. A focused widget receives the window's keys instead of
// the canvas, so each of these hands its keys to the key filter (keyInput) first: a
// keyboard-wedge scan typed while a field has the focus is a scan, never text in the
// field; a person's keys come back to the widget (or, for buttons, to the screen).

// kEntry is a text entry for the manager's forms (add pharmacist, settings) that hands
// Escape to the form, so the keyboard can leave a form without a mouse. Counter screens
// never need typing; these forms need ASCII only (no input method).
type kEntry struct {
	widget.Entry
	keys   *keyInput
	onEsc  func()
	onFKey func(fyne.KeyName) // F5 save, F6 test (settings)
}

func (u *UI) newKEntry(onEsc func()) *kEntry {
	e := &kEntry{keys: u.keys, onEsc: onEsc}
	e.ExtendBaseWidget(e)
	return e
}

// TypedRune implements fyne.Focusable: through the key filter.
func (e *kEntry) TypedRune(r rune) { e.keys.rune(r, e) }

// TypedKey implements fyne.Focusable: through the key filter.
func (e *kEntry) TypedKey(k *fyne.KeyEvent) { e.keys.key(k, e) }

func (e *kEntry) typedRune(r rune) { e.Entry.TypedRune(r) }

func (e *kEntry) typedKey(k *fyne.KeyEvent) {
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

// kSelectEntry is a select entry (settings: port, suffix) whose keys go through the
// key filter; Escape and F-keys go to the screen.
type kSelectEntry struct {
	widget.SelectEntry
	u *UI
}

func (u *UI) newKSelectEntry(options []string) *kSelectEntry {
	e := &kSelectEntry{u: u}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.SetOptions(options)
	return e
}

// TypedRune implements fyne.Focusable: through the key filter.
func (e *kSelectEntry) TypedRune(r rune) { e.u.keys.rune(r, e) }

// TypedKey implements fyne.Focusable: through the key filter.
func (e *kSelectEntry) TypedKey(k *fyne.KeyEvent) { e.u.keys.key(k, e) }

func (e *kSelectEntry) typedRune(r rune) { e.SelectEntry.TypedRune(r) }

func (e *kSelectEntry) typedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape || (len(k.Name) >= 2 && k.Name[0] == 'F') {
		e.u.dispatchKey(k.Name)
		return
	}
	e.SelectEntry.TypedKey(k)
}

// kCheck is a check box whose keys go through the key filter: Space toggles it, every
// other key goes to the screen.
type kCheck struct {
	widget.Check
	u *UI
}

func (u *UI) newKCheck(label string) *kCheck {
	c := &kCheck{u: u}
	c.Text = label
	c.ExtendBaseWidget(c)
	return c
}

// TypedRune implements fyne.Focusable: through the key filter.
func (c *kCheck) TypedRune(r rune) { c.u.keys.rune(r, c) }

// TypedKey implements fyne.Focusable: through the key filter.
func (c *kCheck) TypedKey(k *fyne.KeyEvent) { c.u.keys.key(k, c) }

func (c *kCheck) typedRune(r rune) {
	if r == ' ' {
		c.Check.TypedRune(r)
		return
	}
	c.u.dispatchRune(r)
}

func (c *kCheck) typedKey(k *fyne.KeyEvent) { c.u.dispatchKey(k.Name) }

// kButton is a button that can take the focus (Tab) without taking the keyboard: its
// keys go through the key filter to the screen, as if nothing had the focus.
type kButton struct {
	widget.Button
	u *UI
}

func (u *UI) button(label string, tap func()) *kButton {
	b := &kButton{u: u}
	b.Text, b.OnTapped = label, tap
	b.ExtendBaseWidget(b)
	return b
}

// TypedRune implements fyne.Focusable: through the key filter to the screen.
func (b *kButton) TypedRune(r rune) { b.u.keys.rune(r, nil) }

// TypedKey implements fyne.Focusable: through the key filter to the screen.
func (b *kButton) TypedKey(k *fyne.KeyEvent) { b.u.keys.key(k, nil) }
