package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/kiosk/demo"
)

// scannerWindow is the small "demo scanner" window: each button sends a code through
// send (the PTY on Linux; injected frames elsewhere). status shows where codes go.
func scannerWindow(a fyne.App, status string, send func(code string) error) fyne.Window {
	w := a.NewWindow(lang.L("demo.title"))
	msg := widget.NewLabel(status)
	msg.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{msg}
	for _, b := range demo.Buttons() {
		code := b.Code
		objs = append(objs, widget.NewButton(label(b.Label), func() {
			if err := send(code); err != nil {
				msg.SetText(err.Error())
			}
		}))
	}
	w.SetContent(container.NewVScroll(container.NewVBox(objs...)))
	w.Resize(fyne.NewSize(520, 640))
	return w
}

// label says a demo label in the UI's language.
func label(l demo.Label) string {
	args := map[string]any{}
	for k, v := range l.Args {
		if inner, ok := v.(demo.Label); ok {
			v = label(inner)
		}
		args[k] = v
	}
	return lang.L(l.Key, args)
}
