package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// failureScreen says why the counter could not start (the error is logged too): a
// kiosk started from the desktop icon has no terminal to print it to. Enter or Esc
// closes the app.
func (s *starter) failureScreen(err error) fyne.CanvasObject {
	s.w.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) {
		if e.Name == fyne.KeyReturn || e.Name == fyne.KeyEnter || e.Name == fyne.KeyEscape {
			s.a.Quit()
		}
	})
	s.log.Debug("screen", "name", "failureScreen")
	msg := wrap(err.Error())
	msg.TextStyle.Monospace = true
	quit := widget.NewButton(lang.L("failure.quit")+" (Enter)", s.a.Quit)
	quit.Importance = widget.HighImportance
	return container.NewPadded(container.NewVBox(title(lang.L("failure.title")), wrap(lang.L("failure.prompt")), msg, quit))
}
